"""The Pulumi program under the SDK's mocks: which resources each component declares, under which parent,
after what, and with which key inputs."""
from __future__ import annotations

import copy
import shlex
from collections import Counter

import pulumi
import pytest

from components.remote_step import BASH, SUDO, script_of
from components.render.cib import render_cib
from components.render.corosync import render_corosync
from tools.plan import run_program
from tools.stackfile import load_settings, read_stack_config


def declare(stack: str, edit=None):
    config, secrets = read_stack_config(stack)
    config = copy.deepcopy(config)
    if edit:
        edit(config)
    monitor = run_program(stack, config, secrets)
    return {d.name: d for d in monitor.declared}


@pytest.fixture(scope="module")
def dev():
    return declare("dev")


@pytest.fixture(scope="module")
def prod():
    return declare("prod")


def test_dev_declares_a_libvirt_lab_with_two_sized_nodes_and_a_storage_vm(dev):
    kinds = Counter(d.type for d in dev.values())
    assert kinds["libvirt:index/domain:Domain"] == 3
    assert kinds["libvirt:index/cloudInitDisk:CloudInitDisk"] == 3
    assert kinds["libvirt:index/volume:Volume"] == 5  # base image, three roots, the storage VM's LUN disk
    assert kinds["libvirt:index/network:Network"] == 1
    bm1 = dev["bluemind-lab-bm1"].inputs
    assert (bm1["vcpu"], bm1["memory"]) == (2, 16 * 1024)
    assert dev["bluemind-lab-bm1"].parent == "bluemind-lab" and dev["bluemind-lab"].parent == "bluemind"


def test_dev_gives_each_node_vm_a_virtualbmc_on_the_hypervisor(dev):
    for node in ("bm1", "bm2"):
        bmc = dev[f"hypervisor-virtualbmc-{node}"]
        assert f"bluemind-lab-{node}" in bmc.dependencies and "stdin" in bmc.secret_inputs


def test_the_fence_preflight_waits_for_the_virtualbmcs_it_checks(dev):
    for node in ("bm1", "bm2"):
        assert {"hypervisor-virtualbmc-bm1", "hypervisor-virtualbmc-bm2"} <= \
            set(dev[f"{node}-fence-preflight"].dependencies)


def test_a_non_root_ssh_user_runs_every_step_through_sudo_with_the_same_script():
    def admin_user(config):
        for node in config["nodes"]:
            node["ssh_user"] = "admin"

    root, sudo = declare("prod"), declare("prod", admin_user)
    for name, d in sudo.items():
        if d.type == "command:remote:Command":
            script = script_of(root[name].inputs["update"])
            assert d.inputs["update"] == SUDO + " " + shlex.quote(script), name
            assert script_of(d.inputs["update"]) == script, name


@pytest.mark.parametrize("stack_fixture", ["dev", "prod"])
def test_every_step_runs_under_bash_whatever_the_login_shell(stack_fixture, request):
    for name, d in request.getfixturevalue(stack_fixture).items():
        if d.type == "command:remote:Command":
            for which in ("create", "update"):
                command = d.inputs[which]
                assert command.startswith((BASH + " ", SUDO + " ")), (name, which)
                assert shlex.split(command)[-1] == script_of(command), (name, which)


@pytest.mark.parametrize("stack_fixture", ["dev", "prod"])
def test_no_step_asks_sshd_for_setenv(stack_fixture, request):
    """Debian's sshd refuses SetEnv: the previous output must not be passed in the environment."""
    for name, d in request.getfixturevalue(stack_fixture).items():
        if d.type == "command:remote:Command":
            assert d.inputs.get("addPreviousOutputInEnv") is False, name


@pytest.mark.parametrize("stack_fixture", ["dev", "prod"])
def test_a_step_fed_a_secret_keeps_its_output_secret_in_state(stack_fixture, request):
    fed_secrets = [d for d in request.getfixturevalue(stack_fixture).values()
                   if d.type == "command:remote:Command" and "stdin" in d.secret_inputs]
    assert len(fed_secrets) >= 5
    for d in fed_secrets:
        assert {"stdout", "stderr"} <= set(d.additional_secret_outputs), d.name


def test_prod_declares_no_vm_and_no_storage_host(prod):
    assert not [d for d in prod.values() if d.type.startswith("libvirt:")]
    assert not [n for n in prod if n.startswith("bm-storage")]


@pytest.mark.parametrize("stack_fixture", ["dev", "prod"])
def test_every_node_step_is_a_child_of_its_node_component(stack_fixture, request):
    declared = request.getfixturevalue(stack_fixture)
    s = load_settings(stack_fixture)
    for node in s.nodes:
        steps = [d for d in declared.values() if d.parent == f"bluemind-{node.name}"]
        assert {d.name[len(node.name) + 1:] for d in steps} >= {
            "cluster-packages", "bluemind-packages", "iscsi-login", "filesystems", "corosync-authkey",
            "corosync-conf", "hacluster-lock", "bmc-password"}
        assert declared[f"bluemind-{node.name}"].type == "bluemind-ha:cluster:Node"


def test_nodes_are_prepared_in_parallel(dev):
    """Before the cluster starts, no step of one node waits for a step of the other."""
    for node, other in (("bm1", "bm2"), ("bm2", "bm1")):
        for d in dev.values():
            if d.parent == f"bluemind-{node}":
                assert not [dep for dep in d.dependencies if dep.startswith(f"{other}-")], d.name


def test_iscsi_login_waits_for_the_target(dev):
    assert "bm-storage-storage-target" in dev["bm1-iscsi-login"].dependencies


def test_cib_is_pushed_once_from_the_primary_after_both_nodes_started_and_passed_the_fence_preflight(dev):
    push = dev["bm1-cib-push"]
    assert push.parent == "bluemind-cluster" and "bm2-cib-push" not in dev
    assert {"bm1-cluster-start", "bm2-cluster-start", "bm1-fence-preflight", "bm2-fence-preflight"} <= set(push.dependencies)
    assert push.inputs["stdin"] == render_cib(load_settings("dev"))


def test_corosync_conf_goes_to_both_nodes_on_stdin(prod):
    conf = render_corosync(load_settings("prod"))
    for node in ("bm-prod-a", "bm-prod-b"):
        assert prod[f"{node}-corosync-conf"].inputs["stdin"] == conf


def test_secrets_travel_only_as_secrets_with_logging_off(dev):
    secret_steps = {"corosync-authkey", "bmc-password", "iscsi-login"}
    for node in ("bm1", "bm2"):
        for step in secret_steps:
            d = dev[f"{node}-{step}"]
            assert "stdin" in d.secret_inputs and d.inputs["logging"] == "none", d.name
    assert "stdin" in dev["bm-storage-storage-target"].secret_inputs
    assert "stdin" not in dev["bm1-corosync-conf"].secret_inputs


def test_no_command_puts_a_secret_on_its_command_line(dev):
    """A command line is visible in the host's process list and stored in plain text in Pulumi's state:
    secrets travel on stdin only. A command built from a secret would be a secret itself (the plan records
    it masked), so every command must be plain text, and no plain one may hold a secret's value."""
    config, secret_keys = read_stack_config("dev")
    values = [config[k] for k in secret_keys]
    commands = [d for d in dev.values() if d.type == "command:remote:Command"]
    assert commands
    for d in commands:
        assert not {"create", "update"} & set(d.secret_inputs), d.name
        assert isinstance(d.inputs["create"], str) and isinstance(d.inputs["update"], str), d.name
        assert not [v for v in values if v in d.inputs["create"] + d.inputs["update"]], d.name


def test_manual_failover_declares_no_fencing_steps():
    def manual(config):
        config["failover"] = "manual"
        for node in config["nodes"]:
            del node["bmc"]
        del config["bmc_password_bm_prod_a"], config["bmc_password_bm_prod_b"]

    declared = declare("prod", manual)
    assert not [n for n in declared if n.endswith(("fence-preflight", "bmc-password"))]


def test_an_invalid_stack_stops_with_one_message_and_declares_nothing():
    def unfenced(config):
        del config["nodes"][0]["bmc"]

    config, secrets = read_stack_config("prod")
    config = copy.deepcopy(config)
    unfenced(config)
    with pytest.raises(pulumi.RunError) as caught:
        run_program("prod", config, secrets)
    assert "bluemind-ha:nodes[0].bmc" in str(caught.value) and "split-brain" in str(caught.value)


def test_update_chain_runs_in_the_order_of_the_seed(prod):
    """maintenance on -> packages on both nodes (in parallel) -> post-install on both (acting on the VIP
    holder only) -> maintenance off -> check; all of it after the cluster exists."""
    a, b = "bm-prod-a", "bm-prod-b"
    deps = {name: set(prod[name].dependencies) for name in prod if "-update-" in name}
    assert "bm-prod-a-cib-push" in deps[f"{a}-update-maintenance-on"]
    for node in (a, b):
        assert f"{a}-update-maintenance-on" in deps[f"{node}-update-packages"]
        assert not {f"{a}-update-packages", f"{b}-update-packages"} & deps[f"{node}-update-packages"]
        assert {f"{a}-update-packages", f"{b}-update-packages"} <= deps[f"{node}-update-post-install"]
    assert {f"{a}-update-post-install", f"{b}-update-post-install"} <= deps[f"{a}-update-maintenance-off"]
    assert f"{a}-update-maintenance-off" in deps[f"{a}-update-check"]
    assert all(prod[name].parent == "bluemind-update" for name in deps)


def test_update_chain_only_records_the_version_on_first_creation(prod):
    """The first install is the bluemind-packages step; the procedure runs when the version changes."""
    chain = prod["bm-prod-b-update-packages"].inputs
    assert "apt-get" not in chain["create"] and "apt-get" in chain["update"] and "5.3.2" in chain["update"]


def test_each_node_trusts_its_peers_sync_key_before_the_cib_starts_lsyncd(dev):
    assert "bm2-sync-key" in dev["bm1-sync-trust"].dependencies
    assert "bm1-sync-key" in dev["bm2-sync-trust"].dependencies
    assert {"bm1-sync-trust", "bm2-sync-trust", "bm1-sync-config", "bm2-sync-config"} <= set(dev["bm1-cib-push"].dependencies)


def test_lab_vms_do_not_wait_for_a_guest_agent_nor_declare_addresses_the_provider_ignores(dev):
    domains = [d for d in dev.values() if d.type == "libvirt:index/domain:Domain"]
    assert len(domains) == 3
    for d in domains:
        assert d.inputs.get("qemuAgent") is False, d.name
        assert all("addresses" not in nic for nic in d.inputs["networkInterfaces"]), d.name


def test_libvirt_objects_with_fixed_names_are_deleted_before_they_are_replaced(dev):
    named = [d for d in dev.values() if d.type in (
        "libvirt:index/domain:Domain", "libvirt:index/network:Network", "libvirt:index/volume:Volume",
        "libvirt:index/cloudInitDisk:CloudInitDisk")]
    assert len(named) == 12
    assert [d.name for d in named if not d.delete_before_replace] == []


def test_the_base_image_and_the_lun_disk_are_protected_and_nothing_else(dev):
    assert sorted(d.name for d in dev.values() if d.protect) == ["bluemind-lab-base-image",
                                                                 "bluemind-lab-bm-storage-luns"]


def test_every_step_on_a_lab_vm_pins_the_host_key_the_vm_got_through_cloud_init(dev):
    vms = [d for d in dev.values() if d.type == "libvirt:index/domain:Domain"]
    for vm in vms:
        host = vm.inputs["name"]
        key = dev[f"bluemind-lab-{host}-host-key"]
        assert key.type == "command:local:Command" and key.additional_secret_outputs == ["stdout"]
        user_data = dev[f"bluemind-lab-{host}-cloudinit"]
        assert "userData" in user_data.secret_inputs
        pinned = {d.raw_inputs["connection"]["hostKey"] for d in dev.values()
                  if d.type == "command:remote:Command" and d.name.startswith(f"{host}-")}
        assert len(pinned) == 1
        public = pinned.pop()
        assert public.startswith("ssh-ed25519 ") and public in user_data.raw_inputs["userData"]
        assert "ed25519_private" in user_data.raw_inputs["userData"]


def test_the_san_admin_reads_which_initiators_and_chap_user_to_admit_from_the_outputs():
    from components.deployment import stack_outputs

    settings = load_settings("prod")
    access = stack_outputs(settings)["san_access"]
    assert access["target_iqn"] == settings.storage.target_iqn and access["portal"] == "10.22.0.40:3260"
    # The ACL by the storage addresses; mutual CHAP and header digests on the SAN's side too.
    assert access["initiators"] == {"bm-prod-a": {"iqn": "iqn.2026-11.com.example:bm-prod-a", "address": "10.22.0.11"},
                                    "bm-prod-b": {"iqn": "iqn.2026-11.com.example:bm-prod-b", "address": "10.22.0.12"}}
    assert access["chap_username"] == settings.storage.chap_username
    assert access["chap_mutual_username"] == "bluemind-target" and access["header_digest"] == "CRC32C"


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_every_step_pins_its_hosts_ssh_host_key(stack):
    """pulumi-command checks a host's identity only when host_key is set: secrets go to no unchecked host."""
    settings = load_settings(stack)
    keys = {n.name: n.ssh_host_key for n in settings.nodes}
    if settings.storage.host:
        keys[settings.storage.host.name] = settings.storage.host.ssh_host_key
    if settings.libvirt:
        keys["hypervisor"] = settings.libvirt.hypervisor_host_key
    steps = [d for d in declare(stack).values() if d.type == "command:remote:Command"]
    assert steps
    for d in steps:
        pinned = d.raw_inputs["connection"].get("hostKey")
        assert pinned and pinned.startswith("ssh-ed25519 "), d.name
        host = max((h for h in keys if d.name.startswith(h + "-")), key=len)
        if keys[host] is not None:  # lab VMs: the key the program made (test above)
            assert pinned == keys[host], d.name


# The steps that undo themselves when deleted; every other step keeps what it made on purpose (README, "What
# pulumi destroy does"): packages, data, filesystems, iSCSI sessions, the target and the running cluster.
UNDONE_ON_DELETE = {"cluster-agents", "bmc-password", "sync-key", "sync-trust", "sync-config", "virtualbmc"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_exactly_the_steps_that_leave_removable_state_have_a_delete(stack, request):
    from components.remote_step import step_kind
    from tools.plan import host_and_step

    settings = load_settings(stack)
    hosts = [n.name for n in settings.nodes] + ["hypervisor"] + ([settings.storage.host.name] if settings.storage.host else [])
    with_delete = {step_kind(host_and_step(d.name, hosts)[1]) for d in request.getfixturevalue(stack).values()
                   if d.type == "command:remote:Command" and "delete" in d.inputs}
    assert with_delete == UNDONE_ON_DELETE - ({"virtualbmc"} if stack == "prod" else set())


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_secret_reaches_a_plain_input_not_even_the_subscription_url(stack):
    import json

    config, secrets = read_stack_config(stack)
    assert "subscription_url" in secrets
    values = {key: str(config[key]) for key in secrets}
    declared = declare(stack)
    for d in declared.values():
        for name, value in d.raw_inputs.items():
            if name not in d.secret_inputs:
                assert not [k for k, v in values.items() if v in json.dumps(value)], (d.name, name)
    apt = [d for d in declared.values() if d.name.endswith("-bluemind-apt-source")]
    assert len(apt) == 2 and all("stdin" in d.secret_inputs and d.raw_inputs["stdin"].startswith("deb ") for d in apt)


def test_the_prod_example_names_its_initiators_under_its_own_authority_not_the_sans():
    settings = load_settings("prod")
    target_authority = settings.storage.target_iqn.split(":")[0]
    assert all(not n.iqn.startswith(target_authority) for n in settings.nodes)
    assert "equallogic" not in settings.storage.target_iqn  # a generic SAN, not one vendor's
