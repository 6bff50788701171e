"""How one batch process works through a journal: claims under a lease, a heartbeat, and the
gateway budget shared with the other workers.

A worker claims up to ``concurrency`` jobs at a time (``journal.claim``), renews their leases
every third of the lease (``journal.heartbeat``), and lets go of each job when it is done with it.
Jobs whose lease ran out are taken over: a ``submitted`` one is polled and downloaded, a
``submitting`` one becomes ``unknown`` (``journal.recover``), and on a gateway that takes an
idempotency key it goes back to ``pending`` with the same key when ``resubmit_unknown`` is set.
Every journal write after a claim checks the owner as well as the state, so a worker that was
paused past its lease (SIGSTOP, a frozen database, a starved machine) finds out before its next
submit, download or placed file, and stops work on that job. The worker stops when no job is
left to do: none pending, and none submitting or submitted that it has not already tried in this
run (it waits for other workers' leases while they hold some).

The budget: before each API request (the ones carrying the API key) the ``Paced`` transport books
a moment with ``journal.reserve_request`` and sleeps until then (a submit's moment is booked and
waited for before its job is marked ``submitting``: ``Paced.book``, ``booked``); before each
submit ``take_slot`` waits for one of the batch's in-flight slots. Both go through the journal,
so all workers on one PostgreSQL journal share one rate and one cap. 429 replies are still
retried by the client with their Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from vidgate.batch.journal import Job
from vidgate.errors import JournalError

__all__ = ["NotSent", "Paced", "booked", "pause", "take_slot", "work", "worker_id"]

Sleep = Callable[[float], Awaitable[None]]
IDLE_POLL_S = 1.0  # how often an idle worker looks for jobs other workers hold
MAX_REBOOKINGS = 10  # a request late for this many booked moments in a row goes out anyway


def worker_id() -> str:
    """host:pid-random, unique even for containers that all run as pid 1."""
    return f"{socket.gethostname()}:{os.getpid()}-{secrets.token_hex(2)}"


class NotSent(Exception):
    """A submit was stopped while it waited for a new moment (its booked one had passed):
    nothing of it reached the gateway, so its job may go back to ``pending``."""


@dataclass
class _Turn:
    due: float | None  # booked before the job was marked `submitting`; used once
    stop: asyncio.Event | None
    still_mine: Callable[[], bool] | None = None  # asked again after any wait, before sending
    sent: bool = False  # a first attempt went out: from then on it may have reached the gateway


_BOOKED: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar("vidgate_turn", default=None)


@contextlib.contextmanager
def booked(
    due: float | None,
    stop: asyncio.Event | None = None,
    still_mine: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """The first paced request made inside (the submit) goes out at ``due`` (a moment booked
    with ``Paced.book``) instead of booking and waiting for one of its own. If that moment has
    passed and a new one must be waited for, ``stop`` ends the wait with ``NotSent``, and so
    does ``still_mine`` returning False after it (the worker slept past its lease and another
    took the job over)."""
    token = _BOOKED.set(_Turn(due, stop, still_mine))
    try:
        yield
    finally:
        _BOOKED.reset(token)


async def pause(sleep: Sleep, seconds: float, stop: asyncio.Event) -> bool:
    """Sleep, cut short by ``stop``; False if ``stop`` was set (before or during)."""
    if stop.is_set():
        return False
    sleeping = asyncio.ensure_future(sleep(seconds))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({sleeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeping.cancel()
        stopping.cancel()
    return not stop.is_set()


class _Late(Exception):
    """A paced request's moment had passed before its first byte went out."""


class Paced(httpx.AsyncBaseTransport):
    """Waits for the journal's next free request moment before each authenticated request.

    A request must start on time, not only wake on time: between the wake-up and the first byte
    on the wire lie the connection pool, a new connection, the event loop's other work (a first
    request in a busy process waited 0.15-0.5 s there in ``make scale``). So the lateness is
    checked twice: at the wake-up, and through httpx's ``trace`` extension just before the request
    headers are written. A late request books a new moment; nothing of it has reached the
    gateway yet, so sending it again is safe. Either way, any one second holds at most rate + 1.5
    requests' starts (transports without ``trace`` support, such as the in-process mock, get the
    first check only)."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, journal: Any, per_second: float, sleep: Sleep
    ) -> None:
        self.inner, self.journal, self.per_second, self.sleep = inner, journal, per_second, sleep
        self.late_ok = 0.5 / per_second
        self.rebooked = 0  # requests booked again because they would have gone out late

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "authorization" not in request.headers:  # result files are fetched without the key
            return await self.inner.handle_async_request(request)
        outer = request.extensions.get("trace")
        turn = _BOOKED.get()
        for attempt in range(MAX_REBOOKINGS):
            if turn is not None and turn.due is not None:
                due, turn.due = turn.due, None
            else:  # a submit nothing of which has gone out yet may still be called off
                unsent = turn if turn is not None and not turn.sent else None
                due = await self.wait_turn(unsent.stop if unsent else None)
                if unsent is not None and unsent.still_mine and not unsent.still_mine():
                    raise NotSent
            refuse_late = attempt < MAX_REBOOKINGS - 1  # the last try goes out regardless
            if refuse_late and time.monotonic() - due > self.late_ok:
                self.rebooked += 1  # woke up late (stalled, or starved of CPU)
                continue
            request.extensions = {
                **request.extensions,
                "trace": self._guard(outer, due, refuse_late),
            }
            was_sent = turn is not None and turn.sent
            if turn is not None:
                turn.sent = True
            try:
                return await self.inner.handle_async_request(request)
            except _Late:  # refused before its headers were written: nothing went out
                if turn is not None:
                    turn.sent = was_sent
                self.rebooked += 1
        raise AssertionError("unreachable: the last attempt is never refused")  # pragma: no cover

    def _guard(self, outer: Any, due: float, refuse_late: bool) -> Callable[..., Awaitable[None]]:
        """httpx trace callback: raise ``_Late`` as the headers are about to be written late."""

        async def trace(name: str, info: dict[str, Any]) -> None:
            if outer is not None:
                await outer(name, info)
            late = time.monotonic() - due > self.late_ok
            if refuse_late and late and name.endswith("send_request_headers.started"):
                raise _Late

        return trace

    async def wait_turn(self, stop: asyncio.Event | None = None) -> float:
        """Book the next moment in the journal, sleep until it and return it (on the
        ``time.monotonic`` clock); ``stop`` ends the sleep with ``NotSent``."""
        delay = float(self.journal.reserve_request(self.per_second))
        due = time.monotonic() + delay
        if stop is not None:
            if not await pause(self.sleep, delay, stop):
                raise NotSent
        elif delay > 0:
            await self.sleep(delay)
        return due

    async def book(self, stop: asyncio.Event) -> float | None:
        """Book a moment and wait for it, before the job is marked (``booked`` hands it to the
        submit); None if ``stop`` was set first."""
        delay = float(self.journal.reserve_request(self.per_second))
        due = time.monotonic() + delay
        if delay > 0 and not await pause(self.sleep, delay, stop):
            return None
        return None if stop.is_set() else due

    async def aclose(self) -> None:
        await self.inner.aclose()


async def take_slot(
    journal: Any, line: int, cap: int, sleep: Sleep, lock: asyncio.Lock, stop: asyncio.Event
) -> bool:
    """Wait until the job holds one of the batch's ``cap`` in-flight slots (one waiter per
    process asks the journal, every 0.1-0.5 s); False if ``stop`` was set first."""
    delay = 0.1
    async with lock:
        while not stop.is_set():
            if journal.take_slot(line, cap):
                return True
            await sleep(delay)
            delay = min(0.5, delay * 1.5)
    return False


async def work(
    journal: Any,
    run: Callable[[Job], Awaitable[None]],
    *,
    owner: str,
    concurrency: int,
    lease_s: float,
    stop: asyncio.Event,
    sleep: Sleep = asyncio.sleep,
    after_recover: Callable[[list[int]], None] | None = None,
    taken: set[int] | None = None,
) -> None:
    """Claim and run jobs until none is left for this worker (or ``stop`` is set). ``run`` adds
    to ``taken`` the lines it found another worker holds: those are not this worker's failures,
    so it may take them over again (if that worker stops in turn)."""
    taken = set() if taken is None else taken
    held: dict[asyncio.Task[None], int] = {}
    tried: set[int] = set()  # lines this worker let go of unfinished: not claimed again this run

    async def one(job: Job) -> None:
        try:
            await run(job)
        finally:
            journal.release(job.line, owner)
            after = journal.job(job.line)
            if job.line in taken:
                taken.discard(job.line)
            elif after is not None and after.state in ("pending", "submitted"):
                tried.add(job.line)

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            with contextlib.suppress(JournalError):  # the database may be back at the next beat
                journal.heartbeat(owner, lease_s)  # (meanwhile others may take jobs over: the
                # compare-and-set transitions still keep each submit to one worker)

    beating = asyncio.create_task(heartbeat())
    try:
        while True:
            free = max(0, concurrency - len(held))
            if free and not stop.is_set():  # stopping: the jobs in hand finish, no new ones
                recovered = journal.recover_expired()
                if recovered and after_recover:
                    after_recover(recovered)
                skip = sorted(tried | set(held.values()))  # a job in hand is never claimed twice
                for job in journal.claim(owner, free, lease_s, skip):
                    held[asyncio.create_task(one(job))] = job.line
            if held:
                done, _ = await asyncio.wait(
                    held, timeout=lease_s / 3, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    del held[task]
                    task.result()  # a journal failure stops the worker
                continue
            if stop.is_set():
                break
            remaining, next_expiry = journal.open_jobs(sorted(tried))
            if not remaining:
                break
            # other workers hold the rest: look again soon (they may finish, or stop and let
            # their leases run out)
            await sleep(min(IDLE_POLL_S, lease_s / 3, (next_expiry or 0) + 0.05))
    finally:
        beating.cancel()
        if held:
            for task in held:
                task.cancel()
            await asyncio.gather(*held, return_exceptions=True)
