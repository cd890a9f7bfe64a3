"""The shared storage: the iSCSI target, the storage host, and one LUN per shared directory."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from components import sizing
from components.settings import grammar as g
from components.settings import schema as sc
from components.settings.errors import Problems, SettingsError, Skip
from components.settings.model import BlueMind, HostKind, Lun, Storage, StorageHost, StorageKind
from components.settings.reader import Obj, convert, type_name
from components.settings.sections import SEED_NO_NFS, host_key, top


def storage(config: Mapping[str, Any], p: Problems, bm: BlueMind | None, host_kind: HostKind | None) -> Storage:
    o = top(config, "storage", p)
    for name in ("kind", "fstype"):
        value = o.raw.get(name)
        if isinstance(value, str) and value.lower().startswith("nfs"):
            o.fail(o.key(name), f"NFS is refused ({SEED_NO_NFS})",
                   "use kind: tgt (an iSCSI target on a storage host) or kind: external (an existing iSCSI SAN)"
                   if name == "kind" else "use fstype: xfs or ext4")
    kind = None if o.failed else o.read("kind")
    fstype = None if o.failed else o.read("fstype")
    target_iqn = o.read("target_iqn")
    host = None
    portal_ip = None
    if kind == StorageKind.TGT:
        if o.has("portal"):
            o.fail(o.key("portal"), "is the storage host's address with kind tgt", "remove storage.portal")
        host = _host(o, host_kind)
        portal_ip = (host.storage_ip or host.ip) if host else None
    elif kind == StorageKind.EXTERNAL:
        if o.has("host"):
            o.fail(o.key("host"), "an external SAN has no storage host to configure", "remove storage.host, or use "
                   "kind: tgt")
        if host_kind == HostKind.LIBVIRT:
            o.fail(o.key("kind"), "a libvirt lab builds its own storage VM", "use storage.kind: tgt with hosts.kind: "
                   "libvirt")
        portal_ip = o.read("portal", default=sc.REQUIRED)
    portal_port, chap, mutual = o.read("portal_port"), o.read("chap_username"), o.read("chap_mutual_username")
    if chap is not None and chap == mutual:
        o.fail(o.key("chap_mutual_username"), f"is chap_username ({chap}): tgt keeps one account per name, so the "
               "target could not answer as it", "give the target's mutual CHAP user its own name")
    multipath, second_portal = _multipath(o, kind, portal_ip)
    extra = o.read("extra_directories")
    window = o.read("maintenance_window")
    o.done()
    kind = StorageKind(kind)
    major = bm.major if bm else _major_hint(config)
    if major is None:
        raise Skip()
    base = sizing.shared_directories(major)
    directories = base + _extra(o, extra, base)
    o.done()
    # Without valid users and quota (refused in bluemind), the directories are still checked, not the sizes.
    minimum = sizing.lun_minimums(directories, bm.users, bm.mailbox_quota_gb) if bm else {d: 1 for d in directories}
    sizes = _lun_sizes(o, directories, minimum)
    numbers = _lun_numbers(o, directories, kind)
    if bm is None:
        raise Skip()
    o.done()
    luns = tuple(Lun(directory=d, number=numbers[d], size_gb=sizes[d]) for d in directories)
    return Storage(kind=kind, target_iqn=target_iqn, portal_ip=portal_ip, portal_port=portal_port, host=host,
                   fstype=fstype, chap_username=chap, luns=luns, chap_mutual_username=mutual,
                   maintenance_window=window, multipath=multipath, second_portal_ip=second_portal)


def _multipath(o: Obj, kind: str | None, portal_ip: str | None) -> tuple[bool, str | None]:
    """dm-multipath needs two paths to each LUN, and two sessions to one LUN need dm-multipath: without it the
    node sees each LUN as two disks, and the Filesystem resource would mount one of them only."""
    multipath, second = o.read("multipath"), o.read("second_portal")
    if multipath and kind == StorageKind.TGT:
        o.fail(o.key("multipath"), "needs a SAN with two portals; the tgt target has one (the storage host's ip)",
               "remove storage.multipath, or use kind: external with a SAN that has two portals")
    elif multipath and second is None and not o.has("second_portal"):
        o.fail(o.key("multipath"), "needs two paths to each LUN: dm-multipath over one portal is one path",
               "set storage.second_portal to the SAN's second portal address, or remove storage.multipath")
    if second is not None and not multipath:
        o.fail(o.key("second_portal"), "without multipath each LUN would show as two disks on every node",
               "set storage.multipath: true, or remove storage.second_portal")
    elif second is not None and second == portal_ip:
        o.fail(o.key("second_portal"), f"is {second}, the first portal: one portal is one path",
               "set it to the SAN's other portal address, on the other network path")
    return bool(multipath), second


def _major_hint(config: Mapping[str, Any]) -> int | None:
    """BlueMind's major version when the bluemind section was refused for another reason."""
    raw = config.get("bluemind")
    version = raw.get("version") if isinstance(raw, Mapping) else None
    match = re.fullmatch(g.VERSION.pattern, version) if isinstance(version, str) else None
    return int(match.group(1)) if match and int(match.group(1)) in sizing.SUPPORTED_MAJORS else None


def _host(o: Obj, host_kind: HostKind | None) -> StorageHost | None:
    h = o.obj("host", required=True)
    if h is None:
        return None
    key = host_key(h, host_kind, "the host's")
    host = StorageHost(name=h.read("name"), ip=h.read("ip"), ssh_user=h.read("ssh_user"), cores=h.read("cores"),
                       ram_gb=h.read("ram_gb"), volume_group=h.read("volume_group"),
                       physical_device=h.read("physical_device"), ssh_host_key=key,
                       storage_ip=h.read("storage_ip"))
    if h.failed:
        o.failed = True
        return None
    return host


def _extra(o: Obj, extra: tuple[str, ...], base: tuple[str, ...]) -> tuple[str, ...]:
    """Extra directories: no system directory, none inside another shared one, no resource-name clash."""
    out: list[str] = []
    for i, d in enumerate(extra):
        key = f"{o.key('extra_directories')}[{i}]"
        if d in g.SYSTEM_DIRECTORIES:
            o.fail(key, f"{d} is a system directory: a LUN mounted there would hide the node's own files",
                   "list a directory of its own, like /var/spool/bm-filehosting")
            continue
        if d in base:
            continue  # already on its own LUN
        if d in out:
            o.fail(key, f"{d} is listed twice", "list each directory once")
            continue
        inside = next((s for s in base + tuple(out) if d.startswith(s + "/") or s.startswith(d + "/")), None)
        if inside:
            o.fail(key, f"{d} is inside (or holds) the shared directory {inside}: one mount would hide the other",
                   "list a directory outside the other shared directories")
            continue
        lun, clash = Lun(d, 0, 0), None
        for other in base + tuple(out):
            if Lun(other, 0, 0).slug == lun.slug or Lun(other, 0, 0).fs_label == lun.fs_label:
                clash = other
        if clash:
            o.fail(key, f"{d} gets the same volume name or filesystem label as {clash} ({lun.slug}, {lun.fs_label})",
                   "name the directory differently")
            continue
        out.append(d)
    return tuple(out)


def _directory_key(o: Obj, field: str, raw: Any, directories: tuple[str, ...]) -> str | None:
    key = f"{o.key(field)}.{raw}"
    if not isinstance(raw, str):
        o.fail(key, f"{type_name(raw)} is not a directory", f"use one of: {', '.join(directories)}")
        return None
    normal = g.normal_path(raw) if raw.startswith("/") else raw
    if normal not in directories:
        o.fail(key, "is not a directory that gets a LUN", f"use one of: {', '.join(directories)}")
        return None
    return normal


def _lun_sizes(o: Obj, directories: tuple[str, ...], minimum: dict[str, int]) -> dict[str, int]:
    overrides = o.raw.get("lun_sizes_gb") or {}
    if not isinstance(overrides, Mapping):
        o.fail(o.key("lun_sizes_gb"), f"expected a map, got {type_name(overrides)}",
               'map a directory to a size in GB: "/var/spool/cyrus": 500')
        return dict(minimum)
    sizes = dict(minimum)
    spec = sc.Key("storage.lun_sizes_gb", sc.INT, "", low=1, high=1_048_576)
    seen: set[str] = set()
    for raw, size in overrides.items():
        directory = _directory_key(o, "lun_sizes_gb", raw, directories)
        if directory is None:
            continue
        key = f"{o.key('lun_sizes_gb')}.{raw}"
        if directory in seen:
            o.fail(key, f"names {directory} a second time", "give each directory once")
            continue
        seen.add(directory)
        try:
            size = convert(spec, size, key)
        except SettingsError as error:
            o.fail(error.path, error.problem, error.fix)
            continue
        if size < minimum[directory]:
            o.fail(key, f"{size!r} GB is below the {minimum[directory]} GB derived from users x mailbox quota",
                   f"set at least {minimum[directory]}, or lower bluemind.users / mailbox_quota_gb")
        sizes[directory] = size
    return sizes


def _lun_numbers(o: Obj, directories: tuple[str, ...], kind: StorageKind) -> dict[str, int]:
    """Our own tgt target numbers LUNs from 1 in directory order (LUN 0 is tgt's controller). An external SAN
    declares its numbers."""
    raw = o.raw.get("lun_numbers")
    if kind == StorageKind.TGT:
        if raw is not None:
            o.fail(o.key("lun_numbers"), "is only for an external SAN", "remove it: the tgt target numbers its own LUNs")
        return {d: i + 1 for i, d in enumerate(directories)}
    if raw is None:
        o.fail(o.key("lun_numbers"), "is required for an external SAN",
               "map each shared directory to its LUN number on the SAN")
        return {}
    if not isinstance(raw, Mapping):
        o.fail(o.key("lun_numbers"), f"expected a map, got {type_name(raw)}",
               "map each shared directory to its LUN number on the SAN")
        return {}
    spec = sc.Key("storage.lun_numbers", sc.INT, "", low=0, high=16383)
    numbers: dict[str, int] = {}
    for name, number in raw.items():
        directory = _directory_key(o, "lun_numbers", name, directories)
        if directory is None:
            continue
        if directory in numbers:
            o.fail(f"{o.key('lun_numbers')}.{name}", f"names {directory} a second time", "give each directory once")
            continue
        try:
            numbers[directory] = convert(spec, number, f"{o.key('lun_numbers')}.{name}")
        except SettingsError as error:
            o.fail(error.path, error.problem, error.fix)
    for d in directories:
        if d not in numbers and not o.failed:
            o.fail(f"{o.key('lun_numbers')}.{d}", "has no LUN number",
                   "every shared directory needs its own LUN on the SAN (block storage, never NFS)")
    if len(set(numbers.values())) != len(numbers):
        o.fail(o.key("lun_numbers"), "must give each directory a distinct LUN number", "correct the numbers")
    return numbers
