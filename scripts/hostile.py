"""Hostile inputs: a scripted loopback server, bad bytes, racing processes, broken disks.

    python scripts/hostile.py [--quick] [--fuzz N]

Each scenario runs the real ``vidgate`` command (a subprocess, killed if it outlives its bound)
against a small local server that misbehaves on purpose: slow drip, silence, endless bodies, a
gzip bomb, garbage, bad encodings, redirect loops, hostile task ids, wrong Content-Length, URLs
that are not URLs, replies that echo the API key. Then bad input files, Hypothesis-fuzzed
``validate`` bodies and ``batch`` JSONL bytes, several processes racing on one journal, and a
file-size limit standing in for a full disk, and (scripts/pauses.py, on a throwaway PostgreSQL)
workers paused, frozen or starved past their leases or stopped while paced. Prints one table;
every figure but the first must be 0 (exit 1 otherwise):

    inputs tried | tracebacks | hangs | key leaks | files outside the folder |
    duplicates | lost jobs | unexpected exit codes | orphan files

tests/test_hostile.py runs the fast scenarios in-process on every ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_cases import IMINI, JOB, _lost, scenarios
from hostile_server import KEY, KEY_FORMS, Scenario, Server

from vidgate import exits

FIGURES: tuple[str, ...] = ("inputs tried", "tracebacks", "hangs", "key leaks")
FIGURES += ("files outside the folder", "duplicates", "lost jobs", "unexpected exit codes")
FIGURES += ("orphan files",)


PARALLEL = 2  # scenarios at once (each a vidgate process)
STARTUP = [0.0]  # seconds a trivial vidgate command takes here; added (x3) to subprocess bounds


def measure_startup() -> float:
    """A busy machine starts Python slowly; a hang is a run past its bound *plus* that."""
    times = []
    for _ in range(2):
        start = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "vidgate", "status", "--help"],
            capture_output=True,
            check=False,
        )
        times.append(time.monotonic() - start)
    STARTUP[0] = max(times)
    return STARTUP[0]


# ---------------------------------------------------------------------------- running
@dataclass
class Outcome:
    name: str
    code: int | None
    seconds: float
    traceback: bool = False
    hang: bool = False
    leaks: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unexpected: bool = False


def _outside(work: Path) -> list[Path]:
    """Files the run created outside ``work/out`` (inputs are listed in ``work/.inputs``)."""
    inputs = (
        set((work / ".inputs").read_text().splitlines()) if (work / ".inputs").exists() else set()
    )
    found = []
    for path in work.rglob("*"):
        rel = path.relative_to(work).as_posix()
        if (
            path.is_dir()
            or rel == ".inputs"
            or rel in inputs
            or rel.startswith(("out/", "missing"))
        ):
            continue
        found.append(path)
    for stray in ("escape-rel", "escape-mid", "escape-abs"):
        found += [p for p in (work.parent / stray, work.parent.parent / stray) if p.exists()]
    return found


def _leaks(texts: list[bytes]) -> list[str]:
    forms = [f.encode() for f in KEY_FORMS]
    return [f"key form {f[:12]!r}…" for f in forms if any(f in t for t in texts)]


def run(scenario: Scenario, server: Server, root: Path, in_process: bool = False) -> Outcome:
    work = root / f"w{next(_numbers)}"
    work.mkdir(parents=True)
    for rel, data in scenario.files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    (work / ".inputs").write_text("\n".join(scenario.files))
    prefix, slot = server.add(scenario, work)
    fill = {"base": f"{server.base}/{prefix}", "out": str(work / "out"), "work": str(work)}
    args = [a.format(**fill) for a in scenario.args]
    own = {k: v.replace("{work}", str(work)) for k, v in scenario.env.items()}  # e.g. a path
    env = {"IMINI_API_KEY": KEY, "APIMART_API_KEY": KEY, **own}
    if not in_process:  # the log goes to stderr too, so it is searched for the key as well
        env.setdefault("VIDGATE_LOG", "debug")
    start = time.monotonic()
    if in_process:
        code, out, err, hang = _in_process(args, env, scenario.bound)
    else:
        code, out, err, hang = _subprocess(args, env, scenario.bound, scenario.fsize, work)
    outcome = Outcome(scenario.name, code, time.monotonic() - start, hang=hang)
    outcome.traceback = b"Traceback" in out + err or code == exits.INTERNAL
    outcome.unexpected = not hang and code not in scenario.codes
    files = [p.read_bytes() for p in work.rglob("*") if p.is_file()]
    outcome.leaks = _leaks([out, err, *files])
    outcome.outside = [str(p) for p in _outside(work)]
    if scenario.check is not None and not hang:
        outcome.problems = scenario.check(work, slot)
    if outcome.unexpected or outcome.traceback:
        outcome.problems.append(f"exit {code}: {err.decode(errors='replace')[-600:]}")
    return outcome


def _subprocess(
    args: list[str], env: dict[str, str], bound: float, fsize: int | None, work: Path
) -> tuple[int | None, bytes, bytes, bool]:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    process = subprocess.Popen(
        [sys.executable, "-m", "vidgate", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=work,
        preexec_fn=limit if fsize is not None else None,
    )
    try:
        out, err = process.communicate(timeout=bound + 3 * STARTUP[0])
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        return None, out, err, True
    return process.returncode, out, err, False


_CLI_LOCK = threading.Lock()
_numbers = iter(range(10**9))


def _in_process(
    args: list[str], env: dict[str, str], bound: float
) -> tuple[int | None, bytes, bytes, bool]:
    """The command in this process (for the test suite: no interpreter start per scenario)."""
    from vidgate.cli import main

    result: dict[str, Any] = {}
    out, err = io.StringIO(), io.StringIO()

    def target() -> None:
        try:
            main(args)
        except SystemExit as done:
            result["code"] = done.code if isinstance(done.code, int) else 0
        except BaseException as exc:
            import traceback

            err.write("Traceback (escaped main)\n" + "".join(traceback.format_exception(exc)))
            result["code"] = exits.INTERNAL

    with _CLI_LOCK, _environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(bound)
    hang = thread.is_alive()
    return result.get("code"), out.getvalue().encode(), err.getvalue().encode(), hang


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------------- fuzz and race
def fuzz(examples: int, root: Path, server: Server) -> tuple[int, list[Outcome]]:
    """Hypothesis-drawn ``validate`` bodies and ``batch`` JSONL bytes, through the command."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    tried, bad = [0], []
    cases = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )

    def check(name: str, args: list[str], files: dict[str, bytes], codes: set[int]) -> None:
        tried[0] += 1
        scenario = Scenario(f"fuzz {name} #{tried[0]}", args, codes, files=files, bound=30)
        outcome = run(scenario, server, root, in_process=True)
        if _bad(outcome):
            bad.append(outcome)

    @cases
    @given(st.one_of(json_bytes(), st.binary(max_size=200)))
    def validate(data: bytes) -> None:
        args = ["validate", "{work}/body.json", "--gateway", "imini"]
        check("validate", args, {"body.json": data}, {exits.OK, exits.FAILED, exits.USAGE})

    @cases
    @given(jsonl_bytes())
    def batch(data: bytes) -> None:
        args = ["batch", "{work}/jobs.jsonl", *IMINI, "--out", "{out}", "--rate", "0"]
        codes = {exits.OK, exits.FAILED, exits.USAGE}
        check("batch", args, {"jobs.jsonl": data}, codes)

    validate()
    batch()
    return tried[0], bad


def json_bytes() -> Any:
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    )
    values = st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )
    bodies = st.fixed_dictionaries(
        {"model": st.just(JOB["model"]), "prompt": st.text(max_size=20)},
        optional={"duration": values},
    )
    special = st.sampled_from(
        [b'"\\ud800"', b"NaN", b"[" * 5000, b"9" * 5000, b"\xef\xbb\xbf{}", b"{}\r\n", b"\x00"]
    )
    return st.one_of(
        values.map(lambda v: json.dumps(v).encode()),
        bodies.map(lambda v: json.dumps(v).encode()),
        special,
    )


def jsonl_bytes() -> Any:
    from hypothesis import strategies as st

    ok = st.integers(0, 10**6).map(lambda i: json.dumps({**JOB, "prompt": f"fuzz {i}"}).encode())
    line = st.one_of(ok, json_bytes(), st.binary(max_size=30))
    sep = st.sampled_from([b"\n", b"\r\n"])
    bom = st.sampled_from([b"", b"\xef\xbb\xbf"])
    return st.tuples(bom, sep, st.lists(line, max_size=4)).map(lambda t: t[0] + t[1].join(t[2]))


RACER = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from vidgate.batch import journal
    journal.Journal.lock = lambda self: None  # bypass the lock: only compare-and-set is left
    from vidgate.aio import AsyncImini
    from vidgate.batch import BatchOptions, run_batch

    jobs, base, go, out = sys.argv[1:5]
    while not Path(go).exists():
        time.sleep(0.002)

    async def main():
        client = AsyncImini(api_key="sk-mock", base_url=base, max_retries=8)
        try:
            options = BatchOptions("imini", Path(out), concurrency=16, rate=0, client=client)
            return await run_batch(Path(jobs), options)
        finally:
            await client.aclose()

    print(asyncio.run(main()))
    """
)


def race(folder: Path, jobs: int, processes: int) -> dict[str, Any]:
    """``processes`` batch runs on one journal at once, the lock bypassed; the mock's ledger."""
    import crash

    from vidgate.batch.journal import Journal
    from vidgate.mock import State, Timing

    state = State(Timing())
    server, port = crash._server(state)
    folder.mkdir(parents=True, exist_ok=True)
    jobs_file = folder / "jobs.jsonl"
    jobs_file.write_text("\n".join(json.dumps({**JOB, "prompt": f"race {i}"}) for i in range(jobs)))
    go, out, base = folder / "go", folder / "out", f"http://127.0.0.1:{port}/imini"
    try:
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, str(jobs_file), base, str(go), str(out)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        go.touch()
        outputs = [r.communicate(timeout=120) for r in racers]
    finally:
        server.should_exit = True
    journal = Journal(out)
    seen = list(journal.jobs())
    journal.close()
    return {
        "submitted": len(state.ledger),
        "duplicates": len(state.ledger.duplicates(lambda e: e.body["prompt"])),
        "tracebacks": sum("Traceback" in err for _, err in outputs),
        "exit_codes": [r.returncode for r in racers],
        "states": {s: sum(j.state == s for j in seen) for s in {j.state for j in seen}},
        "lost": sum(_lost(j) for j in seen) + jobs - len(seen),
        "stderr": [err for _, err in outputs if err],
    }


# ---------------------------------------------------------------------------- the table
def measure(quick: bool, examples: int, verbose: bool = False) -> dict[str, int]:
    figures = dict.fromkeys(FIGURES, 0)
    with tempfile.TemporaryDirectory(prefix="vidgate-hostile-") as tmp:
        root = Path(tmp)
        startup = measure_startup()
        print(f"a vidgate command starts in {startup:.1f} s here", file=sys.stderr)
        with Server() as server:
            chosen = [s for s in scenarios() if s.fast or not quick]
            with ThreadPoolExecutor(PARALLEL) as pool:
                outcomes = pool.map(lambda s: run(s, server, root / "scenarios"), chosen)
                for outcome in outcomes:
                    _count(figures, outcome)
                    if verbose or _bad(outcome):
                        print(_line(outcome), file=sys.stderr)
            tried, bad = fuzz(examples, root / "fuzz", server)
        figures["inputs tried"] += tried
        for outcome in bad:
            _count(figures, outcome)
            print(_line(outcome), file=sys.stderr)
        raced = race(root / "race", jobs=40, processes=4)
        figures["inputs tried"] += 1
        figures["duplicates"] += raced["duplicates"] + max(0, raced["submitted"] - 40)
        figures["lost jobs"] += raced["lost"]
        figures["tracebacks"] += raced["tracebacks"]
        figures["unexpected exit codes"] += sum(code != 0 for code in raced["exit_codes"])
        print(
            f"race: {json.dumps({k: v for k, v in raced.items() if k != 'stderr'})}",
            file=sys.stderr,
        )
        if not quick:
            paused(root / "pauses", figures)
    return figures


def paused(folder: Path, figures: dict[str, int]) -> None:
    """Workers on a PostgreSQL journal paused, frozen or starved past their leases, or stopped
    while paced (scripts/pauses.py); skipped, saying why, where no PostgreSQL can be had."""
    import pauses
    import pgtemp

    try:
        with pgtemp.temporary_postgres() as server:
            results = pauses.run_all(server, folder, jobs=8)
    except pgtemp.Unavailable as exc:
        print(f"pauses: skipped ({exc})", file=sys.stderr)
        return
    for r in results:
        figures["inputs tried"] += 1
        figures["duplicates"] += r["paid twice"] + r["downloaded twice"]
        figures["orphan files"] += r["orphan files"]
        figures["lost jobs"] += r["lost"]
        figures["hangs"] += r["hangs"]
        figures["key leaks"] += r["leaks"]
        figures["unexpected exit codes"] += r["exit 70"] + r.get("submits after SIGTERM", 0)
        print(f"pauses: {json.dumps(r)}", file=sys.stderr)


def _count(figures: dict[str, int], outcome: Outcome) -> None:
    figures["inputs tried"] += 1
    figures["tracebacks"] += outcome.traceback
    figures["hangs"] += outcome.hang
    figures["key leaks"] += bool(outcome.leaks)
    figures["files outside the folder"] += len(outcome.outside)
    figures["lost jobs"] += sum(p.startswith("lost:") for p in outcome.problems)
    figures["unexpected exit codes"] += outcome.unexpected or any(
        not p.startswith(("exit ", "lost:")) for p in outcome.problems
    )


def _bad(outcome: Outcome) -> bool:
    return bool(
        outcome.traceback
        or outcome.hang
        or outcome.leaks
        or outcome.outside
        or outcome.problems
        or outcome.unexpected
    )


def _line(outcome: Outcome) -> str:
    state = "BAD " if _bad(outcome) else "ok  "
    detail = "; ".join(outcome.problems + outcome.leaks + outcome.outside)
    hang = " HANG" if outcome.hang else ""
    return f"{state}{outcome.name}: exit {outcome.code}{hang} in {outcome.seconds:.1f} s {detail}"


def table(figures: dict[str, int]) -> str:
    head = "| " + " | ".join(figures) + " |"
    rule = "|" + "|".join("---" for _ in figures) + "|"
    row = "| " + " | ".join(str(v) for v in figures.values()) + " |"
    return "\n".join([head, rule, row])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the fast scenarios")
    parser.add_argument("--fuzz", type=int, default=100, help="Hypothesis examples per command")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per scenario")
    args = parser.parse_args(argv)
    start = time.monotonic()
    figures = measure(args.quick, args.fuzz, args.verbose)
    print(table(figures))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"({time.monotonic() - start:.0f} s; largest vidgate process: {peak:.0f} MB)")
    return 1 if any(v for k, v in figures.items() if k != "inputs tried") else 0


if __name__ == "__main__":
    sys.exit(main())
