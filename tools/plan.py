"""The offline plan: run the Pulumi program against a stack's config through the SDK's mocks (no CLI, no
credentials, no hosts, no passphrase) and write what it would do to build/<stack>/:

  resources.json            every declared resource: type, name, parent, dependencies, sha256 of its inputs
  cluster/corosync.conf     as pushed to both nodes
  cluster/cib.xml           the complete CIB document (crm_verify --xml-file reads it)
  cluster/failover.md       -> failover.md at the top: what the cluster does when X happens (crm_simulate)
  topology.svg              the picture: hosts, BMCs, storage and LUNs, networks, VIP, the group, fencing
  storage/targets.conf      when the stack runs its own iSCSI target (CHAP secret masked)
  nodes/<host>/NN-<step>.sh the scripts each host runs, in order (the update chain's: what a version change runs)
  nodes/<host>/NN-<step>.stdin  what that script reads on stdin (unit files, configurations, the agent),
                            secrets masked
  nodes/<host>/NN-<step>.delete.sh  what deleting the step runs (pulumi destroy, or the step leaving the stack)

A stack the settings refuse writes nothing (a stale plan of it is removed), prints every problem and exits 2.

Usage: python -m tools.plan STACK [OUT_DIR] [--file STACK_FILE]
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, settings as runtime_settings

from components.remote_step import script_of, step_order
from components.render.cib import render_cib
from components.render.corosync import render_corosync
from components.render.tgt import render_targets_conf
from components.settings import NAMESPACE, Settings, SettingsError, parse_settings
from components.settings.errors import warning_line
from tools.stackfile import ROOT, StackFileError, read_stack

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"
COMMAND_TYPE = "command:remote:Command"


def masked(name: str) -> str:
    """What stands in the plan's files where a secret would be sent."""
    return f"[secret {NAMESPACE}:{name}]"


@dataclass
class Declared:
    urn: str
    type: str
    name: str
    parent: str
    dependencies: list[str]
    inputs: dict[str, Any]
    secret_inputs: list[str]
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    delete_before_replace: bool
    protect: bool
    # The inputs as sent, secrets unwrapped (under the plan, a secret is one of the stack file's
    # placeholders): for the payload files, once masked, and for tests. Never in resources.json.
    raw_inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def stdin(self) -> Any:
        return self.raw_inputs.get("stdin")
    # input name -> the resources whose outputs it takes: when one of them is replaced, this input changes.
    input_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def input_sha256s(self) -> dict[str, str]:
        """One digest per input (ignored ones too), so a diff of two plans can name what changed."""
        return {key: hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
                for key, value in sorted(self.inputs.items())}

    @property
    def inputs_sha256(self) -> str:
        """What a diff compares: like the engine, inputs under ignore_changes do not count."""
        compared = {k: v for k, v in self.inputs.items() if k not in self.ignore_changes}
        return hashlib.sha256(json.dumps(compared, sort_keys=True).encode()).hexdigest()

    def record(self) -> dict[str, Any]:
        """Its entry in resources.json: digests of the inputs, never their values."""
        return {"urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent, "dependencies": self.dependencies,
                "inputs_sha256": self.inputs_sha256, "secret_inputs": self.secret_inputs,
                "ignore_changes": self.ignore_changes, "inputs": self.input_sha256s,
                "additional_secret_outputs": self.additional_secret_outputs,
                "delete_before_replace": self.delete_before_replace, "protect": self.protect,
                "input_dependencies": self.input_dependencies}


def _mask_secrets(value: Any) -> tuple[Any, bool]:
    """Replace each secret in a marshalled value by a digest of it; say whether there was one."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            digest = hashlib.sha256(json.dumps(value.get("value"), sort_keys=True).encode()).hexdigest()
            return {"secret_sha256": digest}, True
        found = False
        out = {}
        for key, item in value.items():
            out[key], hit = _mask_secrets(item)
            found |= hit
        return out, found
    if isinstance(value, list):
        pairs = [_mask_secrets(v) for v in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return value, False


STACK_TYPE = "pulumi:pulumi:Stack"


class DuplicateUrnError(RuntimeError):
    """Two resources with one URN: the engine stops the whole run on the second one."""

    def __init__(self, urns: list[str]):
        self.urns = urns
        super().__init__("\n".join(f"Duplicate resource URN '{u}'; try giving it a unique name" for u in urns))


def _unwrapped(value: Any) -> Any:
    """A marshalled value without its secret wrappers."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _unwrapped(value.get("value"))
        return {key: _unwrapped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrapped(item) for item in value]
    return value


def masked_payload(stdin: str, secret_values: dict[str, str]) -> str:
    """A step's stdin as the plan shows it: each secret (by its config key) replaced by its mask. Secrets
    that reach stdin transformed (encoded, hashed) cannot be found and masked: then nothing is shown."""
    for key, value in sorted(secret_values.items(), key=lambda kv: -len(kv[1])):
        stdin = stdin.replace(value, masked(key))
    if any(value in stdin for value in secret_values.values()):
        return "[payload withheld: it holds a secret that could not be masked]\n"
    return stdin


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, which also keeps what the engine would see of each resource: its URN, parent
    and all its dependencies (explicit and through inputs), and its inputs with secrets masked. Like the
    engine, it refuses a second resource with a URN already registered."""

    def __init__(self):
        super().__init__(_EchoMocks())
        self.declared: list[Declared] = []
        self.names: dict[str, str] = {}
        self.duplicate_urns: list[str] = []
        self.lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: the parent's whole type chain (the root stack's own type left out), `$`, the
        type, `::`, the name. The SDK's mock keeps only the parent's last type, which would hide a change of
        an ancestor's type."""
        if parent and type_ != STACK_TYPE:
            parent_chain = parent.split("::")[2]
            if parent_chain != STACK_TYPE:
                type_ = f"{parent_chain}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type != STACK_TYPE:
            # Registrations arrive on several threads at once: check and claim the URN in one step.
            with self.lock:
                if urn in self.names:
                    self.duplicate_urns.append(urn)
                    raise DuplicateUrnError([urn])
                self.names[urn] = request.name
        response = super().RegisterResource(request)
        if request.type != STACK_TYPE:
            inputs, secret_inputs = {}, []
            for key, value in json_format.MessageToDict(request.object).items():
                inputs[key], secret = _mask_secrets(value)
                if secret:
                    secret_inputs.append(key)
            self.declared.append(Declared(
                urn=response.urn, type=request.type, name=request.name, parent=self.names.get(request.parent, "stack"),
                dependencies=sorted({self.names.get(d, d) for d in request.dependencies}),
                inputs=inputs, secret_inputs=sorted(secret_inputs), ignore_changes=sorted(request.ignoreChanges),
                additional_secret_outputs=sorted(request.additionalSecretOutputs),
                delete_before_replace=request.deleteBeforeReplace, protect=request.protect,
                raw_inputs=_unwrapped(json_format.MessageToDict(request.object)),
                input_dependencies={key: sorted(self.names.get(u, u) for u in deps.urns)
                                    for key, deps in sorted(request.propertyDependencies.items()) if deps.urns}))
        return response


# What a local command that makes a host key prints, under the plan (the key is made by `pulumi up`).
PLANNED_HOST_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n[made by pulumi up]\n-----END OPENSSH PRIVATE KEY-----\n"
                    "ssh-ed25519 [made-by-pulumi-up] {name}")


class _EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == "command:local:Command":
            return f"{args.name}-id", {**args.inputs, "stdout": PLANNED_HOST_KEY.format(name=args.name)}
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}, None


def run_program(stack: str, config: dict[str, Any], secret_keys: set[str],
                program: Callable[[], None] | None = None) -> RecordingMonitor:
    """Run the real program (components.program.main, as __main__.py does) under mocks. Raises
    DuplicateUrnError where the engine would stop on a duplicate URN."""
    if program is None:
        from components.program import main as program

    monitor = RecordingMonitor()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project="bluemind-ha", stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(
        {f"{NAMESPACE}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
        [f"{NAMESPACE}:{k}" for k in secret_keys])
    try:
        pulumi.runtime.test(program)()
    except Exception:
        if not monitor.duplicate_urns:
            raise
    if monitor.duplicate_urns:
        raise DuplicateUrnError(monitor.duplicate_urns)
    return monitor


def host_and_step(resource_name: str, hosts: list[str]) -> tuple[str, str] | None:
    for host in sorted(hosts, key=len, reverse=True):
        if resource_name.startswith(host + "-"):
            return host, resource_name[len(host) + 1:]
    return None


def write_plan(stack: str, out_dir: Path, config: dict[str, Any] | None = None,
               secret_keys: set[str] | None = None, stack_path: Path | None = None) -> Settings:
    """Validate the stack, run the program under mocks and write build/<stack>/. Returns the settings."""
    if config is None:
        read = read_stack(stack, stack_path)
        config, secret_keys = read.config, read.secrets
    settings = parse_settings(stack, config, secret_keys or set())
    monitor = run_program(stack, config, secret_keys or set())

    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "cluster").mkdir(parents=True)
    resources = sorted(monitor.declared, key=lambda d: (d.type, d.name))
    (out_dir / "resources.json").write_text(json.dumps([d.record() for d in resources], indent=2) + "\n")

    cib = render_cib(settings)
    (out_dir / "cluster" / "corosync.conf").write_text(render_corosync(settings))
    (out_dir / "cluster" / "cib.xml").write_text(cib)
    if settings.storage.kind == "tgt":
        (out_dir / "storage").mkdir()
        (out_dir / "storage" / "targets.conf").write_text(render_targets_conf(settings, masked("chap_password"),
                                                                                    masked("chap_mutual_password")))

    hosts = ([n.name for n in settings.nodes] + ["hypervisor"] + ([settings.storage.host.name] if settings.storage.host else [])
             + ([settings.qdevice.name] if settings.qdevice else []))
    for d in resources:
        placed = host_and_step(d.name, hosts) if d.type == COMMAND_TYPE else None
        if placed:
            host, step = placed
            path = out_dir / "nodes" / host / f"{step_order(step):02d}-{step}.sh"
            path.parent.mkdir(parents=True, exist_ok=True)
            # `update` is what a change runs; it equals `create` except for the update chain, whose create
            # only records the version.
            path.write_text(script_of(d.inputs["update"]))
            if "delete" in d.inputs:
                path.with_suffix(".delete.sh").write_text(script_of(d.inputs["delete"]))
            if isinstance(d.stdin, str):
                payload = masked_payload(d.stdin, {k: config[k] for k in secret_keys or set()})
                path.with_suffix(".stdin").write_text(payload)

    from tools.failover_markdown import failover_markdown
    (out_dir / "failover.md").write_text(failover_markdown(settings, cib))
    from tools.topology import write_topology
    write_topology(settings, out_dir)
    return settings


def summary(s: Settings, out_dir: Path, placeholders: list[str] | None = None) -> str:
    lines = [f"bluemind-ha plan for stack '{s.stack}' -> {out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir}",
             f"  BlueMind {s.bluemind.version}, {s.bluemind.users} users ({s.bluemind.profile}), https://{s.bluemind.url}/ on VIP {s.network.vip}/{s.network.prefix}",
             f"  hosts: {s.host_kind}"]
    if s.bluemind.allow_downgrade:
        lines.insert(2, f"  DOWNGRADE ALLOWED (bluemind.allow_downgrade): the update chain installs {s.bluemind.version} "
                        "even below the release the cluster runs; restore the data first, remove the key afterwards")
    for n in s.nodes:
        fence = f"fenced via IPMI {n.bmc.address}:{n.bmc.port}" if (s.fenced and n.bmc) else "not fenced"
        lines.append(f"  node {n.name} (id {n.node_id}) {n.ip}: {n.cores} cores, {n.ram_gb} GB RAM, {fence}")
    where = f"tgt on {s.storage.host.name}" if s.storage.host else "external SAN"
    lines.append(f"  storage: iSCSI {s.storage.target_iqn} at {s.storage.portal} ({where}), {s.storage.fstype}")
    for lun in s.storage.luns:
        lines.append(f"    LUN {lun.number:>2} {lun.size_gb:>6} GB  {lun.directory}")
    if s.storage.kind == "external":
        lines.append(f"    before the first `pulumi up`, the SAN's ACL on {s.storage.target_iqn} admits, with CHAP user "
                     f"{s.storage.chap_username!r} and the secret chap_password, and answers as mutual CHAP user "
                     f"{s.storage.chap_mutual_username!r} with the secret chap_mutual_password, with CRC32C header "
                     "digests:")
        lines += [f"      {n.iqn}  ({n.name}, from {n.iscsi_ip})" for n in s.nodes]
    mode = ("automatic (STONITH on, two_node)" if s.fenced
            else "manual (no STONITH: a lone node freezes; an admin takes over)")
    lines.append(f"  failover: {mode}; corosync links: {2 if s.second_link else 1}, token {s.cluster.token_ms} ms")
    if s.firewall.enabled:
        lines.append(f"  firewall: nftables table inet bluemind_ha on both nodes (nodes/<node>/12-firewall.stdin); SSH "
                     f"from {', '.join(map(str, s.firewall.admin_networks))} (must hold the machine running pulumi) "
                     f"and the peer; outbound {'strict' if s.firewall.strict_output else 'open'}")
    else:
        lines.append("  firewall: off (firewall.enabled: false): the firewall step removes bluemind-ha's table")
    lines += ["  WARNING " + warning_line(w) for w in s.warnings]
    if placeholders:
        lines.append(f"  secrets: PLACEHOLDERS for {', '.join(placeholders)} (the stack file holds none; set each "
                     f"with `pulumi config set --secret {NAMESPACE}:<key>` before `pulumi up`)")
    return "\n".join(lines)


def _remove_stale_plan(out_dir: Path) -> None:
    """A refused stack leaves no plan behind that could pass for its own (only a plan directory is removed)."""
    if (out_dir / "resources.json").is_file():
        shutil.rmtree(out_dir)


def main(argv: list[str]) -> int:
    args = list(argv)
    stack_path = None
    if "--file" in args:
        at = args.index("--file")
        if at + 1 >= len(args):
            print(__doc__.strip().splitlines()[-1], file=sys.stderr)
            return 2
        stack_path = Path(args[at + 1])
        del args[at:at + 2]
    if not args or len(args) > 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    stack = args[0]
    out_dir = (Path(args[1]) if len(args) > 1 else ROOT / "build" / stack).resolve()
    try:
        read = read_stack(stack, stack_path)
        settings = write_plan(stack, out_dir, read.config, read.secrets)
    except FileNotFoundError:
        _remove_stale_plan(out_dir)
        print(f"no such stack: {stack_path or f'stacks/Pulumi.{stack}.yaml'}", file=sys.stderr)
        return 2
    except (StackFileError, SettingsError) as error:
        _remove_stale_plan(out_dir)
        print(f"stack '{stack}' is invalid; nothing was planned:\n{error}", file=sys.stderr)
        return 2
    except DuplicateUrnError as error:
        _remove_stale_plan(out_dir)
        print(f"stack '{stack}' cannot be deployed, the engine would stop on:\n{error}", file=sys.stderr)
        return 2
    print(summary(settings, out_dir, read.placeholders))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
