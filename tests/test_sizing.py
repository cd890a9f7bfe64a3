"""BlueMind's sizing tables, as the settings use them."""
from __future__ import annotations

import pytest

from components import sizing


@pytest.mark.parametrize("major,users,profile,cores,ram", [
    (4, 100, "mail", 2, 16),                   # 100 units
    (4, 200, "collaboration", 4, 24),          # 400 units
    (5, 100, "mail", 2, 24),                   # 5.x minimum is 24 GB
    (5, 2000, "collaboration", 12, 48),        # 4000 units
    (5, 1000, "collaboration-mobile", 12, 48), # 5000 units
    (4, 3000, "collaboration-mobile", 30, 96), # 15000 units: 2 cores per 1000 units
])
def test_node_size_follows_bluemind_tables(major, users, profile, cores, ram):
    size = sizing.node_size(major, users, profile)
    assert (size.cores, size.ram_gb) == (cores, ram)


def test_table_boundaries_are_inclusive():
    assert sizing.node_size(4, 200, "mail").cores == 2
    assert sizing.node_size(4, 201, "mail").cores == 4
    assert sizing.node_size(4, 250, "mail").ram_gb == 16
    assert sizing.node_size(4, 251, "mail").ram_gb == 24


def test_the_50g_profile_exists_from_5_5_only():
    assert "collaboration-mobile-50g" not in sizing.profiles_for(5, 3)
    assert "collaboration-mobile-50g" in sizing.profiles_for(5, 5)


def test_lun_sizes_derive_from_users_and_quota():
    dirs = sizing.shared_directories(4)
    sizes = sizing.lun_minimums(dirs, users=2000, quota_gb=4)
    assert sizes["/var/spool/cyrus"] == 8801         # 8000 GB spool + 10 % of (spool + archive)
    assert sizes["/var/spool/bm-elasticsearch"] == 1602  # twice an index of 10 % of (spool + archive)
    assert sizes["/var/lib/postgresql"] == 20 and sizes["/var/lib/cyrus"] == 10
    assert sizes["/var/spool/sieve"] == 2            # ~1 MB per user


def test_shared_directories_cover_the_seed_and_grow_only_at_the_end():
    v4, v5 = sizing.shared_directories(4), sizing.shared_directories(5)
    assert {"/var/spool/cyrus", "/var/lib/cyrus", "/var/lib/postgresql"} <= set(v4)
    assert v5[:len(v4)] == v4  # an upgrade to 5.x keeps every LUN number
