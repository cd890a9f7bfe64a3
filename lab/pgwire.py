"""Just enough of PostgreSQL's frontend/backend protocol (v3) for the lab's client: connect with trust
authentication and run simple queries. A hand-rolled client, because the venv has no PostgreSQL driver and
the client needs what psql cannot give: a sub-second connect timeout and an exact "committed" answer
(CommandComplete followed by ReadyForQuery) for every row.
"""
from __future__ import annotations

import socket
import struct


class PgError(RuntimeError):
    pass


class Connection:
    def __init__(self, host: str, port: int = 5432, user: str = "postgres", database: str = "postgres",
                 timeout: float = 1.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        params = f"user\0{user}\0database\0{database}\0\0".encode()
        self.sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        self._until_ready()

    def _read_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise PgError("server closed the connection")
            data += chunk
        return data

    def _message(self) -> tuple[bytes, bytes]:
        kind = self._read_exact(1)
        (length,) = struct.unpack("!i", self._read_exact(4))
        return kind, self._read_exact(length - 4)

    def _until_ready(self) -> list[list[str | None]]:
        rows, error = [], None
        while True:
            kind, body = self._message()
            if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
                raise PgError("the server asks for a password: the lab's pg_hba.conf trusts the subnet")
            if kind == b"E":
                fields = dict((f[:1], f[1:].decode(errors="replace")) for f in body.split(b"\0") if f)
                error = fields.get(b"M", "error")
            elif kind == b"D":
                (count,), offset, row = struct.unpack("!h", body[:2]), 2, []
                for _ in range(count):
                    (size,) = struct.unpack("!i", body[offset:offset + 4])
                    offset += 4
                    row.append(None if size < 0 else body[offset:offset + size].decode())
                    offset += max(size, 0)
                rows.append(row)
            elif kind == b"Z":
                if error:
                    raise PgError(error)
                return rows

    def query(self, sql: str) -> list[list[str | None]]:
        """Run `sql` (autocommit); return its rows once the server is ready again, i.e. the commit is durable."""
        body = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!i", 4 + len(body)) + body)
        return self._until_ready()

    def close(self) -> None:
        try:
            self.sock.sendall(b"X\0\0\0\4")
        except OSError:
            pass
        self.sock.close()
