"""When to poll a task next: one pure function of what is known about it.

The inputs are the seconds since the task started, the replies seen so far (progress 0-100 and
the gateway's own run-time estimate, where it sends them), the run times this machine has seen for
the same kind of task, and the spec's polling policy. The output is the number of seconds to sleep
before the next poll, or ``None`` when no further poll fits before the deadline.

Three regimes:

- **blind** (nothing known): the spec's schedule — the documented interval, growing by the
  backoff factor up to the cap, with jitter;
- **approach** (a finish is predicted): sleep a fixed fraction of the predicted remaining time, so
  each reply corrects the prediction, then poll at the predicted finish itself; progress seen
  slowing down (an S-curve's end) is predicted with the pace falling to zero at the finish;
- **overdue** (the predicted finish has passed): poll at a spacing proportional to the elapsed time
  (a few per cent of it), growing back to the blind schedule when the prediction was far off.

Invariants, whatever the inputs (tested with hypothesis): two polls are never closer than the
spec's interval, and no sleep goes past the deadline.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from vidgate.gateways import Polling

__all__ = ["Expected", "Reading", "Window", "blind_delay", "easing", "finish_window", "missed"]
__all__ += ["next_delay", "slowest"]

# vidgate's tuning (not gateway facts): chosen with `make bench` (bench/polling.py)
APPROACH = 0.7  # sleep this fraction of the predicted remaining time
UNTRUSTED_GROWTH = 1.0  # a progress-only prediction may at most double the elapsed time per sleep
TRUSTED_GROWTH = 9.0  # history or the gateway's estimate: at most ten-fold (they can be stale)
OVERDUE_SPACING = 0.04  # past the predicted finish, poll every 4 % of the elapsed time ...
OVERDUE_GROWTH = 0.5  # ... or half the time overdue, whichever is longer (up to the blind cap)
TIGHT = 0.1  # predictions agreeing within 10 %: poll at the predicted finish directly
MIN_SPREAD = 0.05  # run times of one kind of task vary at least this much
JUMP = 2.0  # a pace this many times the one before means the task just took off


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
        spread = max(spread, MIN_SPREAD * statistics.median(clean))
        return cls(max(0.0, clean[0] - spread), clean[-1] + spread)


@dataclass(frozen=True)
class Window:
    """Where the finish is predicted: ``low`` is the earliest plausible finish (seconds since the
    start); ``trusted`` is False for a prediction from progress alone (it may be far off)."""

    low: float
    high: float
    trusted: bool
    agreeing: bool = False  # several predictions, not one (a lone estimate may be far off)
    slowing: bool = False  # from a pace seen falling (see ``easing``)


def slowest(a: Reading, b: Reading) -> float:
    """The least pace (progress per second) that fits two replies' whole-number progress."""
    return max((b.progress or 0) - (a.progress or 0) - 1, 0) / (b.at - a.at)


def easing(a: Reading, b: Reading) -> float:
    """The finish if the pace falls evenly to zero there: the remaining progress then shrinks
    with the square of the remaining time (the middle of each whole-number progress is used)."""
    ratio = math.sqrt((99.5 - (a.progress or 0)) / (99.5 - (b.progress or 0)))
    return b.at + (b.at - a.at) / (ratio - 1)


def finish_window(
    elapsed: float, readings: Sequence[Reading], expected: Expected | None
) -> Window | None:
    """The predicted finish from progress and the gateway's estimate, else from history.

    From progress: the pace since the start, and the pace since the last reply showing less
    progress; when that pace jumped (the task was stalled, then took off), also the pace as if
    all of the latest progress happened in the second half of the gap (an early bound); when
    it slowed down for certain, the finish where a pace falling evenly would reach zero.
    """
    lows: list[float] = []
    highs: list[float] = []
    slowing = False
    moving = [r for r in readings if r.progress is not None and r.at > 0]
    last = moving[-1] if moving else None
    if last is not None and last.progress is not None and 0 < last.progress < 100:
        # progress is a whole number: the true value lies in [p, p + 1)
        p = last.progress
        lows.append(last.at * 100 / (p + 1))
        highs.append(last.at * 100 / p)
        lower = [r for r in moving if r.progress is not None and r.progress < p]
        if lower and lower[-1].progress is not None and last.at > lower[-1].at:
            prev = lower[-1]
            assert prev.progress is not None
            gap = last.at - prev.at
            fast = (p + 1 - prev.progress) / gap
            slow = max(p - prev.progress - 1, 0.5) / gap
            lows.append(last.at + max(99 - p, 0) / fast)
            highs.append(last.at + (100 - p) / slow)
            before = [r for r in lower if r.at < prev.at]
            earlier = (
                (prev.progress + 1 - (before[-1].progress or 0)) / (prev.at - before[-1].at)
                if before
                else (prev.progress + 1) / prev.at
            )
            if fast > JUMP * earlier:
                lows.append(last.at + max(99 - p, 0) / (2 * fast))
            elif before and fast < slowest(before[-1], prev):
                # slowing down for certain: the paces so far predict too early a finish;
                # predict with the pace falling evenly to zero at the finish instead
                lows, highs, slowing = [easing(prev, last)], [easing(prev, last)], True
    estimates = [r.estimate for r in readings[-3:] if r.estimate and r.estimate > 0]
    eta = statistics.median(estimates) if estimates else None
    if eta is not None and eta > elapsed:
        lows.append(eta)
        highs.append(eta)
    if lows:
        trusted = eta is not None and eta > elapsed
        agreeing = len(lows) > 1
        return Window(min(lows), max(highs), trusted, agreeing, slowing and not trusted)
    if expected is not None and readings:  # one reply first: a task refused at once shows early
        return Window(expected.low, expected.high, trusted=True, agreeing=True)
    return None


def missed(readings: Sequence[Reading], expected: Expected | None) -> float | None:
    """When the task was last predicted to finish, if a later reply showed it still running."""
    for k in range(len(readings) - 1, 0, -1):
        before = finish_window(readings[k - 1].at, readings[:k], expected)
        if before is not None and before.low <= readings[k].at:
            return before.low
    return None


def blind_delay(policy: Polling, step: int, jitter: float = 0.0) -> float:
    """The spec's schedule: the ``step``-th sleep (0-based) grows from the documented interval
    by the backoff factor to the cap; ``jitter`` in [-1, 1] scales the spec's jitter. The caller
    keeps it from bringing two requests closer than the interval (a first poll after the submit
    may come sooner: the submit is not a poll)."""
    delay = min(policy.max_interval_s, policy.interval_s * policy.backoff_factor ** max(0, step))
    return float(delay * (1 + policy.jitter * max(-1.0, min(1.0, jitter))))


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
            tight = window.agreeing and window.high - window.low <= TIGHT * window.low
            last_step = window.slowing and APPROACH * ahead < near
            informed = ahead * (1.0 if tight or last_step else APPROACH)
            growth = TRUSTED_GROWTH if window.trusted else UNTRUSTED_GROWTH
            informed = min(informed, max(interval, growth * elapsed))
            delay = max(informed, near)
        elif ahead > 0:
            # poll at the predicted finish itself, unless an earlier prediction already failed
            # (the pace is slowing down): then at the overdue spacing
            delay = ahead if missed(readings, expected) is None else near
        else:  # overdue
            delay = max(near, min(OVERDUE_GROWTH * (elapsed - window.low), delay))
    floor = max(0.0, interval - since_poll) if since_poll is not None else 0.0
    delay = max(delay, floor)
    if remaining is not None:
        if remaining < floor:
            return None
        delay = min(delay, max(remaining, 0.0))
    return float(delay)
