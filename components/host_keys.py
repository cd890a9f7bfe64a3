"""SSH host keys the program makes for the lab's VMs, so that every connection to a VM checks its identity
from the first one on: the key pair is made once, on the machine running `pulumi up`, kept in state as a
secret, and handed to the VM through cloud-init before it first boots."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import local

# Plain sh on the admin's machine; the key never touches a file that outlives the command.
MAKE_HOST_KEY = ('set -e; d=$(mktemp -d); trap \'rm -rf "$d"\' EXIT; '
                 'ssh-keygen -q -t ed25519 -N "" -C "$HOST_KEY_COMMENT" -f "$d/key"; cat "$d/key" "$d/key.pub"')


@dataclass(frozen=True)
class HostKey:
    private: pulumi.Output[str]  # the OpenSSH private key file, a secret
    public: pulumi.Output[str]   # its `ssh-ed25519 AAAA... comment` line: what connections pin


def split_key_output(stdout: str) -> tuple[str, str]:
    """ssh-keygen's private key file followed by its public line, as MAKE_HOST_KEY prints them."""
    private, _, public = stdout.strip().rpartition("\n")
    if "PRIVATE KEY-----" not in private or not public.startswith("ssh-ed25519 "):
        raise ValueError("the host key command printed no ed25519 key pair")
    return private + "\n", public


def made_host_key(name: str, comment: str, parent: pulumi.Resource) -> HostKey:
    made = local.Command(
        f"{name}-host-key", create=MAKE_HOST_KEY, environment={"HOST_KEY_COMMENT": comment},
        logging=local.Logging.NONE,
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["stdout"]))
    pair = made.stdout.apply(split_key_output)
    return HostKey(private=pulumi.Output.secret(pair[0]), public=pulumi.Output.unsecret(pair[1]))
