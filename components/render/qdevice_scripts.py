"""The arbitrator's steps (cluster.qdevice): corosync-qnetd and its CA on the arbitrator, each node's key and
certificate request, the arbitrator's signature, each node's certificate imported and corosync-qdevice started
with corosync. Pure: Settings in, bash out.

What moves between hosts is public: the CA's certificate (arbitrator -> nodes), each node's certificate request
(node -> arbitrator) and its signed certificate (arbitrator -> node), each a step's stdout fed to the next
step's stdin. No private key moves: the CA's stays on the arbitrator, each node makes its own.
"""
from __future__ import annotations

from collections.abc import Mapping

from components.names import QDEVICE_DROPIN, QDEVICE_NSSDB, QNETD_NSSDB
from components.render.shell import render
from components.settings import Node, Settings

# The NSS nicknames corosync-qnetd-certutil and corosync-qdevice-net-certutil give the CA and a node's certificate.
CA_NICKNAME = "QNet CA"
CERT_NICKNAME = "Cluster Cert"
QNETD_USER = "coroqnetd"
QDEVICE_DROPIN_TEXT = ("# bluemind-ha: corosync-qdevice (After= and Requires= corosync) starts with corosync, never at boot\n"
                       "[Unit]\nWants=corosync-qdevice.service\n")
# The lab has no apt and no systemd: it renders the host parts as no-ops and runs the daemons itself.
LAB_PARTS = {"qnetd-host.sh": "qnetd_install() { :; }\nqnetd_start() { :; }\n",
             "qdevice-host.sh": "qdevice_install() { :; }\nqdevice_start() { :; }\n"}


def qnetd(s: Settings, parts: Mapping[str, str] | None = None) -> str:
    """corosync-qnetd and its CA on the arbitrator; prints the CA's certificate (PEM)."""
    return render("qnetd.sh", f"{s.qdevice.name}: corosync-qnetd, the arbitrator",
                  {"qnetd_nssdb": QNETD_NSSDB, "qnetd_user": QNETD_USER, "ca_nickname": CA_NICKNAME}, parts)


def qnetd_sign(s: Settings, node: Node) -> str:
    """stdin: `node`'s certificate request (qdevice_request's output). Prints the signed certificate."""
    return render("qnetd-sign.sh", f"{s.qdevice.name}: sign {node.name}'s certificate",
                  {"node": node.name, "cluster": s.cluster.name, "qnetd_nssdb": QNETD_NSSDB})


def qdevice_request(s: Settings, node: Node, parts: Mapping[str, str] | None = None) -> str:
    """stdin: the arbitrator's CA certificate (qnetd's output). Prints this node's certificate request."""
    return render("qdevice-request.sh", f"{node.name}: corosync-qdevice's key and certificate request",
                  {"node": node.name, "cluster": s.cluster.name, "qdevice_nssdb": QDEVICE_NSSDB,
                   "ca_nickname": CA_NICKNAME}, parts)


def qdevice_cert(s: Settings, node: Node, parts: Mapping[str, str] | None = None) -> str:
    """stdin: this node's signed certificate (qnetd_sign's output). Imports it; corosync-qdevice starts with
    corosync."""
    return render("qdevice-cert.sh", f"{node.name}: corosync-qdevice's certificate, started with corosync",
                  {"node": node.name, "qdevice_nssdb": QDEVICE_NSSDB, "cert_nickname": CERT_NICKNAME,
                   "qdevice_dropin": QDEVICE_DROPIN, "qdevice_dropin_text": QDEVICE_DROPIN_TEXT}, parts)
