"""Soak test: a batch of N jobs through the in-process mock with ~20 % of responses faulted.

    python scripts/soak.py [--jobs 1000] [--gateway apimart|imini] [--fault-rate 0.2]

Faults (429 with Retry-After, 500, 502, dropped connections before and after processing, slow
replies, malformed bodies, bodies that drip out within and past the client's deadline) are
spread over the submit, task and file routes. Prints the figures: jobs per final
state, faults injected, duplicate submissions in the ledger, files that differ from the served
bytes. Exits 1 if any job is lost (not finished and without a recorded error), any submission is
duplicated, or any file differs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vidgate.batch import BatchOptions, run_batch
from vidgate.batch.journal import Journal
from vidgate.mock import Fault, MockGateway, media

BODIES = {
    "imini": {"model": "kling/kling-v3", "duration": 3},
    "apimart": {"model": "happyhorse-1.0", "duration": 3},
}
KINDS = ("429", "500", "502", "drop-before", "drop-after", "slow", "malformed", "drip", "drip-long")
TIMEOUT_S = 2.0  # the client's deadline per exchange; a drip-long reply takes longer


async def _no_sleep(seconds: float) -> None:
    return None


async def soak(
    jobs: int, gateway: str, fault_rate: float, folder: Path, seed: int = 1
) -> dict[str, Any]:
    jobs_file = folder / "jobs.jsonl"
    jobs_file.write_text(
        "\n".join(json.dumps({**BODIES[gateway], "prompt": f"soak job {i}"}) for i in range(jobs))
    )
    out = folder / "out"
    start = time.perf_counter()
    with MockGateway(seed=seed) as mock:
        for route in ("submit", "task", "file"):
            for kind in KINDS:
                if kind == "malformed" and route == "file":
                    continue  # a media file has no shape to break: a 200 body is the file
                delay = {"drip": 0.05, "drip-long": 1.5 * TIMEOUT_S}.get(kind, 0.01)
                fault = Fault(kind.removesuffix("-long"), retry_after=0.01, delay_s=delay)
                mock.faults.chance(route, fault_rate / len(KINDS), fault)
        client = mock.async_client(gateway, sleep=_no_sleep, max_retries=8, timeout=TIMEOUT_S)
        counts = await run_batch(
            jobs_file,
            BatchOptions(
                gateway,
                out,
                concurrency=32,
                rate=0,
                client=client,
                sleep=_no_sleep,
            ),
        )
        await client.aclose()
        duplicates = mock.ledger.duplicates(lambda e: e.body["prompt"])
        submitted = len(mock.ledger)
        injected = dict(mock.faults.injected)
    journal = Journal(out)
    lost = [
        j.line
        for j in journal.jobs()
        if j.state not in ("downloaded", "failed", "unknown")
        or (j.state != "downloaded" and not j.error)
    ]
    served = media.video()
    differ = [
        j.line for j in journal.jobs("downloaded") if (out / str(j.file)).read_bytes() != served
    ]
    journal.close()
    return {
        "gateway": gateway,
        "jobs": jobs,
        "states": counts,
        "submitted": submitted,
        "faults_injected": injected,
        "faults_total": sum(injected.values()),
        "duplicate_submissions": len(duplicates),
        "lost": len(lost),
        "files_differing": len(differ),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument(
        "--gateway", choices=sorted(BODIES), default=None, help="default: both, one after the other"
    )
    parser.add_argument("--fault-rate", type=float, default=0.2)
    args = parser.parse_args(argv)
    ok = True
    for gateway in [args.gateway] if args.gateway else sorted(BODIES):
        with tempfile.TemporaryDirectory(prefix="vidgate-soak-") as tmp:
            figures = asyncio.run(soak(args.jobs, gateway, args.fault_rate, Path(tmp)))
        print(json.dumps(figures))
        ok &= not (
            figures["lost"] or figures["duplicate_submissions"] or figures["files_differing"]
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
