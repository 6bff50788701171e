"""The scenarios of ``make hostile``: what each command is given, and what must come out."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from hostile_server import (
    KEY,
    RUNNING,
    SUCCEEDED,
    Handler,
    Scenario,
    Slot,
    bomb,
    drip,
    echo_key,
    endless,
    lying_length,
    redirect_to,
    send,
    send_json,
    silence,
    task_reply,
)

from vidgate import exits

IMINI = ["--gateway", "imini", "--base-url", "{base}/imini"]
STATUS, WAIT = ["status", "t1", *IMINI], ["wait", "t1", *IMINI, "--timeout", "2"]
DOWNLOAD = ["download", "t1", *IMINI, "--out", "{out}"]
JOB: dict[str, Any] = {"model": "kling/kling-v3", "duration": 3}
# the representative few that tests/test_hostile.py runs in-process on every `make test`
SUITE = {
    "slow drip (wait --timeout 2)",
    "endless JSON reply",
    "gzip bomb reply",
    "bad Content-Encoding",
    "nested 10^5 deep",
    "key echo in an error",
    "key echo, not JSON",
    "markup and control codes in a reply",
    "non-JSON submit reply",
    "download of a running task",
    "redirect loop (API)",
    "video URL http://[::1",
    "endless video",
    "existing file is not overwritten",
    "key with a trailing newline",
    "base URL file:///",
    "hostile id #0 (download)",
    "hostile id #1 (wait)",
    "hostile id #5 (download)",
    "validate: non-UTF-8 body",
    "validate: lone surrogate body",
    "validate: markup body",
    "validate: markup model",
    "validate: SVG height 0.5 as data:image/png",
    "batch --skip-invalid: a forged image header",
    "generate: 5,000-digit integer body",
    "batch: non-UTF-8 line",
    "batch: BOM and CRLF",
    "batch: --status of a missing folder",
    "batch: garbage journal",
    "batch: one malformed submit reply",
    "hostile id #13 (generate)",
    "extra_body replaces a checked field",
    "spec-diff: $ref cycle",
    "spec-diff: YAML alias bomb",
    "history rows that are not run times (generate --wait)",
    "history pointed at another program's database",
    "status in_progress[/x] (wait --timeout 2)",
    "batch: markup in task ids and statuses",
    "batch --status: markup in the journal",
}
HOSTILE_IDS = [
    "../escape-rel",
    "{work}/escape-abs",
    "..",
    ".",
    "a/../../escape-mid",
    "?;$(id)`x`|&",
    "x" * 4000,
    ".hidden",
    "-rf",
    "\u202egnp.exe",
    "nul\x00byte",
    "[bold red]markup[/]",
    "\x1b[31mansi",
    "task[/]1",  # a closing tag with nothing to close (the apimart id pattern allows it)
]
OVERRIDE = (
    '{{"duration": 15, "model": "doubao/seedance-2.0"}}'  # braces doubled: args are format()ed
)
MARKUP_STATUS = "in_progress[/x]"  # a status that is a closing tag matching nothing


def _inside_only(work: Path, slot: Slot) -> list[str]:
    """Exactly one file, in the output folder (files elsewhere are counted by the runner)."""
    inside = [p for p in (work / "out").rglob("*") if p.is_file()]
    return [] if len(inside) == 1 else [f"{len(inside)} files in the output folder, expected 1"]


def _no_partial(work: Path, slot: Slot) -> list[str]:
    out = work / "out"
    left = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    return [f"{p.name} left behind" for p in left]


def scenarios() -> list[Scenario]:
    found = [
        Scenario("slow drip (wait --timeout 2)", WAIT, {exits.TIMEOUT}, task=drip(), bound=40),
        Scenario("silent server (wait --timeout 2)", WAIT, {exits.TIMEOUT}, task=silence, bound=40),
        Scenario("endless JSON reply", STATUS, {exits.GATEWAY}, task=endless(b'{"a": "')),
        Scenario("gzip bomb reply", STATUS, {exits.GATEWAY}, task=bomb(256 << 20)),
        Scenario(
            "bad Content-Encoding",
            STATUS,
            {exits.GATEWAY},
            task=send(200, b"not gzip at all", **{"Content-Encoding": "gzip"}),
        ),
        Scenario("garbage bytes", STATUS, {exits.GATEWAY}, task=send(200, os.urandom(3000))),
        Scenario("nested 10^5 deep", STATUS, {exits.GATEWAY}, task=send(200, b"[" * 100000)),
        Scenario("5,000-digit integer", STATUS, {exits.GATEWAY}, task=send(200, b"9" * 5000)),
        Scenario("lone surrogate", STATUS, {exits.GATEWAY}, task=send(200, b'{"a": "\\ud800"}')),
        Scenario("redirect loop (API)", STATUS, {exits.GATEWAY}, task=redirect_to("/loop")),
        Scenario("key echo in an error", STATUS, {exits.FAILED}, task=echo_key(400, True)),
        Scenario("key echo, not JSON", STATUS, {exits.GATEWAY}, task=echo_key(200, False)),
        Scenario(
            "markup and control codes in a reply",
            STATUS,
            {exits.OK},
            task=task_reply("[bold]t1[/]\x1b[2J", "[/]\x07", "/file/[/].mp4"),
        ),
        Scenario(
            "non-JSON submit reply",
            ["generate", *IMINI, "--model", "kling/kling-v3", "--prompt", "x"],
            {exits.GATEWAY},
            submit=send(200, b"<html>oops</html>", "text/html"),
        ),
        Scenario(
            "generate with a list body",
            ["generate", "{work}/list.json", *IMINI],
            {exits.USAGE},
            files={"list.json": b"[1, 2]"},
        ),
        Scenario(
            "download of a running task",
            DOWNLOAD,
            {exits.DOWNLOAD},
            task=task_reply(status=RUNNING),
        ),
        Scenario("succeeded without videos", DOWNLOAD, {exits.DOWNLOAD}, task=task_reply(url=None)),
        Scenario("redirect loop (file)", DOWNLOAD, {exits.DOWNLOAD}, task=task_reply(url="/loop")),
        Scenario(
            "video URL http://[::1", DOWNLOAD, {exits.DOWNLOAD}, task=task_reply(url="http://[::1")
        ),
        Scenario(
            "video URL file:///etc/passwd",
            DOWNLOAD,
            {exits.DOWNLOAD},
            task=task_reply(url="file:///etc/passwd"),
        ),
        Scenario(
            "endless video",
            DOWNLOAD,
            {exits.DOWNLOAD},
            task=task_reply(),
            file=endless(b"", "video/mp4"),
            env={"VIDGATE_MAX_DOWNLOAD_BYTES": str(1 << 20)},
            check=_no_partial,
        ),
        Scenario(
            "gzip bomb video",
            DOWNLOAD,
            {exits.DOWNLOAD},
            task=task_reply(),
            file=bomb(64 << 20, "video/mp4"),
            env={"VIDGATE_MAX_DOWNLOAD_BYTES": str(1 << 20)},
            check=_no_partial,
        ),
        Scenario(
            "Content-Length shorter than the body",
            DOWNLOAD,
            {exits.OK, exits.DOWNLOAD},
            task=task_reply(),
            file=lying_length(100, 5000),
        ),
        Scenario(
            "Content-Length longer than the body",
            DOWNLOAD,
            {exits.DOWNLOAD},
            task=task_reply(),
            file=lying_length(100000, 100),
            check=_no_partial,
            bound=40,
            fast=False,  # retried with backoff: about 15 s
        ),
        Scenario(
            "slow drip video (VIDGATE_DOWNLOAD_TIMEOUT=2)",
            DOWNLOAD,
            {exits.DOWNLOAD},
            task=task_reply(),
            file=drip(b"", 0.2),
            env={"VIDGATE_DOWNLOAD_TIMEOUT": "2"},
            bound=40,
            check=_no_partial,
        ),
        Scenario(
            "existing file is not overwritten",
            DOWNLOAD,
            {exits.DOWNLOAD},
            task=task_reply(),
            files={"out/t1.mp4": b"mine"},
            check=lambda w, s: (
                [] if (w / "out/t1.mp4").read_bytes() == b"mine" else ["overwritten"]
            ),
        ),
        Scenario(
            "key with a trailing newline",
            STATUS,
            {exits.USAGE},
            env={"IMINI_API_KEY": KEY + "\n"},
        ),
        Scenario("base URL file:///", ["status", "t1", "--base-url", "file:///tmp"], {exits.USAGE}),
        Scenario(
            "extra_body replaces a checked field",
            [
                "generate",
                *IMINI,
                "--model",
                "kling/kling-v3",
                "--prompt",
                "x",
                "--extra-body",
                OVERRIDE,
            ],
            {exits.FAILED},
            check=lambda w, s: [f"{s.submits} submit(s) sent"] if s.submits else [],
        ),
        Scenario(
            f"status {MARKUP_STATUS} (wait --timeout 2)",
            WAIT,
            {exits.TIMEOUT},
            task=task_reply(status=MARKUP_STATUS),
            bound=40,
        ),
    ]
    generate = ["generate", *IMINI, "--model", str(JOB["model"]), "--prompt", "x"]
    generate += ["--download", "{out}"]
    for i, task_id in enumerate(HOSTILE_IDS):
        for command in (DOWNLOAD, ["wait", "t1", *IMINI, "--download", "{out}"], generate):
            found.append(
                Scenario(
                    f"hostile id #{i} ({command[0]})",
                    command,
                    {exits.OK},
                    submit=send_json({"task_id": task_id}),
                    task=task_reply(task_id),
                    check=_inside_only,
                )
            )
    return found + input_scenarios() + batch_scenarios() + spec_scenarios() + history_scenarios()


def history_scenarios() -> list[Scenario]:
    """VIDGATE_HISTORY holding rows that are not run times, or another program's database."""
    wait = ["generate", *IMINI, "--model", "kling/kling-v3", "--prompt", "x", "--wait"]
    env = {"VIDGATE_HISTORY": "{work}/out/runtimes.sqlite"}  # its -wal beside it: not "outside"
    theirs = _theirs()
    return [
        Scenario(
            "history rows that are not run times (generate --wait)",
            wait,
            {exits.OK},
            submit=send_json({"task_id": "t1"}),
            task=task_reply(),
            env=env,
            files={"out/runtimes.sqlite": _bad_history()},
        ),
        Scenario(
            "history pointed at another program's database",
            wait,
            {exits.OK},
            submit=send_json({"task_id": "t1"}),
            task=task_reply(),
            env=env,
            files={"out/runtimes.sqlite": theirs},
            check=lambda w, s: (
                []
                if (w / "out/runtimes.sqlite").read_bytes() == theirs
                else ["their database written"]
            ),
        ),
    ]


def _database(build: Any) -> bytes:
    import sqlite3

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "db.sqlite"
        db = sqlite3.connect(path)
        with db:
            build(db)
        db.close()
        return path.read_bytes()


def _bad_history() -> bytes:
    """vidgate's own history of kling-v3 run times: inf, text, a blob, a negative number."""
    from vidgate.history import History, kind_of

    kind = kind_of("imini", {"model": "kling/kling-v3", "duration": 5})
    assert kind is not None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "runtimes.sqlite"
        store = History(path)
        store.record(kind, 30.0)
        store.close()
        import sqlite3

        db = sqlite3.connect(path)
        with db:
            rows = [("\x1f".join(kind), v) for v in (float("inf"), "abc", b"\0", -5)]
            db.executemany("INSERT INTO runs (kind, seconds) VALUES (?, ?)", rows)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
        db.close()
        return path.read_bytes()


def _theirs() -> bytes:
    """Another program's database that has a runs (kind, seconds, at) table of 1000 rows."""
    return _database(
        lambda db: (
            db.execute("CREATE TABLE runs (kind TEXT, seconds REAL, at INTEGER PRIMARY KEY)"),
            db.executemany(
                "INSERT INTO runs (kind, seconds) VALUES (?, ?)",
                [(f"k{i}", 1.0) for i in range(1000)],
            ),
        )
    )


def spec_scenarios() -> list[Scenario]:
    """Spec files that would make the spec tools run without end (40+ minutes, 10 GB)."""
    text = (Path(__file__).resolve().parent.parent / "specs" / "imini.yaml").read_text()
    ref = "{$ref: '#/components/schemas/%s'}"
    cycle = text.replace("  schemas:\n", f"  schemas:\n    A: {ref % 'B'}\n    B: {ref % 'A'}\n", 1)
    levels = ["x-bomb:", "  a0: &a0 [lol]"]
    levels += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = text.replace("components:\n", "\n".join(levels) + "\ncomponents:\n", 1)
    diff = ["spec-diff", "{work}/old.yaml", "{work}/new.yaml"]
    return [
        Scenario(
            f"spec-diff: {name}",
            diff,
            {exits.USAGE},
            files={"old.yaml": text.encode(), "new.yaml": new.encode()},
            bound=20,
        )
        for name, new in (("$ref cycle", cycle), ("YAML alias bomb", bomb))
    ]


def input_scenarios() -> list[Scenario]:
    validate = ["validate", "{work}/body.json", "--gateway", "imini"]
    bodies = {
        "non-UTF-8 body": (b'{"model": "\xff"}', exits.USAGE),
        "BOM body": (b"\xef\xbb\xbf" + json.dumps({**JOB, "prompt": "x"}).encode(), exits.OK),
        "CRLF body": (
            json.dumps({**JOB, "prompt": "x"}, indent=1).encode().replace(b"\n", b"\r\n"),
            exits.OK,
        ),
        "5,000-digit integer body": (b'{"duration": ' + b"9" * 5000 + b"}", exits.USAGE),
        "10^5-deep body": (b"[" * 100000 + b"]" * 100000, exits.USAGE),
        "lone surrogate body": (b'{"model": "kling/kling-v3", "prompt": "\\udc80"}', exits.USAGE),
        "NaN body": (b'{"duration": NaN}', exits.USAGE),
        "null body": (b"null", exits.USAGE),  # not an object: as generate -
        "markup body": (
            b'{"model": "kling/kling-v3", "prompt": "p", "mode[/]": 1, "duration": "[/x]"}',
            exits.FAILED,
        ),
        "markup model": (b'{"model": "kling[/]x", "prompt": "p"}', exits.FAILED),
        "SVG height 0.5 as data:image/png": (json.dumps(_forged_image()).encode(), exits.FAILED),
    }
    found = [
        Scenario(f"validate: {name}", validate, {code}, files={"body.json": data})
        for name, (data, code) in bodies.items()
    ]
    for name, (data, code) in bodies.items():
        if name.startswith(("BOM", "CRLF")):
            continue
        found.append(
            Scenario(
                f"generate: {name}",
                ["generate", "{work}/body.json", *IMINI],
                {code},
                files={"body.json": data},
            )
        )
    batch = ["batch", "{work}/jobs.jsonl", *IMINI, "--out", "{out}", "--rate", "0"]
    line = json.dumps({**JOB, "prompt": "ok"}).encode()
    lines = {
        "non-UTF-8 line": (line + b"\n" + b'{"prompt": "\xfe"}', exits.USAGE),
        "10^5-deep line": (line + b"\n" + b"[" * 100000, exits.USAGE),
        "huge integer line": (line + b'\n{"duration": ' + b"1" * 5000 + b"}", exits.USAGE),
        "array line": (line + b"\n[1]", exits.USAGE),
        "edited jobs file": (line, exits.USAGE),
    }
    for name, (data, code) in lines.items():
        found.append(Scenario(f"batch: {name}", batch, {code}, files={"jobs.jsonl": data}))
    found.extend(
        [
            Scenario(
                "batch: BOM and CRLF",
                batch,
                {exits.OK},
                files={
                    "jobs.jsonl": b"\xef\xbb\xbf" + line + b"\r\n" + line.replace(b"ok", b"ok2")
                },
            ),
            Scenario(
                "batch: --out names a file",
                batch,
                {exits.USAGE},
                files={"jobs.jsonl": line, "out": b"x"},
            ),
            Scenario(
                "batch: --status of a missing folder",
                ["batch", "--status", "{work}/missing"],
                {exits.USAGE},
                check=lambda w, s: ["--status made the folder"] if (w / "missing").exists() else [],
            ),
            Scenario(
                "batch: garbage journal",
                ["batch", "--status", "{out}"],
                {exits.LOCAL},
                files={"out/.vidgate-batch.sqlite": b"garbage" * 1000},
            ),
            Scenario(
                "batch: truncated journal",
                batch,
                {exits.LOCAL},
                files={
                    "jobs.jsonl": line,
                    "out/.vidgate-batch.sqlite": b"SQLite format 3\x00" + b"\x10" * 50,
                },
            ),
        ]
    )
    edited = next(s for s in found if s.name == "batch: edited jobs file")
    edited.files = {"jobs.jsonl": line, "out/.vidgate-batch.sqlite": _journal_for(b"other")}
    return found


def _forged_image(width: str = "10", height: str = "0.5") -> dict[str, Any]:
    """A body whose inline "PNG" is an SVG stating an impossible size."""
    svg = f'<svg width="{width}" height="{height}"></svg>'.encode()
    url = "data:image/png;base64," + base64.b64encode(svg).decode()
    return {**JOB, "prompt": "x", "reference_images": [{"url": url}]}


def _journal_for(prompt: bytes) -> bytes:
    """A journal file recorded for a different first line (the jobs file was edited since)."""
    from vidgate.batch.journal import Journal

    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp))
        journal.set_meta("gateway", "imini")
        journal.add(1, {**JOB, "prompt": prompt.decode()})
        journal.close()
        return (Path(tmp) / Journal.NAME).read_bytes()


def batch_scenarios() -> list[Scenario]:
    batch = ["batch", "{work}/jobs.jsonl", *IMINI, "--out", "{out}", "--rate", "0"]
    jobs = b"\n".join(json.dumps({**JOB, "prompt": f"job {i}"}).encode() for i in range(6))

    def one_malformed(h: Handler) -> None:
        number = h.slot.count()
        if number == 1:
            send(200, b"not json", "text/plain")(h)
        else:
            send_json({"task_id": f"t{number}", "status": "queued"})(h)

    def polls(h: Handler) -> None:
        task_reply(h.path.rstrip("/").rsplit("/", 1)[-1])(h)

    seen: set[str] = set()

    def markup_polls(h: Handler) -> None:  # each task is in progress once, then succeeds
        task_id = unquote(h.path.rstrip("/").rsplit("/", 1)[-1])
        status = MARKUP_STATUS if task_id not in seen else SUCCEEDED
        seen.add(task_id)
        task_reply(task_id, status=status)(h)

    def markup_submit(h: Handler) -> None:
        send_json({"task_id": f"task[/]{h.slot.count()}", "status": MARKUP_STATUS})(h)

    return [
        Scenario(
            "batch: key echo at submit (the journal's error column)",
            batch,
            {exits.FAILED},
            submit=echo_key(400, True),
            files={"jobs.jsonl": jobs},
            check=lambda w, s: _journal_problems(w, s, 6),
        ),
        Scenario(
            "batch: one malformed submit reply",
            batch,
            {exits.FAILED},
            submit=one_malformed,
            task=polls,
            files={"jobs.jsonl": jobs},
            check=lambda w, s: _journal_problems(w, s, 6, unknown=1),
        ),
        Scenario(
            "batch: the disk fills up",
            batch,
            {exits.FAILED, exits.LOCAL},
            task=polls,
            files={"jobs.jsonl": jobs},
            fsize=96 * 1024,
            fast=False,
            check=lambda w, s: _journal_problems(w, s, 6),
        ),
        Scenario(
            "batch: markup in task ids and statuses",
            batch,
            {exits.OK},
            submit=markup_submit,
            task=markup_polls,
            files={"jobs.jsonl": jobs},
            check=lambda w, s: _journal_problems(w, s, 6),
        ),
        Scenario(
            "batch --skip-invalid: a forged image header",
            [*batch, "--skip-invalid"],
            {exits.OK},
            task=polls,
            files={"jobs.jsonl": jobs + b"\n" + json.dumps(_forged_image("9" * 400, "5")).encode()},
            check=lambda w, s: _journal_problems(w, s, 7),
        ),
        Scenario(
            "batch --status: markup in the journal",
            ["batch", "--status", "{out}"],
            {exits.OK},
            files={"out/.vidgate-batch.sqlite": _journal_with_markup()},
            check=lambda w, s: _journal_problems(w, s, 1),
        ),
    ]


def _journal_with_markup() -> bytes:
    """A journal whose task id, status, file, worker and error are unbalanced markup."""
    from vidgate.batch.journal import Journal

    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp))
        journal.set_meta("gateway", "imini")
        journal.add(1, {**JOB, "prompt": "x"})
        fields: dict[str, Any] = {"task_id": "task[/]1", "status": MARKUP_STATUS, "worker": "w[/b]"}
        journal.set(1, "failed", expect="pending", error="[/] no", file="f[/].mp4", **fields)
        journal.close()
        return (Path(tmp) / Journal.NAME).read_bytes()


def _journal_problems(work: Path, slot: Slot, jobs: int, unknown: int | None = None) -> list[str]:
    """Lost jobs: missing from the journal, finished without a reason, or claiming a submission
    the server never received (a job that was never sent must never become unknown)."""
    from vidgate.batch.journal import Journal

    journal = Journal(work / "out", create=False)
    try:
        seen = list(journal.jobs())
    finally:
        journal.close()
    problems = [f"lost: line {j.line} {j.state} without a reason" for j in seen if _lost(j)]
    if len(seen) != jobs:
        problems.append(f"lost: {jobs - len(seen)} job(s) missing from the journal")
    sent = sum(j.state in ("submitting", "unknown", "submitted", "downloaded") for j in seen)
    if sent > slot.submits:
        problems.append(f"lost: {sent - slot.submits} never-sent job(s) marked as sent")
    count = sum(j.state == "unknown" for j in seen)
    if unknown is not None and count != unknown:
        problems.append(f"{count} unknown jobs, expected {unknown}")
    return problems


def _lost(job: Any) -> bool:
    """A job is lost if it ended (failed, unknown) without its reason; pending, submitting and
    submitted are what a stopped batch resumes from."""
    return job.state in ("failed", "unknown") and not job.error
