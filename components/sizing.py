"""BlueMind's hardware sizing and the shared-storage layout, as data and pure functions.

Sources: BlueMind's "Hardware sizing" pages for 4.9, 5.0, 5.3 and 5.5, and the data-directory estimates of
"Les services" (see ../shared/reference/bluemind.md, sections 1 and 5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SUPPORTED_MAJORS = (4, 5)

# Units per user, by usage profile. 4.x calls the third profile "smartphone", 5.x "mapi": same weight.
UNITS_PER_USER = {
    "mail": 1,                      # email only
    "collaboration": 2,             # + intense collaboration
    "collaboration-mobile": 5,      # + collaboration + smartphone (4.x) / MAPI (5.x)
    "collaboration-mobile-50g": 25, # 5.5: collaboration + MAPI with a 50 GB quota
}
# 5.5 ties each profile to a quota; older versions leave the quota to the admin (default shown).
DEFAULT_QUOTA_GB = {"mail": 2, "collaboration": 4, "collaboration-mobile": 10, "collaboration-mobile-50g": 50}

# (upper bound of units, value), first row whose bound is >= units wins.
CORES = ((200, 2), (1000, 4), (2000, 6), (3000, 8), (6000, 12))
RAM_GB = {
    4: ((250, 16), (1000, 24), (2500, 32), (5000, 48), (10000, 64), (math.inf, 96)),
    5: ((1000, 24), (2500, 32), (5000, 48), (10000, 64), (math.inf, 96)),  # 5.x minimum is 24 GB
}

# The seed page's list, in its order: LUN numbers follow this order, so it only ever grows at the end.
SEED_DIRECTORIES = (
    "/var/spool/bm-docs",
    "/var/spool/bm-elasticsearch",
    "/var/spool/bm-hsm",
    "/var/spool/cyrus",
    "/var/spool/postfix",
    "/var/spool/sieve",
    "/var/spool/bluemind-pkgs",
    "/var/lib/cyrus",
    "/var/lib/postgresql",
)
# BlueMind 5.2's HA page adds these two spools.
V5_DIRECTORIES = ("/var/spool/bm-hollowed", "/var/spool/bm-mapi")

# Fixed estimates from "Les services" (GB); directories with no published estimate get DEFAULT_GB.
FIXED_GB = {"/var/lib/cyrus": 10, "/var/lib/postgresql": 20}
DEFAULT_GB = 10


@dataclass(frozen=True)
class NodeSize:
    units: int
    cores: int
    ram_gb: int


def profiles_for(major: int, minor: int) -> tuple[str, ...]:
    profiles = ("mail", "collaboration", "collaboration-mobile")
    return profiles + ("collaboration-mobile-50g",) if (major, minor) >= (5, 5) else profiles


def default_quota_gb(profile: str) -> float:
    return DEFAULT_QUOTA_GB.get(profile, 2)


def _lookup(table, units: int) -> int:
    return next(value for bound, value in table if units <= bound)


def node_size(major: int, users: int, profile: str) -> NodeSize:
    """Cores and RAM one BlueMind node needs (both nodes get the same: either may carry the load)."""
    units = users * UNITS_PER_USER[profile]
    cores = _lookup(CORES, units) if units <= CORES[-1][0] else 2 * math.ceil(units / 1000)
    return NodeSize(units=units, cores=cores, ram_gb=_lookup(RAM_GB[major], units))


def shared_directories(major: int) -> tuple[str, ...]:
    return SEED_DIRECTORIES + (V5_DIRECTORIES if major >= 5 else ())


def lun_minimums(directories: tuple[str, ...], users: int, quota_gb: float) -> dict[str, int]:
    """Each LUN's size derived from users x mailbox quota (GB, rounded up).

    - cyrus: the mail spool itself plus cyrus meta (~10 % of spool + archive);
    - bm-elasticsearch: the index is ~10 % of (spool + archive), and its partition should be twice its data;
    - sieve: ~1 MB per user;
    - /var/lib/cyrus ~10 GB, /var/lib/postgresql ~20 GB; the rest has no estimate and gets 10 GB.
    """
    spool = users * quota_gb
    archive = DEFAULT_GB  # bm-hsm holds what the archiving policy moves; its size is the admin's to raise
    sizes = {
        "/var/spool/cyrus": spool + 0.10 * (spool + archive),
        "/var/spool/bm-elasticsearch": 2 * 0.10 * (spool + archive),
        "/var/spool/sieve": users / 1024,
    }
    return {d: max(1, math.ceil(sizes.get(d, FIXED_GB.get(d, DEFAULT_GB)))) for d in directories}
