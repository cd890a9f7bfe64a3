"""The arbitrator's (cluster.qdevice) rows of the table of bad stacks (tests/settings_refusal_cases.py;
tests/test_settings_refusals.py runs both): each the stack with an arbitrator, one of whose values is wrong."""
from __future__ import annotations

from typing import Any

from tests.settings_refusal_cases import DELETE, ED25519, Case, edits

QDEVICE_DEV = {"name": "bm-qnetd", "ip": "192.168.150.30"}
QDEVICE_PROD = {"name": "qnetd", "ip": "10.20.1.30", "ssh_host_key": ED25519}


def qdevice(id: str, stack: str, key: str, **change: Any) -> Case:
    """The stack with an arbitrator (cluster.qdevice), one of whose values is wrong."""
    device = {**(QDEVICE_PROD if stack == "prod" else QDEVICE_DEV), **change}
    return edits(id, stack, key, ("cluster.qdevice", {k: v for k, v in device.items() if v is not DELETE}))


QDEVICE_CASES = [
    qdevice("qdevice-ip-is-node", "dev", "cluster.qdevice.ip", ip="192.168.150.11"),
    qdevice("qdevice-ip-is-node-link1", "prod", "cluster.qdevice.ip", ip="10.21.0.2"),
    qdevice("qdevice-ip-is-vip", "dev", "cluster.qdevice.ip", ip="192.168.150.100"),
    qdevice("qdevice-ip-is-portal", "prod", "cluster.qdevice.ip", ip="10.22.0.40"),
    qdevice("qdevice-ip-is-node-storage-ip", "prod", "cluster.qdevice.ip", ip="10.22.0.12"),
    qdevice("qdevice-ip-is-storage-host", "dev", "cluster.qdevice.ip", ip="192.168.150.20"),
    qdevice("qdevice-ip-is-gateway", "dev", "cluster.qdevice.ip", ip="192.168.150.1"),
    qdevice("qdevice-ip-outside-lab", "dev", "cluster.qdevice.ip", ip="10.1.2.3"),
    qdevice("qdevice-name-is-node", "dev", "cluster.qdevice.name", name="bm2"),
    qdevice("qdevice-name-is-storage", "dev", "cluster.qdevice.name", name="bm-storage"),
    qdevice("qdevice-name-reserved", "dev", "cluster.qdevice.name", name="hypervisor"),
    qdevice("qdevice-name-grammar", "dev", "cluster.qdevice.name", name="Qnetd_1"),
    qdevice("qdevice-lms", "dev", "cluster.qdevice.algorithm", algorithm="lms"),
    qdevice("qdevice-unknown-algorithm", "dev", "cluster.qdevice.algorithm", algorithm="2nodelms"),
    qdevice("qdevice-unknown-key", "dev", "cluster.qdevice.tie_breaker", tie_breaker="lowest"),
    qdevice("qdevice-no-ip", "dev", "cluster.qdevice.ip", ip=DELETE),
    qdevice("qdevice-existing-without-key", "prod", "cluster.qdevice.ssh_host_key", ssh_host_key=DELETE),
    qdevice("qdevice-key-on-vm", "dev", "cluster.qdevice.ssh_host_key", ssh_host_key=ED25519),
    edits("qdevice-manual", "dev", "cluster.qdevice", ("failover", "manual"), ("nodes[0].bmc", DELETE),
          ("nodes[1].bmc", DELETE), ("cluster.qdevice", QDEVICE_DEV)),
]
