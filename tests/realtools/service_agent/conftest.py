"""The service agent's fixtures: agents run in a sandbox, and impostors on their ports, all stopped after the test."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_root, require_tool
from tests.realtools.service_agent.harness import SYSTEM_PYTHON, Agent, Impostor


@pytest.fixture
def impostor():
    require_tool("setpriv")
    if not Path(SYSTEM_PYTHON).exists():  # nobody cannot run a Python under /root (pyenv, this venv)
        pytest.fail(f"{SYSTEM_PYTHON} is not installed (Debian's python3)")
    made: list[Impostor] = []

    def make(address: str, port: str, v6only: bool = False) -> Impostor:
        made.append(Impostor(address, port, v6only))
        return made[-1]
    yield make
    for one in made:
        if one.process.poll() is None:
            one.received()


@pytest.fixture
def agent_for(tmp_path):
    require_root()
    require_tool("unshare", "curl")
    if not Path("/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs").exists():
        pytest.fail("resource-agents is not installed (run `make deps` as root)")
    made: list[Agent] = []

    def make(unit: str, cgroup_mode: str = "cgroupfs", **params: str) -> Agent:
        made.append(Agent(tmp_path / unit, unit, cgroup_mode, **params))
        return made[-1]
    yield make
    for agent in made:
        agent.kill_everything()
