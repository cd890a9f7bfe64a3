"""The lab's client, in the hub namespace: writes numbered rows through the VIP, one commit at a time.

`python -m lab.client write VIP LOG` inserts n = 1, 2, 3, ... and appends to LOG one line per attempt:
`ok N T` once the commit is confirmed, `fail N T` when the attempt failed (N may or may not be stored:
it is never reused and never counted as lost). T is CLOCK_MONOTONIC, the runner's clock too.
`python -m lab.client rows VIP` prints every stored n (the runner's check for lost rows).
"""
from __future__ import annotations

import sys
import time

from lab.pgwire import Connection, PgError

TABLE = "lab_rows"
PAUSE_S = 0.05  # between commits: ~15 rows a second, without starving two cores


def write(vip: str, log_path: str) -> None:
    connection, n = None, 0
    with open(log_path, "a", buffering=1) as log:
        while True:
            n += 1
            try:
                if connection is None:
                    connection = Connection(vip, timeout=0.5)
                    connection.query(f"CREATE TABLE IF NOT EXISTS {TABLE} (n bigint PRIMARY KEY, at timestamptz DEFAULT now())")
                connection.sock.settimeout(2.0)
                connection.query(f"INSERT INTO {TABLE} (n) VALUES ({n})")
                log.write(f"ok {n} {time.monotonic():.3f}\n")
                time.sleep(PAUSE_S)
            except (OSError, PgError):
                log.write(f"fail {n} {time.monotonic():.3f}\n")
                if connection is not None:
                    connection.close()
                connection = None
                time.sleep(0.1)


def rows(vip: str) -> None:
    connection = Connection(vip, timeout=2.0)
    connection.sock.settimeout(10.0)
    for (n,) in connection.query(f"SELECT n FROM {TABLE}"):
        print(n)
    connection.close()


if __name__ == "__main__":
    {"write": write, "rows": rows}[sys.argv[1]](*sys.argv[2:])
