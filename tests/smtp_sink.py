"""A local SMTP sink standing in for the alert relay: it keeps every message it is given."""
from __future__ import annotations

import email
import email.policy
import socketserver
from email.message import EmailMessage


class Sink(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.messages: list[tuple[str, list[str], EmailMessage]] = []


class _SmtpSession(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: EHLO, MAIL, RCPT, DATA, QUIT (no STARTTLS offered)."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline().decode():
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-sink")
                self.reply("250 8BITMIME")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                self.reply("250 ok")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                message = email.message_from_bytes(b"".join(data), policy=email.policy.default)
                self.server.messages.append((sender, recipients, message))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")
