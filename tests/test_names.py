"""components/names.py is where renderers find names: none imports a name from another renderer."""
from __future__ import annotations

from components import names


def test_no_renderer_imports_names_from_another_renderer():
    """Names come from components.names; a renderer may use another's rendered content (the lsyncd unit,
    the fence device's parameters), never its names."""
    from pathlib import Path

    allowed = {("sync_scripts.py", "components.render.lsyncd"), ("fence_preflight.py", "components.render.cib"),
               ("node_scripts.py", "components.render.cib"),
               ("runbooks.py", "components.render.fence_preflight"),
               # the runbooks for a node out of the cluster reuse the others' power check and bounds
               ("recovery.py", "components.render.fence_preflight"), ("recovery.py", "components.render.runbooks"),
               ("node_scripts.py", "components.render.shell"), ("storage_scripts.py", "components.render.shell"),
               ("iscsi_initiator.py", "components.render.multipath")}
    render = Path(names.__file__).parent / "render"
    for path in render.glob("*.py"):
        for line in path.read_text().splitlines():
            # shell.py and cib_nvsets.py are helpers every renderer may use (headers, CIB nvsets), not renderers.
            if line.startswith("from components.render.") and not line.startswith(
                    ("from components.render.shell ", "from components.render.cib_nvsets ")):
                module = line.split()[1]
                assert (path.name, module) in allowed, f"{path.name}: {line}"
