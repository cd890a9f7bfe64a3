"""storage.multipath (a SAN with two portals): what a lost path does is deliberate (replacement_timeout 5 s,
dm-multipath queueing bounded by no_path_retry), each LUN is one map named for its directory, which the CIB's
Filesystem and the storage watch use; and the iscsi-login step (run on the fake host, tests/hostsim) logs in
through both portals and binds each LUN's WWID to its map, refusing two paths that are not the same LUN."""
from __future__ import annotations

import copy
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from components.names import MULTIPATH_CONF, by_path_device, by_path_device_through, lun_device
from components.render.cib import render_cib
from components.render.iscsi_initiator import iscsid_conf, login_script
from components.render.multipath import multipath_conf, no_path_queue_s
from tests.conftest import require_tool
from tests.hostsim import Host, Reply
from tests.stacks import settings_of, settings_with
from tools.stackfile import read_stack_config

SECOND_PORTAL = "10.21.0.40"


def _multipath_stack():
    storage = copy.deepcopy(read_stack_config("prod")[0]["storage"])
    return settings_with("prod", storage={**storage, "multipath": True, "second_portal": SECOND_PORTAL})


MP = _multipath_stack()
NODE = MP.nodes[0]
SECOND = f"{SECOND_PORTAL}:{MP.storage.portal_port}"


def test_the_multipath_stack_uses_one_map_per_lun_everywhere():
    cib = ET.fromstring(render_cib(MP))
    devices = [p.find("instance_attributes/nvpair[@name='device']").get("value")
               for p in cib.iterfind(".//primitive[@type='Filesystem']")]
    assert devices == [f"/dev/mapper/bluemind-{lun.slug}" for lun in MP.storage.luns]
    watch = {nv.get("name"): nv.get("value") for nv in cib.find(".//primitive[@type='iscsi_watch']/instance_attributes")}
    assert watch["devices"].split() == devices and watch["paths"] == "one"
    assert watch["portals"].split() == [MP.storage.portal, SECOND] and watch["recovery_wait"] == "5"
    plain = ET.fromstring(render_cib(settings_of("prod")))
    assert plain.find(".//primitive[@type='iscsi_watch']/instance_attributes/nvpair[@name='paths']") is None


def test_path_loss_is_bounded_at_every_layer():
    conf = iscsid_conf(MP, "secret", "mutual-secret")
    assert re.search(r"^node\.session\.timeo\.replacement_timeout = 5$", conf, re.M)
    assert re.search(r"^node\.session\.timeo\.replacement_timeout = 15$", iscsid_conf(settings_of("prod"), "s", "m"), re.M)
    text = multipath_conf(MP)
    assert re.search(r"^\s+no_path_retry 4$", text, re.M) and no_path_queue_s() == 20
    assert "queue" not in re.findall(r"no_path_retry (\S+)", text)
    assert "find_multipaths strict" in text and SECOND in text
    with pytest.raises(ValueError):
        multipath_conf(settings_of("prod"))


def test_pacemaker_starts_after_and_stops_before_multipathd():
    from components.render.node_scripts import cluster_agents, resource_agents_deps_dropin

    assert "multipathd.service" in resource_agents_deps_dropin(True) in cluster_agents(MP, NODE)
    assert "multipathd" not in cluster_agents(settings_of("prod"), settings_of("prod").nodes[0])


def test_a_stack_without_multipath_logs_in_through_one_portal_only():
    script = login_script(settings_of("prod"), settings_of("prod").nodes[0])
    assert "multipath" not in script.lower() and "second_portal" not in script


WWIDS = {lun.number: f"36001405{lun.number:024x}" for lun in MP.storage.luns}
PATHS = ([by_path_device(MP, lun) for lun in MP.storage.luns]
         + [by_path_device_through(MP, lun, SECOND) for lun in MP.storage.luns])
MAPS = [lun_device(MP, lun) for lun in MP.storage.luns]


def _host(tmp_path, logged_in: bool, second_lun_1: str | None = None) -> Host:
    sessions = "".join(f"tcp: [{i}] {p},1 {MP.storage.target_iqn} (non-flash)\n"
                       for i, p in enumerate(MP.storage.portals, 1)) if logged_in else ""
    # udev's ID_SERIAL of each path: the LUN's WWID, through either portal (unless a test says otherwise)
    serials = [(f"info * --name *-lun-{n}", Reply(wwid + "\n")) for n, wwid in WWIDS.items()]
    if second_lun_1:
        serials.insert(0, (f"info * --name *ip-{SECOND}-*-lun-{MP.storage.luns[0].number}", Reply(second_lun_1 + "\n")))
    return Host(tmp_path, {"iscsiadm": [("-m session", Reply(sessions)), ("* -S", Reply("node.name = x\n"))],
                           "udevadm": serials, "dpkg-query": [("-W *", Reply("install ok installed"))],
                           "multipath": [], "multipathd": []},
                block_devices=PATHS + MAPS)


@pytest.mark.parametrize("logged_in", [False, True])
def test_the_login_step_logs_in_through_both_portals_and_binds_each_lun_to_its_map(tmp_path, logged_in):
    run = _host(tmp_path, logged_in).run(login_script(MP, NODE), stdin=iscsid_conf(MP, "chap-secret-1", "mutual-secret-2"))
    assert run.returncode == 0, run.output
    logins = [line for line in run.lines("iscsiadm") if line.endswith("--login")]
    assert logins == ([] if logged_in else [
        f"iscsiadm -m node -T {MP.storage.target_iqn} -p {portal} --login" for portal in MP.storage.portals])
    # both node records get iscsid.conf's settings (the CHAP secret included)
    for portal in MP.storage.portals:
        assert run.called(f"iscsiadm -m node -T {MP.storage.target_iqn} -p {portal} -o update *")
    conf = run.files[MULTIPATH_CONF]
    assert conf.mode == 0o644 and conf.text.startswith(multipath_conf(MP))
    for lun in MP.storage.luns:
        assert f"        wwid {WWIDS[lun.number]}\n        alias bluemind-{lun.slug}\n" in conf.text
    assert run.lines("multipath") == [f"multipath -a {by_path_device(MP, lun)}" for lun in MP.storage.luns]
    assert "systemctl enable --now multipathd.service" in run.lines("systemctl")
    assert run.lines("multipathd") == ["multipathd reconfigure"]


def test_two_paths_that_are_not_the_same_lun_are_refused_before_any_map(tmp_path):
    run = _host(tmp_path, True, second_lun_1="36001405ffffffffffffffffffffffff").run(
        login_script(MP, NODE), stdin=iscsid_conf(MP, "chap-secret-1", "mutual-secret-2"))
    assert run.returncode == 1
    assert "the two paths are not the same LUN" in run.stderr and "check the LUN numbers" in run.stderr
    assert MULTIPATH_CONF not in run.files and run.lines("multipath") == [] and run.lines("multipathd") == []


def test_the_rendered_multipath_login_step_passes_shellcheck(tmp_path):
    require_tool("shellcheck")
    path = tmp_path / "iscsi-login.sh"
    path.write_text(login_script(MP, NODE))
    result = subprocess.run(["shellcheck", "--shell=bash", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
