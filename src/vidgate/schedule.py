"""When to poll a task next: one pure function of what is known about it.

The inputs are the seconds since the task started, the replies seen so far (progress 0-100 and
the gateway's own run-time estimate, where it sends them), the run times this machine has seen for
the same kind of task, and the spec's polling policy. The output is the number of seconds to sleep
before the next poll, or ``None`` when no further poll fits before the deadline.

Three regimes:

- **blind** (nothing known): the spec's schedule — the documented interval, growing by the
  backoff factor up to the cap, with jitter;
- **approach** (a finish is predicted): sleep a fixed fraction of the predicted remaining time, so
  each reply corrects the prediction, then poll at the predicted finish itself;
- **overdue** (the predicted finish has passed): poll at a spacing proportional to the elapsed time
  (a few per cent of it), growing back to the blind schedule when the prediction was far off.

Invariants, whatever the inputs (tested with hypothesis): two polls are never closer than the
spec's interval, and no sleep goes past the deadline.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from vidgate.gateways import Polling

__all__ = ["Expected", "Reading", "blind_delay", "finish_window", "next_delay"]

# vidgate's tuning (not gateway facts): chosen with `make bench` (bench/polling.py)
APPROACH = 0.7  # sleep this fraction of the predicted remaining time
UNTRUSTED_GROWTH = 1.0  # a progress-only prediction may at most double the elapsed time per sleep
OVERDUE_SPACING = 0.04  # past the predicted finish, poll every 4 % of the elapsed time ...
OVERDUE_GROWTH = 0.5  # ... or half the time overdue, whichever is longer (up to the blind cap)


@dataclass(frozen=True)
class Reading:
    """One task reply: when (seconds since the task started) and what it said."""

    at: float
    progress: int | None = None  # 0-100
    estimate: float | None = None  # the gateway's estimate of the whole run time, seconds


@dataclass(frozen=True)
class Expected:
    """Run times of earlier tasks of the same kind: the earliest and latest plausible finish."""

    low: float
    high: float

    @classmethod
    def from_samples(cls, samples: Sequence[float]) -> Expected | None:
        """The range of past run times, widened by their spread (None without samples)."""
        clean = sorted(s for s in samples if s > 0)
        if not clean:
            return None
        spread = statistics.pstdev(clean) if len(clean) > 1 else 0.0
        return cls(max(0.0, clean[0] - spread), clean[-1] + spread)


@dataclass(frozen=True)
class Window:
    """Where the finish is predicted: ``low`` is the earliest plausible finish (seconds since the
    start); ``trusted`` is False for a prediction from progress alone (it may be far off)."""

    low: float
    high: float
    trusted: bool


def finish_window(
    elapsed: float, readings: Sequence[Reading], expected: Expected | None
) -> Window | None:
    """The predicted finish from progress, the gateway's estimate, or history, in that order."""
    lows: list[float] = []
    highs: list[float] = []
    with_progress = [r for r in readings if r.progress is not None and r.at > 0]
    last = with_progress[-1] if with_progress else None
    if last is not None and last.progress is not None and 0 < last.progress < 100:
        p = last.progress
        from_start = last.at * 100 / p
        lows.append(from_start)
        highs.append(from_start)
        earlier = next(
            (r for r in reversed(with_progress) if r.progress is not None and r.progress < p),
            None,
        )
        if earlier is not None and earlier.progress is not None and last.at > earlier.at:
            rate = (p - earlier.progress) / (last.at - earlier.at)
            local = last.at + (100 - p) / rate
            lows.append(local)
            highs.append(local)
    estimates = [r.estimate for r in readings[-3:] if r.estimate and r.estimate > 0]
    eta = statistics.median(estimates) if estimates else None
    if eta is not None and eta > elapsed:
        lows.append(eta)
        highs.append(eta)
    if lows:
        return Window(min(lows), max(highs), trusted=eta is not None and eta > elapsed)
    if expected is not None and readings:  # one reply first: a task refused at once shows early
        return Window(expected.low, expected.high, trusted=True)
    return None


def blind_delay(policy: Polling, step: int, jitter: float = 0.0) -> float:
    """The spec's schedule: the ``step``-th sleep (0-based) grows from the documented interval
    by the backoff factor to the cap; ``jitter`` in [-1, 1] scales the spec's jitter. Never below
    the documented interval."""
    delay = min(policy.max_interval_s, policy.interval_s * policy.backoff_factor ** max(0, step))
    return float(max(policy.interval_s, delay * (1 + policy.jitter * max(-1.0, min(1.0, jitter)))))


def next_delay(
    policy: Polling,
    *,
    elapsed: float,
    since_poll: float | None,
    step: int,
    readings: Sequence[Reading] = (),
    expected: Expected | None = None,
    remaining: float | None = None,
    jitter: float = 0.0,
) -> float | None:
    """Seconds to sleep before the next poll, or None when no poll fits before the deadline.

    ``elapsed``: seconds since the task started; ``since_poll``: seconds since the last poll was
    sent (None if there was none); ``step``: sleeps already taken in this wait; ``remaining``:
    seconds left before the wait's deadline (None: no deadline).
    """
    interval = policy.interval_s
    window = finish_window(elapsed, readings, expected)
    delay = blind_delay(policy, step, jitter)
    if window is not None:
        near = max(interval, OVERDUE_SPACING * elapsed)
        ahead = window.low - elapsed
        if ahead > near:
            informed = ahead * APPROACH
            if not window.trusted:
                informed = min(informed, max(interval, UNTRUSTED_GROWTH * elapsed))
            delay = max(informed, near)
        elif ahead > 0:
            delay = ahead  # poll at the predicted finish itself
        else:
            overdue = elapsed - max(window.low, 0.0)
            delay = max(near, min(OVERDUE_GROWTH * overdue, delay))
    floor = max(0.0, interval - since_poll) if since_poll is not None else 0.0
    delay = max(delay, floor)
    if remaining is not None:
        if remaining < floor:
            return None
        delay = min(delay, max(remaining, 0.0))
    return float(delay)
