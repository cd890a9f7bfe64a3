"""`make diff`: what a change does to the cluster, before `pulumi up`."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tools.diff import diff_against_ref, diff_resources, format_resources
from tools.stackfile import ROOT, secret_placeholder


def _record(rtype, name, inputs, secret=(), ignore=(), deps=None):
    return {"type": rtype, "name": name, "inputs_sha256": str(sorted(inputs.items())), "secret_inputs": list(secret),
            "ignore_changes": list(ignore), "inputs": inputs, "input_dependencies": deps or {}}


VOLUME, DOMAIN, COMMAND = "libvirt:index/volume:Volume", "libvirt:index/domain:Domain", "command:remote:Command"


def test_a_replaced_volume_replaces_the_domain_using_it_and_nothing_else():
    old = [_record(VOLUME, "root", {"size": "a", "name": "n"}),
           _record(DOMAIN, "vm", {"disks": "d", "memory": "m", "cloudinit": "c"}, deps={"disks": ["root"]}),
           _record(COMMAND, "step", {"stdin": "s", "create": "x"})]
    new = [_record(VOLUME, "root", {"size": "b", "name": "n"}), old[1], old[2]]
    diff = diff_resources(old, new)
    assert diff.replaced == {"root", "vm"}
    vm = next(c for c in diff.changed if c.name == "vm")
    assert vm.replacing_inputs == ("disks",) and vm.replaced_dependencies == ("root",)
    assert diff.touched == {"root", "vm"}


def test_command_edits_are_in_place_only_triggers_replace_and_ignored_inputs_do_not_count():
    old = [_record(COMMAND, "a", {"stdin": "1", "triggers": "t"}, secret=["stdin"]),
           _record(COMMAND, "b", {"stdin": "1", "triggers": "t"}),
           _record(VOLUME, "disk", {"size": "1"}, ignore=["size"])]
    new = [_record(COMMAND, "a", {"stdin": "2", "triggers": "t"}, secret=["stdin"]),
           _record(COMMAND, "b", {"stdin": "1", "triggers": "u"}),
           _record(VOLUME, "disk", {"size": "2"}, ignore=["size"]),
           _record(COMMAND, "c", {})]
    diff = diff_resources(old, new)
    assert diff.touched == {"a", "b"} and diff.replaced == {"b"}
    assert next(c for c in diff.changed if c.name == "a").secret_inputs == ("stdin",)
    assert next(c for c in diff.changed if c.name == "disk").ignored_inputs == ("size",)
    assert diff.added == ((COMMAND, "c"),)


def test_a_resource_under_a_renamed_component_type_is_deleted_and_created_as_the_engine_does():
    def under(component_type):
        record = _record(COMMAND, "bm1-cib-push", {"create": "x"})
        record["urn"] = f"urn:pulumi:dev::bluemind-ha::{component_type}$command:remote:Command::bm1-cib-push"
        return [record]

    diff = diff_resources(under("bluemind-ha:index:Cluster"), under("bluemind-ha:cluster:Cluster"))
    assert diff.added == diff.removed == ((COMMAND, "bm1-cib-push"),)
    assert diff.changed == ()
    assert "its URN changed" in "\n".join(format_resources(diff))


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _committed_copy(tmp_path: Path) -> Path:
    """A git repository holding this tree's program and stacks, committed: `make diff`'s ref is its HEAD."""
    repo = tmp_path / "repo"
    for part in ("components", "tools", "stacks"):
        shutil.copytree(ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base")
    return repo


def test_working_tree_against_a_ref_uses_the_refs_own_stack_and_masks_secrets(tmp_path):
    repo = _committed_copy(tmp_path)
    stack_file = repo / "stacks" / "Pulumi.dev.yaml"
    new_ciphertext = "v1:cm90YXRlZC1ibWMtYm0x"
    text = stack_file.read_text().replace("token_ms: 5000", "token_ms: 6000")
    # The committed stack holds no secrets (the plan supplies placeholders): an admin's own secret changes it.
    text += f"  bluemind-ha:bmc_password_bm1:\n    secure: {new_ciphertext}\n"
    stack_file.write_text(text)

    report = diff_against_ref("dev", "HEAD", repo=repo)

    assert "0 to add, 4 to update in place, 0 to REPLACE, 0 to remove" in report
    assert "~  command:remote:Command bm1-corosync-conf: changed:" in report
    assert "~  command:remote:Command bm2-bmc-password: changed: stdin (secret)" in report
    assert "-    token: 5000\n+    token: 6000\n" in report
    assert new_ciphertext not in report and secret_placeholder(new_ciphertext) not in report


def test_a_lower_version_is_shown_as_a_downgrade_and_dotted_numbers_compare_as_numbers():
    from tools.diff import version_change
    assert version_change("5.3.2", "5.3.2") == []
    assert "an update" in version_change("5.3.2", "5.3.10")[0]
    down = version_change("5.3.10", "5.3.2")[0]
    assert "DOWNGRADE" in down and "allow_downgrade" in down


def test_reverting_the_version_against_a_ref_says_downgrade(tmp_path):
    repo = _committed_copy(tmp_path)
    stack_file = repo / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace('version: "4.9.3"', 'version: "4.9.2"'))

    report = diff_against_ref("dev", "HEAD", repo=repo)
    assert "BlueMind 4.9.3 -> 4.9.2: a DOWNGRADE" in report
    assert report.index("DOWNGRADE") < report.index("Resources:")
