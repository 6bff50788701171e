"""Mutation check of the test suite: apply deliberate faults and confirm the suite goes red.

    python scripts/mutate.py            # every fault
    python scripts/mutate.py --quick    # the small set CI runs
    python scripts/mutate.py --list
    python scripts/mutate.py --match workers   # the faults whose name has this text

Each fault is applied to a copy of the working tree (specs are regenerated where the fault
touches one, as a careful developer would), then the tests that should notice it run there.
A fault is caught when they fail (pytest exit 1). The same tests must pass on the unmutated
copy, or there is no score. The copies are independent, so --jobs of them (default 2, the cores
CI has) run at once, the unmutated one first. Prints one line per fault, in the order above, and
the score; exits 1 unless every fault is caught.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Fault:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    regenerate: bool = False
    quick: bool = False


FAULTS = (
    Fault(
        "spec: a documented limit loosened (kling-v3 duration max 15 -> 20)",
        "specs/imini.yaml",
        "          minimum: 3\n          maximum: 15\n          default: 5\n"
        "          x-vidgate-source: doc\n"
        "        generate_audio:\n          type: boolean\n          default: false\n",
        "          minimum: 3\n          maximum: 20\n          default: 5\n"
        "          x-vidgate-source: doc\n"
        "        generate_audio:\n          type: boolean\n          default: false\n",
        ("tests/test_docs.py",),
        regenerate=True,
        quick=True,
    ),
    Fault(
        "spec: a cross-field rule removed (happyhorse duration in edit mode)",
        "specs/imini.yaml",
        "              - x-vidgate-rule: happyhorse.edit.no-duration\n"
        "                x-vidgate-source: doc\n"
        "                description: duration is not accepted; the source video sets the length.\n"
        "                not: {required: [duration]}\n",
        "",
        ("tests/test_rules.py", "tests/test_validation.py"),
        regenerate=True,
    ),
    Fault(
        "spec: an option dropped from an enum (apimart size 3:4)",
        "specs/apimart.yaml",
        "          enum: ['16:9', '9:16', '1:1', '4:3', '3:4']\n          default: '16:9'\n",
        "          enum: ['16:9', '9:16', '1:1', '4:3']\n          default: '16:9'\n",
        ("tests/test_docs.py", "tests/test_seed_examples.py"),
        regenerate=True,
    ),
    Fault(
        "spec: edited without regenerating generated/",
        "specs/apimart.yaml",
        "description: Reference images (1-9), or style references for an edit (0-5).",
        "description: Reference images, or style references for an edit.",
        ("tests/test_generated.py",),
    ),
    Fault(
        "mock: accepts a forbidden combination (mixed media)",
        "src/vidgate/mock/app.py",
        "        if not result.valid:\n",
        "        if not result.valid and not any(\n"
        "            v.code == 'mixed_media_not_allowed' for v in result.violations\n"
        "        ):\n",
        ("tests/test_mock.py",),
        quick=True,
    ),
    Fault(
        "mock: rejects a valid body (duration 15)",
        "src/vidgate/mock/app.py",
        '        if rejected(body.get("prompt")):\n',
        '        if body.get("duration") == 15 or rejected(body.get("prompt")):\n',
        ("tests/test_mock.py",),
    ),
    Fault(
        "mock: corrupts a reply field (imini task_id renamed)",
        "src/vidgate/mock/app.py",
        '            self.gw.task_id_field: task.id,\n            "status": status,',
        '            "id": task.id,\n            "status": status,',
        ("tests/test_mock.py", "tests/test_contract_mock.py"),
    ),
    Fault(
        "client: resends a submit after a 5xx (double charge)",
        "src/vidgate/_core.py",
        "waiting or code == 429 or (code == 408 and safe) or (code >= 500 and safe)",
        "waiting or code == 429 or (code == 408 and safe) or code >= 500",
        ("tests/test_client.py",),
        quick=True,
    ),
    Fault(
        "validation: cross-field rules ignored",
        "src/vidgate/validation.py",
        "            else [self._violation(root, e) for e in compiled.validator.iter_errors(sent)]",
        "            else [v for v in (self._violation(root, e) for e in "
        "compiled.validator.iter_errors(sent)) if '.' not in v.rule]",
        ("tests/test_validation.py", "tests/test_client.py"),
    ),
    Fault(
        "validation: a null routes as if present",
        "src/vidgate/validation.py",
        '            sent = self._without_nulls(compiled.schema, body, "", nulls)',
        '            self._without_nulls(compiled.schema, body, "", nulls)',
        ("tests/test_page_readings.py",),
    ),
    Fault(
        "validation: inline media unchecked",
        "src/vidgate/inline_media.py",
        "    if isinstance(max_bytes, int) and size > max_bytes:",
        "    if isinstance(max_bytes, int) and size > max_bytes * 2:",
        ("tests/test_page_readings.py",),
    ),
    Fault(
        "validation: inline audio length unchecked",
        "src/vidgate/inline_media.py",
        "    if per_clip and not per_clip[0] <= seconds <= per_clip[1]:",
        "    if per_clip and not per_clip[0] <= seconds <= per_clip[1] * 2:",
        ("tests/test_inline_audio.py",),
    ),
    Fault(
        "validation: inline bytes trusted to be what their label says",
        "src/vidgate/inline_media.py",
        "    if formats and found and found != labelled:",
        "    if formats and found and found != labelled and not formats:",
        ("tests/test_inline_audio.py",),
    ),
    Fault(
        "validation: warnings from upstream facts dropped",
        "src/vidgate/validation.py",
        "        warnings.extend(_advised(compiled.advisories, sent))",
        "        _advised(compiled.advisories, sent)",
        ("tests/test_validation.py",),
    ),
    Fault(
        "docs-diff: blind to ranges",
        "src/vidgate/spectools/docs_diff.py",
        'RANGES = (\n    re.compile(rf"Required range:',
        'RANGES = () and (\n    re.compile(rf"Required range:',
        ("tests/test_docs.py",),
    ),
    Fault(
        "workers: a mid-submit job nobody holds goes back to pending (double charge)",
        "src/vidgate/batch/journal/sql/pg.sql",
        "UPDATE vidgate_jobs SET state = 'unknown', error = :error",
        "UPDATE vidgate_jobs SET state = 'pending', error = :error",
        ("tests/test_workers.py",),
    ),
    Fault(
        "workers: a mid-submit job let go of by its worker is never found",
        "src/vidgate/batch/journal/sql/pg.sql",
        "WHERE state = 'submitting' AND (lease_until IS NULL OR lease_until < {now})",
        "WHERE state = 'submitting' AND lease_until < {now}",
        ("tests/test_workers.py",),
    ),
    Fault(
        "workers: a paced request that would start late goes out anyway",
        "src/vidgate/batch/workers.py",
        'name.endswith("send_request_headers.started")',
        'name.endswith("no such event")',
        ("tests/test_workers.py",),
    ),
    Fault(
        "workers: owner check: a journal write ignores who holds the job",
        "src/vidgate/batch/journal/base.py",
        '        return " AND owner = :held_by", {"held_by": owner}\n',
        '        return "", {}\n',
        ("tests/test_workers.py::test_every_write_after_a_claim_checks_the_owner",),
    ),
    Fault(
        "workers: owner check: a paused worker submits a job another worker claimed",
        "src/vidgate/batch/journal/sql/jobs.sql",
        "    AND (owner IS NULL OR owner = CAST(:owner AS TEXT))\n",
        "    AND (owner IS NULL OR owner = CAST(:owner AS TEXT) OR true)\n",
        ("tests/test_workers.py::test_a_worker_paused_past_its_lease_submits_nothing",),
    ),
    Fault(
        "workers: owner check: a paused worker downloads without checking it still holds the job",
        "src/vidgate/batch/__init__.py",
        'if not journal.hold(line, mine, "submitted", me.lease):',
        "if False:",
        ("tests/test_workers.py::test_a_worker_paused_past_its_lease_downloads_nothing",),
    ),
    Fault(
        "workers: pacing: a job is marked submitting before it waits for the shared rate",
        "src/vidgate/batch/__init__.py",
        "due = await me.paced.book(stop)",
        "due = None",
        ("tests/test_workers.py::test_jobs_wait_for_the_shared_rate_before_they_are_marked",),
    ),
    Fault(
        "workers: pacing: a stop does not end the wait for this process's --rate",
        "src/vidgate/batch/workers.py",
        "    sleeping = asyncio.ensure_future(sleep(seconds))\n"
        "    stopping = asyncio.ensure_future(stop.wait())\n",
        "    sleeping = asyncio.ensure_future(sleep(seconds))\n"
        "    stopping = asyncio.ensure_future(asyncio.Event().wait())\n",
        ("tests/test_batch.py::test_a_stop_ends_the_wait_for_the_rate_at_once",),
    ),
    Fault(
        "placing: a run killed between the downloaded record and the move is not mended",
        "src/vidgate/batch/__init__.py",
        "        placing.recover(journal, options.out, me.owner)",
        "        pass",
        ("tests/test_placing.py::test_a_kill_between_record_and_move_loses_no_video",),
    ),
    Fault(
        "placing: the dead worker's complete .part is not looked for (the video is fetched again)",
        "src/vidgate/batch/placing.py",
        "part = parts.find(job)",
        "part = None",
        ("tests/test_placing.py::test_a_kill_between_record_and_move_loses_no_video",),
    ),
    Fault(
        "placing: a paused worker undoes a job a run placed for it (then a second file)",
        "src/vidgate/batch/__init__.py",
        "unowned=True, was=mine, **undo)",
        "unowned=True, **undo)",
        (
            "tests/test_placing.py::test_a_worker_paused_between_record_and_move_places_no_second_file",
        ),
    ),
)


def _files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [f for f in listed if (ROOT / f).is_file()]


def _copy(dest: Path) -> None:
    for name in _files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def _env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(copy / p) for p in ("src", "generated", "tests"))
    docs = env.get("VIDGATE_DOCS_DIR") or str(ROOT.parent / "shared" / "seeds")
    env["VIDGATE_DOCS_DIR"] = str(Path(docs).resolve())
    # the copy's own bytecode is not kept (its path is new each time); installed packages' is read
    # from PYTHONPYCACHEPREFIX when the Makefile sets it
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _pytest(copy: Path, tests: tuple[str, ...]) -> int:
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    return subprocess.run(
        cmd, cwd=copy, env=_env(copy), capture_output=True, check=False
    ).returncode


def run_fault(fault: Fault) -> tuple[str, float]:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vidgate-mutant-") as tmp:
        copy = Path(tmp)
        _copy(copy)
        target = copy / fault.path
        text = target.read_text()
        if text.count(fault.old) != 1:  # gone, or ambiguous: which copy would be mutated?
            found = f"found {text.count(fault.old)} times, not once"
            return f"STALE (the code this fault edits {found}: update scripts/mutate.py)", 0.0
        target.write_text(text.replace(fault.old, fault.new))
        if fault.regenerate:
            subprocess.run(
                [sys.executable, "scripts/generate.py"],
                cwd=copy,
                env=_env(copy),
                capture_output=True,
                check=True,
            )
        code = _pytest(copy, fault.tests)
    verdict = {0: "MISSED", 1: "caught"}.get(code, f"ERROR (pytest exit {code})")
    return verdict, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the faults marked quick")
    parser.add_argument("--list", action="store_true", help="list the faults and exit")
    parser.add_argument("--match", default="", help="only the faults whose name has this text")
    parser.add_argument("--jobs", type=int, default=2, help="copies tested at once (default 2)")
    args = parser.parse_args(argv)
    faults = [f for f in FAULTS if (f.quick or not args.quick) and args.match in f.name]
    if args.list:
        for f in faults:
            print(f"{'quick' if f.quick else '     '}  {f.name}  -> {' '.join(f.tests)}")
        return 0
    tests = tuple(sorted({t for f in faults for t in f.tests}))
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        green = pool.submit(baseline, tests)
        runs = [pool.submit(run_fault, fault) for fault in faults]
        if not green.result():
            for run in runs:
                run.cancel()
            print(f"baseline: the unmutated suite is not green ({' '.join(tests)}); no score")
            return 1
        caught = 0
        for fault, run in zip(faults, runs, strict=True):
            verdict, seconds = run.result()
            caught += verdict == "caught"
            print(f"{verdict:8} {fault.name} ({seconds:.0f} s)", flush=True)
    print(f"mutation score: {caught}/{len(faults)} faults caught")
    return 0 if caught == len(faults) else 1


def baseline(tests: tuple[str, ...]) -> bool:
    """The tests the faults name pass on an unmutated copy."""
    with tempfile.TemporaryDirectory(prefix="vidgate-unmutated-") as tmp:
        _copy(Path(tmp))
        return _pytest(Path(tmp), tests) == 0


if __name__ == "__main__":
    sys.exit(main())
