"""Concurrency: N tasks submitted and waited on at once with the async client against the
in-process mock (instant tasks), against asyncio + raw httpx sending the same requests to the same
app and keeping each parsed task reply (as the client's gather keeps its tasks). Each variant runs
in its own process. Memory per task is the peak of Python allocations (tracemalloc) during a second
run, divided by the number of tasks. The "floor" variant is raw httpx keeping nothing: what the
in-process mock (its tasks, ledger and request handling), asyncio's tasks and httpx's exchanges
cost on their own, so that what a client adds per task can be read beside the total.

    python bench/concurrency.py vidgate|raw|floor N   # prints seconds, RSS, traced peak as JSON
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

BODY = {"model": "kling/kling-v3", "prompt": "an orange cat", "duration": 5}


def _rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _ours(n: int) -> None:
    from vidgate.mock import MockGateway

    async def no_sleep(seconds: float) -> None:
        return None

    with MockGateway() as mock:
        client = mock.async_client("imini", sleep=no_sleep)
        tasks = await asyncio.gather(*(client.generate_and_wait(BODY) for _ in range(n)))
        assert all(t.succeeded for t in tasks)
        await client.aclose()


async def _floor(n: int) -> None:
    await _raw(n, keep=False)


async def _raw(n: int, keep: bool = True) -> None:
    import httpx

    from vidgate.mock import DEFAULT_KEY, MockGateway

    with MockGateway() as mock:
        async with httpx.AsyncClient(
            base_url=mock.base_url("imini"),
            transport=mock.async_transport(),
            headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
        ) as http:

            async def one() -> Any:
                submitted = await http.post("/v1/videos/generate", json=BODY)
                task_id = submitted.json()["task_id"]
                reply = await http.get(f"/v1/videos/tasks/{task_id}")
                task = reply.json()
                assert task["status"] == "succeeded"
                return task if keep else None  # kept, as the client's gather keeps its tasks

            tasks = await asyncio.gather(*(one() for _ in range(n)))
            assert len(tasks) == n


def measure(variant: str, n: int) -> dict[str, Any]:
    # the run-time history is part of what a wait costs, but not in the user's cache folder
    import atexit
    import os
    import shutil
    import tempfile

    folder = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["VIDGATE_HISTORY"] = os.path.join(folder, "runtimes.sqlite")
    import vidgate.mock  # noqa: F401  (imports and media are not what is measured)
    from vidgate.mock import media

    media.video()
    run = {"vidgate": _ours, "raw": _raw, "floor": _floor}[variant]
    asyncio.run(run(1))  # one-time costs (compiling validators, loading modules) are not per task
    before = _rss_kib()
    start, cpu = time.perf_counter(), time.process_time()
    asyncio.run(run(n))
    seconds, peak = time.perf_counter() - start, _rss_kib()
    cpu = time.process_time() - cpu
    # memory: Python allocations traced over a second run (peak above the start, per task);
    # peak RSS moves in pages and often not at all once the warm-up has grown the heap
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    asyncio.run(run(n))
    traced = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_before": before,
        "rss_peak": peak,
        "traced_peak": traced,
    }


def bench_concurrency(quick: bool) -> list[dict[str, Any]]:
    from run import row

    n = 200 if quick else 1000
    here = Path(__file__)
    results: dict[str, dict[str, Any]] = {}
    per_task: dict[str, float] = {}
    # interleaved; the best CPU time of each (all of it is this process's: the mock is in-process),
    # which other jobs on a shared machine disturb far less than wall time
    for _ in range(2 if quick else 3):
        for variant in ("vidgate", "raw", "floor"):
            done = subprocess.run(
                [sys.executable, str(here), variant, str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            run = json.loads(done.stdout)
            kib = run["traced_peak"] / 1024 / n
            per_task[variant] = min(per_task.get(variant, kib), kib)
            if variant not in results or run["cpu_seconds"] < results[variant]["cpu_seconds"]:
                results[variant] = run
    ours, raw = results["vidgate"], results["raw"]
    return [
        row(
            f"{n} concurrent tasks: CPU time",
            ours["cpu_seconds"],
            raw["cpu_seconds"],
            "s",
            "<=1.2x raw asyncio+httpx",
        ),
        row(
            f"{n} concurrent tasks: wall time (of the best CPU runs)",
            ours["seconds"],
            raw["seconds"],
            "s",
            "<=1.2x raw asyncio+httpx (waits included: the run-time history's writes)",
        ),
        row(
            f"{n} concurrent tasks: memory per task",
            per_task["vidgate"],
            per_task["raw"],
            "KiB/task",
            "<=3 KiB/task (peak traced Python memory while all tasks are in flight / tasks)",
            rss_peak_mib=ours["rss_peak"] / 1024,
            baseline_rss_peak_mib=raw["rss_peak"] / 1024,
            floor_kib_per_task=per_task["floor"],
        ),
        row(
            f"{n} concurrent tasks: memory per task above the floor",
            per_task["vidgate"] - per_task["floor"],
            per_task["raw"] - per_task["floor"],
            "KiB/task",
            f"what the client adds to the floor of {per_task['floor']:.2f} KiB/task (the "
            "in-process mock, asyncio's tasks and httpx's exchanges, raw httpx keeping nothing)",
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
