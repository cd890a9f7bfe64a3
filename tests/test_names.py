"""components/names.py is where renderers find names. The CIB and corosync renderers still hold their own
copies (they are reworked in another branch meanwhile): these must stay equal until they import them."""
from __future__ import annotations

import pytest

from components import names
from components.render import cib, corosync
from tools.stackfile import load_settings


def test_the_cib_and_corosync_renderers_use_the_same_constants():
    for name in ("GROUP_ID", "VIP_ID", "FENCE_PASSWORD_DIR"):
        assert getattr(cib, name) == getattr(names, name), name
    for name in ("AUTHKEY_PATH", "RENDERED_MARK"):
        assert getattr(corosync, name) == getattr(names, name), name


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_the_cib_renderer_derives_the_same_names(stack):
    s = load_settings(stack)
    assert cib.group_member_ids(s) == names.group_member_ids(s)
    for node in s.nodes:
        assert (cib.fence_id(node), cib.bmc_password_file(node)) == (names.fence_id(node), names.bmc_password_file(node))
    for lun in s.storage.luns:
        assert (cib.fs_id(lun), cib.by_path_device(s, lun)) == (names.fs_id(lun), names.by_path_device(s, lun))


def test_no_renderer_imports_names_from_another_renderer():
    """Names come from components.names; a renderer may use another's rendered content (the lsyncd unit,
    the fence device's parameters), never its names."""
    from pathlib import Path

    allowed = {("sync_scripts.py", "components.render.lsyncd"), ("fence_preflight.py", "components.render.cib"),
               ("runbooks.py", "components.render.fence_preflight"),
               ("node_scripts.py", "components.render.shell"), ("storage_scripts.py", "components.render.shell")}
    render = Path(names.__file__).parent / "render"
    for path in render.glob("*.py"):
        for line in path.read_text().splitlines():
            if line.startswith("from components.render.") and not line.startswith("from components.render.shell "):
                module = line.split()[1]
                assert (path.name, module) in allowed, f"{path.name}: {line}"
