"""dm-multipath on the nodes (storage.multipath: a SAN with two portals): the settings part of multipath-tools'
configuration. The iscsi-login step appends the `multipaths` section, one map per LUN named for its directory,
from the WWIDs it reads through both portals (they are the SAN's, known only once a node sees the LUNs).

What a lost path does is decided here and in iscsid.conf together:
- one path lost: the kernel fails its I/O after replacement_timeout (5 s with multipath, Storage model) and dm
  carries on over the other path; the storage watch logs the dead path;
- every path lost: dm queues I/O for no_path_retry x polling_interval (4 x 5 s = 20 s: a SAN controller
  failover), then fails it, so the Filesystem monitor fails and its stop completes. Never `queue` (forever):
  processes would hang in D state, monitors and the stop would time out, and only a fence would end it.
"""
from __future__ import annotations

from components.settings import Settings

POLLING_INTERVAL_S = 5
NO_PATH_RETRY = 4  # checks of polling_interval: the bounded queue when no path is left


def no_path_queue_s() -> int:
    return POLLING_INTERVAL_S * NO_PATH_RETRY


def multipath_conf(s: Settings) -> str:
    """The settings part of MULTIPATH_CONF (the step appends the maps)."""
    if not s.storage.multipath:
        raise ValueError("multipath_conf: the stack does not set storage.multipath")
    return "\n".join([
        f"# dm-multipath for the bluemind-ha stack '{s.stack}', rendered by bluemind-ha. `pulumi up` owns it.",
        f"# Paths: {' and '.join(s.storage.portals)} to {s.storage.target_iqn}.",
        "defaults {",
        "    # Maps only for the WWIDs the iscsi-login step added (multipath -a): never for a local disk.",
        "    find_multipaths strict",
        "    # The maps are named in the multipaths section below, for their directories.",
        "    user_friendly_names no",
        f"    polling_interval {POLLING_INTERVAL_S}",
        f"    # Every path down: I/O queued {no_path_queue_s()} s, then failed (never queued forever).",
        f"    no_path_retry {NO_PATH_RETRY}",
        "    # One path at a time, the first portal's first; back to it once it returns.",
        "    path_grouping_policy failover",
        "    failback immediate",
        "}",
        "",
    ])
