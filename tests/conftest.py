from __future__ import annotations

from functools import cache

from referee import Referee

from vidgate import spec


@cache
def referee(gateway: spec.Gateway) -> Referee:
    """One referee per gateway for the whole run (building the registry is the slow part)."""
    return Referee(gateway)
