"""How every rendered script reaches a host: a pulumi_command remote.Command with the script as its
create/update and the rendered content on stdin.

The script doubles as `update`, so an edit to the rendered content re-runs the same idempotent script in
place instead of replacing the resource; no `triggers` are set, because nothing here needs a replace. A host
reinstalled under the same inputs is re-run deliberately by raising its node's generation (`with_generation`).
Secret content (passwords, keys, CHAP) is passed only as a Pulumi secret on stdin, with command logging
off so nothing the script prints can echo it into Pulumi's logs.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

import pulumi
from pulumi_command import remote

# The order of the steps on one host: the plan writes them as build/<stack>/nodes/<host>/NN-<step>.sh.
# A step named "<kind>-<instance>" (virtualbmc-bm1) takes its kind's place.
STEP_ORDER = {
    "virtualbmc-install": 10, "virtualbmc": 20,
    "storage-packages": 10, "storage-volumes": 20, "storage-target": 30,
    "qnetd": 10, "qnetd-sign": 20,
    "preflight": 5, "cluster-packages": 10, "firewall": 12, "cluster-agents": 15, "bluemind-apt-source": 18,
    "bluemind-packages": 20, "iscsi-login": 30, "filesystems": 40,
    "corosync-authkey": 50, "corosync-conf": 51, "hacluster-lock": 52, "bmc-password": 53,
    "sync-key": 54, "sync-trust": 55, "sync-config": 56, "qdevice-request": 57, "filesystem-labels": 58,
    "qdevice-cert": 59,
    "cluster-start": 60, "fence-preflight": 70, "cib-push": 80,
    "update-maintenance-on": 90, "update-packages": 91, "update-post-install": 92,
    "update-maintenance-off": 93, "update-check": 94,
}


def step_kind(name: str) -> str:
    """The kind of a step: its name, or the kind it is an instance of (virtualbmc-bm1: virtualbmc)."""
    if name in STEP_ORDER:
        return name
    kinds = [k for k in STEP_ORDER if name.startswith(k + "-")]
    if not kinds:
        raise ValueError(f"step {name} has no place in STEP_ORDER")
    return max(kinds, key=len)


def step_order(name: str) -> int:
    return STEP_ORDER[step_kind(name)]


@dataclass(frozen=True)
class Host:
    """Where a step runs: the host's name (for resource names), its SSH connection, and what must exist
    before anything can run there (the VM, in a libvirt lab). Every step runs as root: an SSH user other
    than root runs them through passwordless sudo."""

    name: str
    connection: remote.ConnectionArgs
    ready: tuple[pulumi.Resource, ...] = ()
    sudo: bool = False
    # nodes[].generation: raised after the host was reinstalled, so that every step here runs again.
    generation: int = 0


def ssh_host(name: str, address: str, user: str, private_key: pulumi.Output[str] | None,
             ready: tuple[pulumi.Resource, ...] = (), host_key: pulumi.Input[str] | None = None,
             generation: int = 0) -> Host:
    """`host_key`: the host's public SSH host key line. pulumi-command checks the host's identity only when
    it is given: without it, secrets would go to whoever answers at the address. `generation`: the node's
    nodes[].generation (stamped into each step's script, see `with_generation`)."""
    # A freshly booted VM needs a while before sshd answers: retry instead of failing the first dial.
    connection = remote.ConnectionArgs(host=address, user=user, private_key=private_key, host_key=host_key,
                                       dial_error_limit=40, per_dial_timeout=15)
    return Host(name, connection, ready, sudo=user != "root", generation=generation)


# sshd hands a command to the login shell of the SSH user, which need not be bash (dash, zsh, a
# restricted shell): every step is bash, so it is run by bash explicitly.
BASH = "/bin/bash -c"
SUDO = "sudo -n " + BASH


def as_root(host: Host, script: str) -> str:
    """The command that runs `script` under bash, as root, on `host`. sudo passes stdin through; the script
    on its command line holds no secret (secrets come on stdin)."""
    return f"{SUDO if host.sudo else BASH} {shlex.quote(script)}"


def with_generation(script: str, generation: int) -> str:
    """The script stamped with its host's generation, a comment after the script's title. A step re-runs only
    when an input changes: after a host was reinstalled, raising nodes[].generation changes every step's
    `create`/`update` on that host, and only there, so `pulumi up` runs each of them again, in place (their
    delete commands never run, and nothing is replaced: `triggers` would replace a step, running the old
    one's delete after the new one's create). Generation 0 leaves the script as it is."""
    if not generation:
        return script
    lines = script.split("\n")
    if not lines[0].startswith("#!"):
        raise ValueError("a step's script starts with its shebang")
    at = 2 if len(lines) > 1 and lines[1].startswith("# bluemind-ha: ") else 1
    stamp = f"# generation {generation} (nodes[].generation): raised after this host was rebuilt"
    return "\n".join(lines[:at] + [stamp] + lines[at:])


def script_of(command: str) -> str:
    """The script a step's command runs (as_root undone): what the offline plan shows."""
    return shlex.split(command)[-1]


def as_lines(stdout: str | None) -> str | None:
    """A step's stdout as the lines it printed, for the next step's stdin: pulumi-command trims the final newline
    of a command's stdout (strings.TrimSuffix in its remote/commandOutputs.go), and a script's last `read` would
    fail without it. None under the offline plan's mocks, which know no command's output."""
    return None if stdout is None else stdout + "\n"


def step(host: Host, name: str, script: str, parent: pulumi.Resource, stdin: pulumi.Input[str] | None = None,
         secret: bool = False, depends_on: list[pulumi.Resource] | None = None,
         create_only_stdin: bool = False, on_create: str | None = None, delete: str | None = None) -> remote.Command:
    """`create_only_stdin`: stdin matters when the step is first created only; later changes of it are
    ignored (another resource carries them out). `on_create`: what to run when the step is first created,
    if not `script` itself (the update chain runs only on changes). `delete`: what undoes the step when it is
    deleted (components/render/deletes.py); none for steps that keep what they made on purpose."""
    step_order(name)
    return remote.Command(
        f"{host.name}-{name}",
        connection=host.connection,
        create=as_root(host, with_generation(on_create or script, host.generation)),
        update=as_root(host, with_generation(script, host.generation)),
        delete=as_root(host, delete) if delete else None,
        stdin=stdin,
        logging=remote.Logging.NONE if secret else None,
        # Debian's sshd accepts no SetEnv: with the previous output in the environment, every update of a
        # step that printed something would warn.
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=list(host.ready) + list(depends_on or []),
            ignore_changes=["stdin"] if create_only_stdin else None,
            # A step fed a secret may echo part of it (an error quoting its input): its output is a secret in
            # state too.
            additional_secret_outputs=["stdout", "stderr"] if secret else None),
    )
