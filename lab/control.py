"""The one-line protocol of a machine's control socket (see lab.machine): send a command, get the reply."""
from __future__ import annotations

import socket
from pathlib import Path


def send(machine_socket: Path | str, command: str, timeout: float = 60) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(machine_socket))
        sock.sendall(f"{command}\n".encode())
        reply = sock.makefile().readline().strip()
    if reply.startswith("error"):
        raise RuntimeError(f"machine {machine_socket}: {command}: {reply}")
    return reply
