"""The `verify` stack output, executed with stand-in cluster commands on PATH: each check passes on a
healthy cluster and fails, naming itself, on the fault it exists for."""
from __future__ import annotations

import subprocess

import pytest

from components.names import HELD_PACKAGES
from components.render.runbooks import verify_script
from tools.stackfile import load_settings

HEALTHY = {"members": "1 bm-prod-a member\n2 bm-prod-b member\n", "me": "bm-prod-a", "stonith": "true",
           "fence_rc": "0", "located": "bm-prod-a\n", "mounted": "yes", "http": "302", "group_maintenance": "",
           "maintenance_mode": "", "held": "\n".join(HELD_PACKAGES), "target": "masked",
           "source": "/dev/sdb", "label_dev": "/dev/sdb"}


def _run(tmp_path, **scenario) -> subprocess.CompletedProcess:
    state = {**HEALTHY, **scenario}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stubs = {
        "crm_node": f'[ "$1" = --name ] && echo {state["me"]} || printf %s "{state["members"]}"',
        "crm_attribute": f'case "$*" in *maintenance-mode*) echo "{state["maintenance_mode"]}" ;; '
                         f'*) echo {state["stonith"]} ;; esac',
        "fence_ipmilan": f"cat >/dev/null; exit {state['fence_rc']}",
        "crm_resource": f'case "$*" in *"--get-parameter maintenance"*) echo "{state["group_maintenance"]}" ;; '
                        f'*) printf %s "{state["located"]}" ;; esac',
        "apt-mark": f'[ "$1" = showhold ] && printf "%s\\n" "{state["held"]}"',
        "systemctl": f'[ "$1 $2" = "is-enabled bluemind.target" ] && echo {state["target"]}',
        "findmnt": f'[ {state["mounted"]} = yes ] && echo "$4"; true',
        "curl": f"printf {state['http']}",
        "readlink": f'case "$2" in /dev/disk/by-label/*) printf %s "{state["label_dev"]}" ;; '
                    f'*) printf %s "{state["source"]}" ;; esac',
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return subprocess.run(["bash", "-c", verify_script(load_settings("prod"))], capture_output=True, text=True,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, timeout=60)


def test_a_healthy_cluster_passes_every_check(tmp_path):
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout and result.stdout.count("PASS") == 2 + 2 + 1 + 2 + 2 * 11 + 1 + 2


@pytest.mark.parametrize(("fault", "failing"), [
    ({"members": "1 bm-prod-a member\n2 bm-prod-b lost\n"}, "bm-prod-b is a cluster member"),
    ({"stonith": "false"}, "STONITH is enabled"),
    ({"fence_rc": "1"}, "can fence its peer"),
    ({"located": "bm-prod-a\nbm-prod-b\n"}, "runs on exactly one node (bm-prod-a and bm-prod-b)"),
    ({"located": ""}, "runs on exactly one node (nowhere)"),
    ({"mounted": "no"}, "/var/lib/postgresql is mounted here, once"),
    ({"me": "bm-prod-b"}, "/var/spool/cyrus is not mounted here (the group runs on bm-prod-a)"),
    ({"source": "/dev/sdq"}, "/var/spool/cyrus is its LUN, found by its label cyrus"),
    ({"me": "bm-prod-b", "label_dev": ""}, "the label cyrus leads to a disk here"),
    ({"http": "503"}, "answers on the VIP 10.20.0.50"),
    ({"group_maintenance": "true"}, "pacemaker manages the group bluemind"),
    ({"maintenance_mode": "true"}, "the cluster is not in maintenance-mode"),
    ({"held": "pacemaker"}, "the cluster stack is held"),
    ({"target": "enabled"}, "bluemind.target is masked"),
])
def test_each_fault_fails_its_check_and_the_run(tmp_path, fault, failing):
    result = _run(tmp_path, **fault)
    assert result.returncode == 1
    assert [line for line in result.stdout.splitlines() if line.startswith("FAIL") and failing in line], result.stdout
