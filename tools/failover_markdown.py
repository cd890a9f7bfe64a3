"""The admin's table "when X happens -> the cluster does Y" (build/<stack>/failover.md), from the failover
matrix pacemaker's own scheduler computed (tools/failover.py)."""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

from components.names import GROUP_ID
from components.render.cib_nvsets import META, nvpair_value
from components.settings import Settings
from tools import crmsim
from tools.failover import run_matrix
from tools.failover_model import model


# ---------------------------------------------------------------------------------------------------
# The admin's table
# ---------------------------------------------------------------------------------------------------
def _pacemaker_version() -> str:
    return subprocess.run(["crm_simulate", "--version"], capture_output=True, text=True,
                          timeout=crmsim.TIME_LIMIT_S).stdout.splitlines()[0].strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def failover_markdown(settings: Settings, cib_xml: str) -> str:
    """The table "when X happens -> the cluster does Y" for `cib_xml`, from pacemaker's scheduler.

    A monitor failure is simulated for the group's first member only, the one whose failure restarts the
    most (the test suite simulates every member), so that `make plan` stays fast."""
    matrix = run_matrix(settings, cib_xml, failing_members=model(settings, cib_xml).members[:1])
    q = matrix.quorum
    mode = "automatic failover with IPMI fencing" if settings.fenced else "manual failover (no fencing)"
    lines = [
        f"# Failover behaviour of stack `{settings.stack}`",
        "",
        f"Computed by pacemaker's own scheduler ({_pacemaker_version()}, `crm_simulate`) on the rendered CIB, "
        f"for {mode}. With both nodes up the group `{GROUP_ID}` runs on **{matrix.active}**; "
        f"**{matrix.passive}** is passive.",
        f"Quorum follows the rendered corosync.conf: a node that loses its peer "
        f"{'keeps' if q.survivor_quorate else 'loses'} quorum, a node that boots alone "
        f"{'has' if q.lone_boot_quorate else 'has no'} quorum.",
        "",
        f"Group start order ({len(matrix.members)} members, stopped in reverse): "
        + " → ".join(f"`{r}`" for r in matrix.members) + ".",
        "",
        "Every row is checked for: the group never runs on both nodes, its members start in order, and "
        "nothing starts on a node before the other node's copy is stopped or fenced.",
        "",
        "| When | the cluster does | Safe |",
        "|---|---|---|",
    ]
    for o in matrix.outcomes:
        lines.append(f"| {_cell(o.when)} | {_cell(o.does)} | {'no' if o.unsafe else 'yes'} |")
    non_critical = sorted(p.get("id") for p in ET.fromstring(cib_xml).iter("primitive")
                          if nvpair_value(p, META, "critical") == "false")
    first_moves_at = model(settings, cib_xml).migration_threshold[matrix.members[0]]
    if not first_moves_at:
        lines += ["", "A failed monitor of any other member likewise restarts that member and the members after it "
                  "in place; the group never leaves its node on its own (no migration-threshold: without STONITH "
                  "there is no automatic changeover), only an admin moves it."]
    else:
        lines += ["", "A failed monitor of any other member restarts that member and the members after it in place; "
                  "it moves the group at its migration-threshold like the first member"
                  + (f", except {', '.join(f'`{r}`' for r in non_critical)} (critical=false): at its threshold it "
                     "stays stopped on its node and the group does not move." if non_critical else ".")]
    return "\n".join(lines) + "\n"
