"""A step for a host reached as a user other than root runs through `sudo -n /bin/bash -c '<script>'`
(components/remote_step.py): run through a real shell and real sudo, the script arrives intact, as root,
with the step's stdin."""
from __future__ import annotations

import subprocess

from components.remote_step import as_root, ssh_host
from components.render.shell import script
from tests.conftest import require_root, require_tool


def test_a_sudo_step_runs_the_exact_script_as_root_with_its_stdin(tmp_path):
    require_root()
    require_tool("sudo")
    # Quotes, $, backslashes and a heredoc: what the rendered scripts are made of.
    body = r"""
read -r line
printf 'uid=%s line=%s quoted=%s\n' "$(id -u)" "$line" 'it'"'"'s $HOME \n'
cat <<'TEXT'
a "double" and a 'single' quote
TEXT
"""
    command = as_root(ssh_host("bm1", "192.0.2.1", "admin", None), script("sudo test", body))
    result = subprocess.run(["/bin/sh", "-c", command], input="from stdin\n", capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("uid=0 line=from stdin quoted=it's $HOME \\n\n"
                             "a \"double\" and a 'single' quote\n")
