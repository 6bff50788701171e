"""The mock's memory: tasks with a clock-driven lifecycle, a ledger of accepted submissions, and
the faults to inject.

A task's status is computed from the clock when it is read (no background work): it is queued for
``timing.queue_s``, then processing for ``timing.run_s`` with a rising progress, then ends as its
outcome says. Outcomes are scripted by tokens in the prompt:

    [mock:fail]            the task fails (content review refused it)
    [mock:fail=CODE]       the task fails with that error code
    [mock:cancel]          the task ends cancelled (apimart; imini has no such status)
    [mock:reject]          the submit itself is refused with 400 (imini: INVALID_PROMPT)
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
import uuid
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vidgate.gateways import gateway as gateway_entry

__all__ = ["Fault", "Faults", "Ledger", "MockTask", "RequestLog", "State", "Timing"]

TOKEN = re.compile(r"\[mock:(fail|cancel|reject)(?:=([A-Za-z0-9_.-]+))?\]")


@dataclass(frozen=True)
class Timing:
    """Seconds a task spends queued and then processing (0, 0: done at the first query)."""

    queue_s: float = 0.0
    """Seconds from the submit until the task starts processing."""
    run_s: float = 0.0
    """Seconds of processing, with progress rising from 0, until the task ends."""


@dataclass(slots=True)
class MockTask:
    """One task the mock accepted; its status is worked out from the clock when read."""

    id: str
    """The task id, in the gateway's own format."""
    gateway: str
    """The gateway it was submitted to ("imini" or "apimart")."""
    model: str
    """The model the body named."""
    mode: str
    """The input mode the body routed to, as validation named it."""
    body: dict[str, Any]
    """The submitted body."""
    created: float
    """Clock reading at the submit, in seconds."""
    outcome: str
    """How the task ends: "succeeded", "failed" or "cancelled" (from the prompt's tokens)."""
    error_code: str | None = None
    """The error code a ``[mock:fail=CODE]`` prompt asked for; None for the default."""
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    """The request id the mock reports for the task (a random UUID)."""
    version: str | None = None
    """The reply version the submit asked for, where the gateway has versions; None: the shape
    of the gateway's pages."""


@dataclass(frozen=True, slots=True)
class Submission:
    """One accepted submit, as the ledger records it (an idempotent replay adds none)."""

    gateway: str
    """The gateway it was submitted to ("imini" or "apimart")."""
    task_id: str
    """The id of the task it created."""
    idempotency_key: str | None
    """The idempotency key the submit carried, or None."""
    body: dict[str, Any]
    """The submitted body."""
    at: float
    """Clock reading when it was accepted, in seconds."""


class Ledger:
    """Every accepted submission, in order (what a real gateway would bill)."""

    def __init__(self) -> None:
        self.entries: list[Submission] = []
        """The accepted submissions, oldest first."""

    def __len__(self) -> int:
        """The number of accepted submissions."""
        return len(self.entries)

    def keys(self) -> list[str | None]:
        """The idempotency key of each submission in order (None where it had none)."""
        return [e.idempotency_key for e in self.entries]

    def duplicates(self, key: Callable[[Submission], Any]) -> dict[Any, int]:
        """Groups of submissions sharing ``key(entry)`` more than once (e.g. the same prompt)."""
        counts: dict[Any, int] = {}
        for entry in self.entries:
            counts[key(entry)] = counts.get(key(entry), 0) + 1
        return {k: n for k, n in counts.items() if n > 1}


class RequestLog:
    """(time, route) of the latest ``maxlen`` requests, oldest first: the times in a ring of
    C doubles and the routes as one byte each (a few bytes per request, where a deque of tuples
    takes about 80)."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self.maxlen = maxlen
        self._times = array("d")
        self._routes = bytearray()
        self._names: list[str] = []  # route names by code (a handful: submit, task, file)
        self._start = 0  # index of the oldest entry once the ring is full
        self._lock = threading.Lock()

    def append(self, entry: tuple[float, str]) -> None:
        """Record one request: (time, route); past ``maxlen`` the oldest goes."""
        at, route = entry
        with self._lock:
            if route not in self._names:
                self._names.append(route)
            code = self._names.index(route)
            if len(self._times) < self.maxlen:
                self._times.append(at)
                self._routes.append(code)
            else:
                self._times[self._start] = at
                self._routes[self._start] = code
                self._start = (self._start + 1) % self.maxlen

    def __len__(self) -> int:
        """How many requests are kept (at most ``maxlen``)."""
        return len(self._times)

    def __iter__(self) -> Iterator[tuple[float, str]]:
        """The kept (time, route) pairs, oldest first (a copy: appends do not disturb it)."""
        with self._lock:
            times, routes, start, names = self._times, self._routes, self._start, self._names
            order = [*range(start, len(times)), *range(start)]
            entries = [(times[i], names[routes[i]]) for i in order]
        return iter(entries)


@dataclass(frozen=True)
class Fault:
    """One injected failure: an HTTP status (429 with Retry-After in seconds, as a date, or
    without it; 408; 500; 502), a delay, a dropped
    connection (``drop`` before or after the request is processed), a malformed body, or a
    body that drips out over ``delay_s`` seconds (``drip``)."""

    kind: str  # one of KINDS
    """Which failure: one of ``KINDS``; any other raises ValueError when the Fault is made."""
    retry_after: float = 1.0
    """Seconds the ``429`` and ``429-date`` kinds announce in Retry-After."""
    delay_s: float = 2.0
    """Seconds a ``slow`` reply waits before answering, or a ``drip`` body takes to arrive."""

    KINDS = (
        "429",  # with Retry-After: retry_after seconds
        "429-bare",  # without Retry-After
        "429-date",  # with Retry-After as an HTTP-date retry_after seconds ahead
        "408",
        "500",
        "502",
        "slow",
        "drop-before",
        "drop-after",
        "malformed",
        "drip",
    )
    """The fault kinds: HTTP statuses (``429`` with Retry-After in seconds, ``429-bare``
    without it, ``429-date`` with it as an HTTP-date, ``408``, ``500``, ``502``), ``slow``,
    ``drop-before``/``drop-after`` (the connection drops before or after the request takes
    effect), ``malformed`` (a truncated JSON body) and ``drip``."""

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {', '.join(self.KINDS)}")


class Faults:
    """Faults per route ("submit", "task", "file"): scripted sequences first, then chances."""

    def __init__(self, seed: int = 0) -> None:
        self._scripts: dict[str, list[Fault | None]] = {}
        self._chances: dict[str, list[tuple[float, Fault]]] = {}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}
        """How many faults of each kind were injected so far, by kind."""

    def script(self, route: str, *faults: Fault | str | None) -> None:
        """The next requests on ``route`` get these faults in order (None: no fault)."""
        items = [Fault(f) if isinstance(f, str) else f for f in faults]
        self._scripts.setdefault(route, []).extend(items)

    def chance(self, route: str, probability: float, fault: Fault | str) -> None:
        """Each request on ``route`` gets ``fault`` with this probability."""
        self._chances.setdefault(route, []).append(
            (probability, Fault(fault) if isinstance(fault, str) else fault)
        )

    def next(self, route: str) -> Fault | None:
        """The fault for the request now arriving on ``route`` (the next scripted one, else a
        roll of the chances), counted in ``injected``; None for no fault."""
        with self._lock:
            script = self._scripts.get(route)
            if script:
                fault = script.pop(0)
            else:
                fault = None
                roll = self._rng.random()
                for probability, candidate in self._chances.get(route, []):
                    if roll < probability:
                        fault = candidate
                        break
                    roll -= probability
            if fault is not None:
                self.injected[fault.kind] = self.injected.get(fault.kind, 0) + 1
            return fault

    def clear(self) -> None:
        """Drop every scripted fault and chance (``injected`` keeps its counts)."""
        with self._lock:
            self._scripts.clear()
            self._chances.clear()


class State:
    """Tasks, ledger, faults and clock of one mock gateway process."""

    def __init__(
        self,
        timing: Timing | None = None,
        clock: Callable[[], float] | None = None,
        seed: int = 0,
        max_in_flight: int | None = None,
    ) -> None:
        self.timing = timing or Timing()
        """How long each task stays queued, then processing."""
        self.max_in_flight = max_in_flight
        """The most unfinished tasks at a time: a new submit beyond it gets a 429 (None: no
        cap)."""
        self.requests = RequestLog(maxlen=100_000)
        """(clock reading, route) of the latest requests received (up to the log's ``maxlen``),
        oldest first."""
        self.clock = clock or time.time
        """The time source, in seconds."""
        self.tasks: dict[str, MockTask] = {}
        """Every task by id."""
        self.ledger = Ledger()
        """The accepted submissions, in order."""
        self.faults = Faults(seed)
        """The faults to inject, per route."""
        self.idempotent: dict[tuple[str, str], str] = {}
        """Task id by (gateway, idempotency key): a repeated key gets the same task back."""
        self.in_progress: set[tuple[str, str]] = set()
        """(gateway, idempotency key) of the keyed submits being handled right now."""
        self._ids = itertools.count(2044275355061448704)
        self._lock = threading.Lock()

    def begin(self, gateway: str, key: str) -> bool:
        """Mark a keyed submit as being handled; False if one with that key already is."""
        with self._lock:
            if (gateway, key) in self.in_progress:
                return False
            self.in_progress.add((gateway, key))
            return True

    def end(self, gateway: str, key: str) -> None:
        """Mark the keyed submit as handled (the counterpart of ``begin``)."""
        with self._lock:
            self.in_progress.discard((gateway, key))

    def new_task(
        self,
        gateway: str,
        model: str,
        mode: str,
        body: dict[str, Any],
        key: str | None,
        version: str | None = None,
    ) -> tuple[MockTask, bool]:
        """The task for an accepted submit, and whether it is new (False: idempotent replay)."""
        with self._lock:
            if key is not None and (gateway, key) in self.idempotent:
                return self.tasks[self.idempotent[(gateway, key)]], False
            number = next(self._ids)
            task_id = gateway_entry(gateway).mock_task_id.format(number=number)
            outcome, code = _outcome(str(body.get("prompt", "")))
            task = MockTask(
                task_id, gateway, model, mode, body, self.clock(), outcome, code, version=version
            )
            self.tasks[task_id] = task
            if key is not None:
                self.idempotent[(gateway, key)] = task_id
            self.ledger.entries.append(Submission(gateway, task_id, key, body, task.created))
            return task, True

    def in_flight(self) -> int:
        """Tasks submitted and not yet finished at the current clock."""
        now = self.clock()
        with self._lock:
            return sum(1 for task in self.tasks.values() if self.completed_at(task) > now)

    def phase(self, task: MockTask) -> tuple[str, int]:
        """("queued" | "processing" | "done", progress 0-100) at the current clock."""
        elapsed = self.clock() - task.created
        if elapsed < self.timing.queue_s:
            return "queued", 0
        running = elapsed - self.timing.queue_s
        if running < self.timing.run_s:
            return "processing", min(99, int(100 * running / self.timing.run_s))
        return "done", 100

    def completed_at(self, task: MockTask) -> float:
        """The clock reading at which ``task`` ends (submit time + queue_s + run_s)."""
        return task.created + self.timing.queue_s + self.timing.run_s


def _outcome(prompt: str) -> tuple[str, str | None]:
    for word, value in TOKEN.findall(prompt):
        if word == "fail":
            return "failed", value or None
        if word == "cancel":
            return "cancelled", None
    return "succeeded", None


def rejected(prompt: Any) -> bool:
    return isinstance(prompt, str) and any(w == "reject" for w, _ in TOKEN.findall(prompt))
