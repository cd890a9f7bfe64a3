"""The node side of the shared storage: open-iscsi's identity and settings, and the script that logs a node in.

Everything the initiator presents (IQN, CHAP user, portal, target, LUN numbers) comes from the same
`Settings` that render the target's ACLs (tgt.py) and the CIB's by-path devices (cib.py), so the two
ends cannot disagree.
"""
from __future__ import annotations

from components.names import (
    INITIATORNAME,
    ISCSI_DATA_DIGEST,
    ISCSI_HEADER_DIGEST,
    ISCSID_CONF,
    MULTIPATH_CONF,
    by_path_device,
    by_path_device_through,
    lun_device,
    multipath_alias,
)
from components.render.multipath import multipath_conf
from components.render.shell import Text, header, inline, render
from components.settings import Node, Settings

# Bounded waits of the login script (seconds).
LOGIN_TIMEOUT_S = 120
DEVICE_WAIT_S = 60


def initiatorname_iscsi(node: Node) -> str:
    return f"InitiatorName={node.iqn}\n"


def iscsid_conf(s: Settings, chap_password: str, chap_mutual_password: str) -> str:
    """A complete /etc/iscsi/iscsid.conf. It holds both CHAP secrets: installed 0600, sent only on stdin."""
    if "\n" in chap_password or "\n" in chap_mutual_password:
        raise ValueError("a CHAP password cannot contain a newline")
    return "\n".join([
        f"# iscsid.conf of the bluemind-ha stack '{s.stack}', rendered by bluemind-ha. `pulumi up` owns it.",
        "iscsid.startup = /bin/systemctl start iscsid.socket",
        "",
        "# Log in at boot: both nodes keep the LUNs visible; pacemaker alone mounts them, on one node.",
        "node.startup = automatic",
        "node.leading_login = No",
        "",
        "# Mutual CHAP: the target admits only our two nodes, with the first secret; the node logs in only to a",
        "# target that answers its challenge with the second (an impostor's LUNs are never mounted as root).",
        "node.session.auth.authmethod = CHAP",
        f"node.session.auth.username = {s.storage.chap_username}",
        f"node.session.auth.password = {chap_password}",
        f"node.session.auth.username_in = {s.storage.chap_mutual_username}",
        f"node.session.auth.password_in = {chap_mutual_password}",
        "",
        "# A dead path is noticed by NOP-Outs within 5 + 5 s; I/O is then queued for replacement_timeout and",
        "# failed after it. 15 s rides out a target restart or a switch failover, yet the whole 25 s stays",
        "# below the Filesystem monitor's 40 s timeout: a lost LUN surfaces as a clean monitor error that",
        "# pacemaker recovers from, instead of the default 120 s of processes hung in D state, a monitor",
        "# timeout, an unkillable stop and a fence. (With dm-multipath in front this would be 5 s.)",
        # The value, and why, is the Storage model's (the storage watch's recovery_wait is the same).
        f"node.session.timeo.replacement_timeout = {s.storage.replacement_timeout_s}",
        "node.conn[0].timeo.noop_out_interval = 5",
        "node.conn[0].timeo.noop_out_timeout = 5",
        "node.conn[0].timeo.login_timeout = 15",
        "node.conn[0].timeo.logout_timeout = 15",
        "node.session.initial_login_retry_max = 8",
        "node.session.err_timeo.abort_timeout = 15",
        "node.session.err_timeo.lu_reset_timeout = 30",
        "node.session.err_timeo.tgt_reset_timeout = 30",
        "",
        "node.session.cmds_max = 128",
        "node.session.queue_depth = 32",
        "node.session.iscsi.InitialR2T = No",
        "node.session.iscsi.ImmediateData = Yes",
        "node.session.iscsi.FirstBurstLength = 262144",
        "node.session.iscsi.MaxBurstLength = 16776192",
        "node.conn[0].iscsi.MaxRecvDataSegmentLength = 262144",
        "# A CRC32C on every PDU header: a header damaged on the way (a NIC's or switch's fault the TCP checksum",
        "# misses) would send a block to the wrong LBA; the login fails rather than run without it (RFC 3720 makes",
        "# CRC32C mandatory for targets). Not a defence against tampering: an attacker recomputes a CRC. No data",
        "# digest: a CRC over every data byte, in software on tgt and with zero-copy sends off in iscsi_tcp, for",
        "# damage TCP's checksum and the filesystems' own checksums (xfs metadata) already catch in the main.",
        "# (The tgt target is set to the same; an external SAN must allow CRC32C headers: san_access says so.)",
        f"node.conn[0].iscsi.HeaderDigest = {ISCSI_HEADER_DIGEST}",
        f"node.conn[0].iscsi.DataDigest = {ISCSI_DATA_DIGEST}",
        "node.session.iscsi.FastAbort = Yes",
        "",
    ])


def node_record(s: Settings) -> str:
    """bash: the node record iscsid logs in with made to carry every `node.*` setting of the installed
    iscsid.conf; sets `record` to "changed" or "unchanged". Part of login_script()."""
    st = s.storage
    return header({"node_record": ["-m", "node", "-T", st.target_iqn, "-p", st.portal],
                   "iscsid_conf": ISCSID_CONF}) + inline("iscsi-node-record.sh")


def _multipath_parts(s: Settings) -> dict[str, str]:
    """With storage.multipath: the second portal's login, then one dm-multipath map per LUN. Nothing without."""
    st = s.storage
    if not st.multipath:
        return {"iscsi-second-portal.sh": "", "iscsi-multipath.sh": ""}
    second = st.portals[1]
    return {
        "iscsi-second-portal.sh": header({"second_portal": second})
        + inline("iscsi-second-portal.sh", {"iscsi-node-record.sh": inline("iscsi-node-record.sh")}),
        "iscsi-multipath.sh": header({
            "first_paths": [by_path_device(s, lun) for lun in st.luns],
            "second_paths": [by_path_device_through(s, lun, second) for lun in st.luns],
            "aliases": [multipath_alias(lun) for lun in st.luns], "maps": [lun_device(s, lun) for lun in st.luns],
            "multipath_conf_path": MULTIPATH_CONF, "multipath_conf": Text(multipath_conf(s), "MULTIPATH_CONF"),
        }) + inline("iscsi-multipath.sh")}


def login_script(s: Settings, node: Node) -> str:
    """bash, run on `node` with iscsid_conf() on stdin: install the initiator's files, bring the node record in
    line with them, log in (through both portals with multipath), wait for the LUNs (and make their multipath
    maps)."""
    st = s.storage
    return render("iscsi-login.sh", f"{node.name}: iSCSI login to {st.target_iqn} at {st.portal}", {
        "node": node.name, "iqn": node.iqn, "portal": st.portal, "target": st.target_iqn,
        "devices": [by_path_device_through(s, lun, portal) for portal in st.portals for lun in st.luns],
        "iscsid_conf": ISCSID_CONF, "initiatorname": INITIATORNAME,
        "login_timeout": LOGIN_TIMEOUT_S, "device_wait": DEVICE_WAIT_S,
    }, parts={"iscsi-node-record.sh": node_record(s), **_multipath_parts(s)})
