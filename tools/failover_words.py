"""How the failover matrix words its facts: spans of members, time ranges, counts."""
from __future__ import annotations


def span(members: list[str]) -> str:
    return members[0] if len(members) == 1 else f"{members[0]} … {members[-1]}, {len(members)} members"


def seconds_range(earliest: float, latest: float) -> str:
    return f"{earliest:g} s" if earliest == latest else f"{earliest:g} to {latest:g} s"


def fence_phrase(node: str, earliest: float, latest: float) -> str:
    return f"fences {node} (after a {seconds_range(earliest, latest)} fencing delay)" if latest else f"fences {node} at once"


def ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def times(n: int) -> str:
    return "once" if n == 1 else f"{n} times in a row"
