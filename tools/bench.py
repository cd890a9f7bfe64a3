"""How long the offline plan takes, and how it grows with the number of LUNs (each LUN is also one more
filesystem in the cluster group, so one more service for the scheduler to place).

Each run is a fresh process, as `make plan` runs it (interpreter start, imports, the program under mocks,
every renderer, crm_simulate for failover.md, dot for topology.svg). The table shows the median of
RUNS runs. A benchmark to read, not a timed test: the target is dev under 2 s.

Usage: python -m tools.bench
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from components.settings import parse_settings
from tools.stackfile import ROOT, read_stack_config

RUNS = 5
LUN_COUNTS = (10, 20, 40)
DEV_TARGET_S = 2.0

# A generated stack has no stack file: its config goes to write_plan directly, in its own process.
_PLAN_FROM_JSON = """
import json, sys
from pathlib import Path
from tools.plan import write_plan
config, secret_keys = json.loads(Path(sys.argv[1]).read_text())
write_plan("dev", Path(sys.argv[2]), config, set(secret_keys))
"""


def dev_with_luns(count: int) -> tuple[dict, list[str]]:
    """The dev stack with extra shared directories up to `count` LUNs in all."""
    config, secret_keys = read_stack_config("dev")
    base = len(parse_settings("dev", config, secret_keys).storage.luns)
    config["storage"] = {**config["storage"],
                         "extra_directories": [f"/var/spool/bench-{i:02d}" for i in range(count - base)]}
    return config, sorted(secret_keys)


def _median_seconds(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(work: Path) -> list[tuple[str, int, float]]:
    """(what, LUNs, median seconds) per row."""
    rows = []
    for stack in ("dev", "prod"):
        seconds = _median_seconds([sys.executable, "-m", "tools.plan", stack, str(work / stack)])
        config, secret_keys = read_stack_config(stack)
        rows.append((f"stack {stack}", len(parse_settings(stack, config, secret_keys).storage.luns), seconds))
    for count in LUN_COUNTS:
        config_file = work / f"dev-{count}.json"
        config_file.write_text(json.dumps(dev_with_luns(count)))
        seconds = _median_seconds([sys.executable, "-c", _PLAN_FROM_JSON, str(config_file), str(work / f"dev-{count}")])
        rows.append(("dev + generated LUNs", count, seconds))
    return rows


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bluemind-ha-bench-") as tmp:
        rows = measure(Path(tmp))
    print(f"| plan of | LUNs (= filesystems in the group) | median of {RUNS} runs |")
    print("|---|---|---|")
    for what, luns, seconds in rows:
        print(f"| {what} | {luns} | {seconds:.2f} s |")
    dev = rows[0][2]
    print(f"\ndev: {dev:.2f} s, target under {DEV_TARGET_S:.0f} s: {'met' if dev < DEV_TARGET_S else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
