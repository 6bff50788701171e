"""Crash test: kill `vidgate batch` with SIGKILL at random moments, run it again, repeat; then
check that no job was lost, none was submitted twice, and every file is complete.

    python scripts/crash.py [--jobs 200] [--kills 20] [--gateway apimart|imini] [--seed 7]

The mock gateway runs as a real server on 127.0.0.1 (a free port) in this process, so its ledger
outlives the killed batch processes. Runs after a kill pass --resubmit-unknown on apimart (its
idempotency key makes that safe); on imini unknown jobs are left unknown and counted. Prints the
figures as JSON; exits 1 on any lost or duplicated job or incomplete file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from vidgate.batch.journal import Journal
from vidgate.gateways import gateway as entry
from vidgate.mock import DEFAULT_KEY, State, Timing, create_app, media

BODIES = {
    "imini": {"model": "kling/kling-v3", "duration": 3},
    "apimart": {"model": "happyhorse-1.0", "duration": 3},
}


def _server(state: State) -> tuple[Any, int]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    app = create_app(state, frozenset({DEFAULT_KEY}), server=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the mock server did not start")
        time.sleep(0.05)
    return server, port


def crash(jobs: int, kills: int, gateway: str, folder: Path, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    state = State(Timing())
    server, port = _server(state)
    jobs_file = folder / "jobs.jsonl"
    jobs_file.write_text(
        "\n".join(json.dumps({**BODIES[gateway], "prompt": f"crash job {i}"}) for i in range(jobs))
    )
    out = folder / "out"
    env = {**os.environ, entry(gateway).env_key: DEFAULT_KEY}
    base = f"http://127.0.0.1:{port}/{gateway}"
    cmd = [
        sys.executable,
        "-m",
        "vidgate",
        "batch",
        str(jobs_file),
        "--gateway",
        gateway,
        "--out",
        str(out),
        "--base-url",
        base,
        "--concurrency",
        "16",
        "--rate",
        "0",
    ]
    survived, runs = 0, 0
    try:
        while True:
            keyed = entry(gateway).idempotency_header is not None  # resubmits need a key
            extra = ["--resubmit-unknown"] if keyed and runs else []
            process = subprocess.Popen(
                [*cmd, *extra], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            runs += 1
            if survived < kills:
                try:
                    process.wait(timeout=rng.uniform(0.2, 2.0))
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    survived += 1
                    continue
            else:
                process.wait(timeout=600)
            journal = Journal(out)
            counts = journal.counts()
            journal.close()
            if not set(counts) & {"pending", "submitting", "submitted"}:
                break
            if runs > kills + 20:
                break
    finally:
        server.should_exit = True
    journal = Journal(out)
    jobs_seen = list(journal.jobs())
    served = media.video()
    incomplete = [
        j.line
        for j in jobs_seen
        if j.state == "downloaded" and (out / str(j.file)).read_bytes() != served
    ]
    lost = jobs - len([j for j in jobs_seen if j.state in ("downloaded", "failed", "unknown")])
    figures = {
        "gateway": gateway,
        "jobs": jobs,
        "kills_survived": survived,
        "runs": runs,
        "states": journal.counts(),
        "submitted": len(state.ledger),
        "duplicate_submissions": len(state.ledger.duplicates(lambda e: e.body["prompt"])),
        "lost": lost,
        "incomplete_files": len(incomplete),
    }
    journal.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--gateway", choices=sorted(BODIES), default="apimart")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vidgate-crash-") as tmp:
        figures = crash(args.jobs, args.kills, args.gateway, Path(tmp), args.seed)
    print(json.dumps(figures))
    bad = figures["lost"] or figures["duplicate_submissions"] or figures["incomplete_files"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
