"""The Pulumi shell of the configuration sync (components/config_sync.py) under the SDK's mocks: what each
node's sync-trust step is fed from its peer's sync-key step."""
from __future__ import annotations

import pulumi
from pulumi_command import remote

from components.config_sync import ConfigSync
from components.remote_step import Host
from tools.stackfile import load_settings


def _sync_key_stdout(host: str) -> str:
    """A node's sync-key output as pulumi-command hands it on: its final newline trimmed
    (strings.TrimSuffix in pulumi-command's remote/commandOutputs.go)."""
    return f"ssh-ed25519 AAAAsync{host} bluemind-ha-sync@{host}\nssh-ed25519 AAAAhost{host} root@{host}"


class _CommandMocks(pulumi.runtime.Mocks):
    """Each remote.Command's resolved inputs, recorded; sync-key steps return their stdout."""

    def __init__(self):
        self.inputs: dict[str, dict] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.inputs[args.name] = dict(args.inputs)
        outputs = dict(args.inputs)
        if args.name.endswith("-sync-key"):
            outputs["stdout"] = _sync_key_stdout(args.name.removesuffix("-sync-key"))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}, None


def test_each_node_trusts_its_peers_sync_key_output_as_two_complete_lines():
    s = load_settings("prod")
    mocks = _CommandMocks()
    pulumi.runtime.set_mocks(mocks, project="bluemind-ha", stack="prod", preview=False)

    @pulumi.runtime.test
    def declare():
        hosts = {n.name: Host(n.name, remote.ConnectionArgs(host=n.ip)) for n in s.nodes}
        ConfigSync("sync", s, hosts, after={n.name: [] for n in s.nodes})

    declare()
    for node in s.nodes:
        peer = s.peer_of(node)
        # The script reads two lines: without the final newline back, the second `read` fails.
        assert mocks.inputs[f"{node.name}-sync-trust"]["stdin"] == _sync_key_stdout(peer.name) + "\n"
