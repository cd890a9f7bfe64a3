"""The grammar of every free-text setting, always checked as a full match (`re.fullmatch`: a pattern ending
in `$` would accept a trailing newline), and the few formats a pattern alone cannot check."""
from __future__ import annotations

import base64
import binascii
import posixpath
import re
import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Grammar:
    pattern: str
    says: str  # what is allowed, in the refusal and in the README

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value) is not None


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = Grammar(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?",
                    "an RFC 1123 label: 1 to 63 lower-case letters, digits and '-', starting with a letter, "
                    "not ending with '-'")
DNS_NAME = Grammar(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})+",
                   "a fully qualified DNS name in lower case (mail.example.com): no scheme, path, port or spaces")
HTTPS_URL = Grammar(rf"https://{_LABEL}(?:\.{_LABEL})*(?::\d{{1,5}})?(?:/[A-Za-z0-9._~%+-]+)*/?",
                    "an https URL (https://host/path) without spaces, options ([trusted=yes]), query or fragment")
DOWNLOAD_URL = Grammar(rf"https?://{_LABEL}(?:\.{_LABEL})*(?::\d{{1,5}})?(?:/[A-Za-z0-9._~%+-]+)+",
                       "an http(s) URL of a file, without spaces, query or fragment")
LIBVIRT_URI = Grammar(r"qemu(?:\+(?:ssh|tls|tcp|unix|libssh2?))?://(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]*(?::\d{1,5})?"
                      r"/(?:system|session)(?:\?[A-Za-z0-9=&._/-]+)?",
                      "a libvirt URI: qemu:///system or qemu+ssh://user@host/system")
NIC = Grammar(r"(?!\.{1,2}\Z)[A-Za-z0-9_.-]{1,15}", "a Linux interface name: 1 to 15 of A-Z a-z 0-9 _ . -")
SSH_USER = Grammar(r"[a-z_][a-z0-9_-]{0,31}", "a Debian user name: a-z, 0-9, '_' and '-', starting with a letter "
                   "or '_', at most 32 characters")
BMC_USER = Grammar(r"[!-~]{1,16}", "1 to 16 printable ASCII characters without spaces (IPMI's limit)")
CLUSTER_NAME = Grammar(r"[A-Za-z][A-Za-z0-9_-]{0,31}", "1 to 32 of A-Z a-z 0-9 _ -, starting with a letter")
EMAIL = Grammar(rf"[A-Za-z0-9._%+-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+", "an e-mail address (oncall@example.com)")
_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
SMTP_RELAY = Grammar(rf"(?:{_IPV4}|(?=[^:]{{1,253}}(?::|\Z)){_LABEL}(?:\.{_LABEL})*)"
                     r"(?::(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}))?",
                     "host[:port]: a DNS name in lower case or an IPv4 address, optionally a port from 1 to 65535 "
                     "(smtp.example.com:25)")
CHAP_USER = Grammar(r"[A-Za-z0-9._@:-]{1,64}", "one token of 1 to 64 of A-Z a-z 0-9 . _ @ : -")
VOLUME_GROUP = Grammar(r"(?!\.{1,2}\Z)[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,63}",
                       "an LVM volume group name: A-Z a-z 0-9 + _ . -, not starting with '-'")
DEVICE = Grammar(r"/dev/[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.:-]*)*",
                 "a block device path under /dev (/dev/vdb, /dev/disk/by-id/...)")
LIBVIRT_NAME = Grammar(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", "1 to 32 of A-Z a-z 0-9 _ -, starting with a letter or digit")
IQN = Grammar(r"(?=.{1,223}\Z)iqn\.\d{4}-(?:0[1-9]|1[0-2])\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*"
              r"[a-z0-9])?)*:[A-Za-z0-9.:_-]+",
              "an iSCSI qualified name: iqn.YYYY-MM.reversed.domain:name (at most 223 characters)")
VERSION = Grammar(r"(\d{1,3})\.(\d{1,3})(?:\.\d{1,5}){0,2}", 'a quoted version, "5.3.2" (a YAML number is refused)')

PATH_SAYS = "an absolute path of A-Z a-z 0-9 . _ - / without '.', '..' or '//' components (a trailing '/' is dropped)"
SYSTEM_DIRECTORIES = frozenset({
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt", "/opt", "/proc",
    "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin",
    "/usr/share", "/var", "/var/cache", "/var/lib", "/var/log", "/var/spool", "/var/tmp", "/var/backups",
    "/var/mail", "/var/run", "/etc/ssh", "/etc/apt",
})


def path_problem(value: str) -> str | None:
    """Why `value` is not an acceptable path (after dropping one trailing '/'), or None."""
    if not re.fullmatch(r"/[A-Za-z0-9._/-]*", value):
        return f"{value!r} is not {PATH_SAYS}"
    parts = value.split("/")[1:]
    if any(part in (".", "..") for part in parts) or "//" in value:
        return f"{value!r} is not normalised (it has '.', '..' or '//')"
    return None


def normal_path(value: str) -> str:
    """`/var/spool/cyrus/` and `/var/spool/cyrus` are the same directory."""
    return value.rstrip("/") or "/" if value.startswith("/") else posixpath.normpath(value)


SSH_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
SSH_KEY_SAYS = ("an OpenSSH public key line: type (ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa), "
                "base64 key, optional comment")


def ssh_key_problem(value: str) -> str | None:
    """Why `value` is not one OpenSSH public key line, or None. A private key is named as such."""
    if "PRIVATE KEY" in value or value.lstrip().startswith("-----BEGIN"):
        return "is a private key; it must never be in a stack file (it would be rendered in plain text)"
    if not re.fullmatch(r"[a-z0-9-]+ [A-Za-z0-9+/]+={0,2}(?: [!-~][ -~]{0,200})?", value):
        return "is not one line of the form '<type> <base64> [comment]'"
    kind, blob = value.split(" ")[:2]
    if kind not in SSH_KEY_TYPES:
        return f"has the unsupported key type {kind!r}"
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return "has a key that is not valid base64"
    if len(raw) < 4 or len(raw) < 4 + struct.unpack(">I", raw[:4])[0]:
        return "has a base64 key that is not an SSH key blob"
    embedded = raw[4:4 + struct.unpack(">I", raw[:4])[0]].decode("ascii", "replace")
    if embedded != kind:
        return f"says {kind} but its key is a {embedded!r} key"
    return None


def subscription_id_like(url: str) -> str | None:
    """A path component of `url` that looks like a BlueMind subscription id, or None."""
    for part in url.split("://", 1)[-1].split("/")[1:]:
        if ("subscription" in part.lower() or re.fullmatch(r"[0-9a-fA-F-]{16,}", part)
                or (len(part) >= 20 and re.search(r"\d", part) and re.search(r"[A-Za-z]", part))):
            return part
    return None


PGP_KEY_SAYS = ("an ASCII-armored OpenPGP public key block (-----BEGIN PGP PUBLIC KEY BLOCK----- ... -----END PGP "
                "PUBLIC KEY BLOCK-----, as `gpg --armor --export` writes it)")
_PGP_BEGIN, _PGP_END = "-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----END PGP PUBLIC KEY BLOCK-----"
_PGP_ARMOR = re.compile(
    rf"{_PGP_BEGIN}\n(?:[A-Za-z][A-Za-z0-9-]*: [ -~]*\n)*\n"   # armor headers (Version:, Comment:), a blank line
    r"((?:[A-Za-z0-9+/=]{1,76}\n)+?)"                          # the base64 body
    r"(?:=([A-Za-z0-9+/]{4})\n)?"                              # the CRC-24 checksum
    rf"{_PGP_END}\n")
PGP_KEY_MAX = 65536


def _crc24(data: bytes) -> int:
    """OpenPGP's armor checksum (RFC 4880, 6.1)."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _packet_tag(first: int) -> int | None:
    """The packet type of an OpenPGP packet's first byte, or None when it is no packet header."""
    if not first & 0x80:
        return None
    return first & 0x3F if first & 0x40 else (first >> 2) & 0x0F


def pgp_public_key_problem(value: str) -> str | None:
    """Why `value` is not one ASCII-armored OpenPGP public key block, or None. A private key is named as such."""
    if "PRIVATE KEY" in value:
        return "is a private key block; only the repository's public key belongs in a stack file"
    if len(value) > PGP_KEY_MAX:
        return f"is longer than {PGP_KEY_MAX} characters"
    armored = value if value.endswith("\n") else value + "\n"
    match = _PGP_ARMOR.fullmatch(armored.replace("\r\n", "\n"))
    if match is None:
        return f"is not {PGP_KEY_SAYS}"
    try:
        data = base64.b64decode("".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        return "has a body that is not valid base64"
    if not data:
        return "holds no key"
    if match.group(2) is not None and base64.b64decode(match.group(2)) != _crc24(data).to_bytes(3, "big"):
        return "has a checksum (the =XXXX line) that does not match its body: the block was altered or cut"
    tag = _packet_tag(data[0])
    if tag in (5, 7):
        return "holds a secret-key packet: only the repository's public key belongs in a stack file"
    if tag != 6:
        return "does not start with a public-key packet"
    return None
