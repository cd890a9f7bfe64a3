"""targets.conf for tgt, the iSCSI target on the storage host: one target, one LUN per shared directory,
open only to the two nodes, with mutual CHAP."""
from __future__ import annotations

from components.names import ISCSI_DATA_DIGEST, ISCSI_HEADER_DIGEST
from components.settings import Lun, Settings


def backing_store(s: Settings, lun: Lun) -> str:
    """Each LUN is a logical volume on the storage host (created once, grown, never shrunk)."""
    assert s.storage.host is not None
    return f"/dev/{s.storage.host.volume_group}/{lun.slug}"


def scsi_serial(lun: Lun) -> str:
    # A stable serial keeps the LUN's SCSI identity across target restarts and config reloads.
    return f"bmha{lun.number:04d}"


def render_targets_conf(s: Settings, chap_password: str, chap_mutual_password: str) -> str:
    st = s.storage
    lines = [
        f"# targets.conf of the bluemind-ha stack '{s.stack}', rendered by bluemind-ha. `pulumi up` owns it.",
        "default-driver iscsi",
        "",
        f"<target {st.target_iqn}>",
    ]
    for lun in st.luns:
        lines += [
            f"    # {lun.directory}: {lun.size_gb} GB",
            f"    <backing-store {backing_store(s, lun)}>",
            f"        lun {lun.number}",
            f"        scsi_sn {scsi_serial(lun)}",
            "    </backing-store>",
        ]
    # Only the two cluster nodes may log in, and only with the CHAP secret. tgt admits an initiator whose
    # address OR name is listed, and tgt-admin binds address ALL when no initiator-address is given, which
    # would admit any IQN (verified with tgtd 1.0.85). With a storage network the ACL holds the nodes' storage
    # addresses alone: an IQN is guessable, so a foreign address is refused whatever IQN it claims. Without one
    # (a lab) both lists name the two nodes and nothing else.
    lines += [f"    initiator-address {node.iscsi_ip}" for node in s.nodes]
    if not s.storage_network:
        lines += [f"    initiator-name {node.iqn}" for node in s.nodes]
    # CRC32C header digests, required by the nodes' iscsid.conf too (why no data digests: iscsi_initiator.py).
    # tgt answers None, whatever an initiator offers, unless the target is set so (verified with tgtd 1.0.85).
    lines += [f"    HeaderDigest {ISCSI_HEADER_DIGEST}", f"    DataDigest {ISCSI_DATA_DIGEST}"]
    # Mutual CHAP: the target answers the nodes' challenge with its own secret, so a node logs in only to a
    # target that knows it (an impostor on the network gets no login, hence no filesystem mounted as root).
    lines += [f"    incominguser {st.chap_username} {chap_password}",
              f"    outgoinguser {st.chap_mutual_username} {chap_mutual_password}", "</target>", ""]
    return "\n".join(lines)
