"""ipmi_sim's chassis-control script for one node: `chassis.py SOCKET 0x20 get power` prints `power:1|0`,
`chassis.py SOCKET 0x20 set power 0|1` powers the node's machine off or on (and returns when done, so
fence_ipmilan's "off" really means off). Anything else is accepted and ignored, as tools/ipmisim.py asks.
"""
from __future__ import annotations

import sys

from lab.control import send


def main(argv: list[str]) -> int:
    machine_socket, _mc, verb, *rest = argv
    if rest[:1] != ["power"]:
        return 0
    if verb == "get":
        print(f"power:{send(machine_socket, 'power')}")
    elif verb == "set" and rest[1:2] in (["0"], ["1"]):
        send(machine_socket, "on" if rest[1] == "1" else "off")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
