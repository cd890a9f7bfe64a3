"""The lab's timing profiles: which cluster timeouts the lab's two nodes run with.

- `lab`: the `lab` stack as it is (short timeouts, so a failover is measured in seconds);
- `prod`: the `lab` stack with the `prod` stack's cluster timeouts (`TIMING_KEYS`, as the prod stack
  resolves them, defaults included): what production's failover takes, measured on the lab's topology (its
  addresses, BMCs, LUNs and services stay).
The monitor intervals and start timeouts are the renderer's own (components/render/cib.py), the same in
every stack, so they need no profile. The settings go through the schema like any stack's (parse_settings),
never dataclasses.replace, so a profile the schema would refuse is refused here too.
"""
from __future__ import annotations

import copy

from components.settings import Settings, parse_settings
from tools.stackfile import load_settings, read_stack_config

STACK = "lab"
PROFILES = ("lab", "prod")
TIMING_KEYS = ("token_ms", "priority_fencing_delay_s", "stonith_timeout_s")


def lab_config_with_timings(config: dict, timings: dict[str, int]) -> dict:
    """The lab stack's config (keys without the namespace) with `cluster.<key>` set for each timing."""
    changed = copy.deepcopy(config)
    changed["cluster"] = {**(changed.get("cluster") or {}), **timings}
    return changed


def timings_of(settings: Settings) -> dict[str, int]:
    return {key: getattr(settings.cluster, key) for key in TIMING_KEYS}


def profile_settings(profile: str) -> Settings:
    if profile not in PROFILES:
        raise ValueError(f"unknown lab profile {profile!r}: one of {', '.join(PROFILES)}")
    if profile == STACK:
        return load_settings(STACK)
    config, secrets = read_stack_config(STACK)
    return parse_settings(STACK, lab_config_with_timings(config, timings_of(load_settings(profile))), secrets)


def describe(profile: str, settings: Settings) -> str:
    """One line for the results: which timeouts the profile ran with (the delay the CIB sets: none with an
    arbitrator), and the arbitrator if any (lab.qnetd)."""
    c = settings.cluster
    arbitrator = f", arbitrator {settings.qdevice.ip} (qdevice)" if settings.qdevice else ""
    return (f"`{profile}`: token {c.token_ms} ms, priority-fencing-delay {settings.policy.priority_fencing_delay_s} s, "
            f"stonith-timeout {c.stonith_timeout_s} s{arbitrator}")
