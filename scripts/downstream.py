"""The downstream check: vidgate as a team that installs it sees it (`make downstream`, CI).

1. Build the sdist, and the wheel from the sdist (`uv build`); check what each holds: the wheel's
   top-level packages each carry py.typed, the sdist only what a rebuild needs.
2. Install the wheel with its `testing` extra into a fresh venv in a temporary folder outside the
   repository, with the downstream tools locked in uv.lock (group `downstream`).
3. Copy scripts/downstream/ (a consumer module, a test file, a file of deliberate mistakes, the
   project's pytest settings) there and, from that folder, with no repository path in sight and
   IMINI_*/APIMART_* exported as docs/cli.md tells users to: `mypy --strict` on the consumer and
   the tests, then on mistakes.py (every line marked `# E: <code>` must be reported with that
   code, no other line), then pyright the same way (skipped, saying so, if it cannot fetch its
   Node.js), then pytest (every fixture, sync and async, under anyio and pytest-asyncio).
4. A venv with the bare wheel (no extras): the library works (validate, generate and get on an
   in-memory transport); the command, the mock and the spec tools each fail with one line naming
   the extra to install. A venv with `[cli]`: the command works, `vidgate mock` names `[mock]`.

Prints each step with its duration; exit status 0 only when every step passed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "scripts" / "downstream"
TOP_LEVEL = {
    "vidgate",
    "vidgate_imini",
    "vidgate_apimart",
    "vidgate_models",
    "vidgate_specs",
    "vidgate_typed",
}
MISTAKES = "mistakes.py"  # every line marked "# E: <code>" must be reported, nothing else
MARK = re.compile(r"#\s*E:\s*([a-z-]+)\s*$")
REPORTED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")
PYRIGHT = re.compile(r"^\s*(?P<file>\S+?):(?P<line>\d+):\d+ - error: ")
# .gitignore: hatchling always adds it (a rebuild from the sdist reads it)
SDIST_TOP = {"src", "generated", "README.md", "LICENSE", "pyproject.toml", "PKG-INFO", ".gitignore"}
# what docs/cli.md tells users to export: fixtures must not see it
README_ENV = {
    "IMINI_API_KEY": "sk-mock",
    "IMINI_BASE_URL": "http://127.0.0.1:4010/imini",
    "APIMART_API_KEY": "sk-mock",
    "APIMART_BASE_URL": "http://127.0.0.1:4010/apimart",
}

# what a library user does with the bare wheel (no extras): validate, generate, get
LIBRARY = """
import httpx, vidgate
submitted = {"task_id": "t1", "model": "kling/kling-v3"}
done = {"task_id": "t1", "status": "succeeded", "videos": [{"url": "https://cdn.example/v.mp4"}]}
body = {"model": "kling/kling-v3", "prompt": "a cat", "duration": 5}
transport = httpx.MockTransport(
    lambda request: httpx.Response(200, json=submitted if request.method == "POST" else done)
)
assert vidgate.validator("imini").check(body).valid
with vidgate.Imini("sk-x", base_url="https://gw.example", transport=transport) as client:
    print("bare wheel:", client.get(client.generate(body).id).status.value)
"""


def uv() -> list[str]:
    """The uv that `make setup` found (scripts/bootstrap.sh writes it to .venv/.uv-cmd)."""
    recorded = ROOT / ".venv" / ".uv-cmd"
    if recorded.is_file():
        return recorded.read_text().split()
    found = shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


def step(title: str, cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    output = (done.stdout + done.stderr).strip()
    print(f"[{seconds:5.1f} s] {title}: {'ok' if done.returncode == 0 else 'FAILED'}")
    if done.returncode != 0:
        print(output)
        raise SystemExit(1)
    return output


def check_archives(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    problems = [f"wheel top-level {sorted(top)} != {sorted(TOP_LEVEL)}"] if top != TOP_LEVEL else []
    problems += [
        f"{p}/py.typed missing from the wheel"
        for p in sorted(TOP_LEVEL)
        if f"{p}/py.typed" not in names
    ]
    sources = {  # code and the files it reads beside it (py.typed, the journals' sql/*.sql)
        path.relative_to(ROOT / "src").as_posix()
        for path in (ROOT / "src").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    problems += [f"{name} missing from the wheel" for name in sorted(sources - set(names))]
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 2)[1] for m in archive.getmembers() if "/" in m.name}
    problems += [f"sdist holds {extra}" for extra in sorted(members - SDIST_TOP)]
    if problems:
        print("\n".join(problems))
        raise SystemExit(1)
    print(
        f"         wheel: {len(names)} files, packages {', '.join(sorted(TOP_LEVEL))}, "
        f"each with py.typed; sdist: {', '.join(sorted(members))}"
    )


def mistake_problems(source: str, report: str, name: str = MISTAKES) -> list[str]:
    """What mypy's ``report`` on the mistakes file misses or adds: each marked line must have an
    error with its code, and no other line any error."""
    expected = {
        number: match.group(1)
        for number, line in enumerate(source.splitlines(), 1)
        if (match := MARK.search(line))
    }
    found: dict[int, set[str]] = {}
    for line in report.splitlines():
        match = REPORTED.match(line.strip())
        if match and Path(match["file"]).name == name:
            found.setdefault(int(match["line"]), set()).add(match["code"])
    problems = [
        f"{name}:{number}: expected [{code}], mypy said {_said(found.get(number))}"
        for number, code in sorted(expected.items())
        if code not in found.get(number, set())
    ]
    problems += [
        f"{name}:{number}: unexpected {sorted(codes)}"
        for number, codes in sorted(found.items())
        if number not in expected
    ]
    if not expected:
        problems.append(f"{name}: no line marked '# E: <code>'")
    return problems


def pyright_problems(source: str, report: str, name: str = MISTAKES) -> list[str]:
    """The same check for pyright, whose rule names differ from mypy's codes: each marked line
    must have an error, no other line any."""
    expected = {n for n, line in enumerate(source.splitlines(), 1) if MARK.search(line)}
    found = {
        int(m["line"])
        for line in report.splitlines()
        if (m := PYRIGHT.match(line)) and Path(m["file"]).name == name
    }
    problems = [f"{name}:{n}: pyright said nothing" for n in sorted(expected - found)]
    return problems + [f"{name}:{n}: unexpected pyright error" for n in sorted(found - expected)]


def check_pyright(pyright: Path, python: Path, cwd: Path, env: dict[str, str]) -> None:
    """pyright on the consumer, the tests and the mistakes file, if it starts here (its PyPI
    package fetches Node.js on first use: where that is impossible the step says so and is
    skipped, never failed)."""
    args = [str(pyright), "--pythonpath", str(python)]
    probe = subprocess.run(
        [*args, "--version"], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        why = (probe.stdout + probe.stderr).strip().splitlines() or ["no output"]
        print(f"[  0.0 s] pyright: SKIPPED, it does not start here ({why[-1][:120]})")
        return
    print(
        step(
            f"{probe.stdout.strip()} consumer.py test_downstream.py",
            [*args, "consumer.py", "test_downstream.py"],
            cwd,
            env,
        ).splitlines()[-1]
    )
    started = time.perf_counter()
    done = subprocess.run(
        [*args, MISTAKES], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    report = done.stdout + done.stderr
    source = (cwd / MISTAKES).read_text()
    problems = pyright_problems(source, report)
    marked = sum(1 for line in source.splitlines() if MARK.search(line))
    seconds = time.perf_counter() - started
    verdict = "ok" if not problems and done.returncode == 1 else "FAILED"
    print(f"[{seconds:5.1f} s] pyright {MISTAKES}: all {marked} marked lines reported: {verdict}")
    print(report.strip().splitlines()[-1])
    if verdict != "ok":
        print(report)
        print("\n".join(problems))
        raise SystemExit(1)


def _said(codes: set[str] | None) -> str:
    return str(sorted(codes)) if codes else "nothing"


def check_mistakes(mypy: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run mypy on the mistakes file; SystemExit unless exactly the marked lines are reported."""
    started = time.perf_counter()
    done = subprocess.run(
        [*mypy, MISTAKES], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    report = done.stdout + done.stderr
    source = (cwd / MISTAKES).read_text()
    problems = mistake_problems(source, report)
    marked = sum(1 for line in source.splitlines() if MARK.search(line))
    title = f"mypy --strict {MISTAKES}: all {marked} marked lines reported, nothing else"
    seconds = time.perf_counter() - started
    print(f"[{seconds:5.1f} s] {title}: {'ok' if not problems else 'FAILED'}")
    if problems or done.returncode != 1:
        print(report)
        print("\n".join(problems))
        raise SystemExit(1)
    return report


def venv(path: Path, cwd: Path, requirement: str, *extra: str) -> Path:
    step(
        f"fresh venv {path.name}",
        [*uv(), "venv", "--quiet", "--python", sys.executable, str(path)],
        cwd,
    )
    python = path / "bin" / "python"
    step(
        f"install {requirement.split(' @ ')[0]} {' '.join(extra)}".rstrip(),
        [*uv(), "pip", "install", "--quiet", "--python", str(python), requirement, *extra],
        cwd,
    )
    return python


def main() -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vidgate-downstream-") as tmp:
        work = Path(tmp)
        # the fresh venvs' bytecode goes away with them (the Makefile points PYTHONPYCACHEPREFIX
        # at the repository's .pycache/, which would keep every temporary venv's)
        os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        dist = work / "dist"
        step(
            "uv build (sdist, then the wheel from the sdist)",
            [*uv(), "build", "--quiet", "--out-dir", str(dist)],
            ROOT,
        )
        check_archives(dist)
        (wheel,) = dist.glob("*.whl")
        tools = work / "downstream-tools.txt"
        step(
            "locked downstream tools (uv export --only-group downstream)",
            [
                *uv(),
                "export",
                "--frozen",
                "--quiet",
                "--only-group",
                "downstream",
                "--no-hashes",
                "--no-emit-project",
                "--output-file",
                str(tools),
            ],
            ROOT,
        )

        project = work / "project"
        shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
        python = venv(
            work / "venv", project, f"vidgate[testing] @ {wheel.as_uri()}", "-r", str(tools)
        )
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(README_ENV)
        bin_dir = python.parent
        # one cache, new with the temporary folder: the second run does not check vidgate again
        mypy = [str(bin_dir / "mypy"), "--cache-dir", str(work / "mypy-cache")]
        print(
            step(
                "mypy --strict consumer.py test_downstream.py",
                [*mypy, "consumer.py", "test_downstream.py"],
                project,
                env,
            )
        )
        report = check_mistakes(mypy, project, env)
        print("\n".join(line for line in report.splitlines() if ": note: " not in line))
        check_pyright(bin_dir / "pyright", python, project, env)
        print(
            step(
                "pytest test_downstream.py (IMINI_*/APIMART_* exported)",
                [str(python), "-m", "pytest", "-q", "test_downstream.py"],
                project,
                env,
            ).splitlines()[-1]
        )
        auto = ["-o", "asyncio_mode=auto", "-k", "not anyio", "test_downstream.py"]
        print(
            step(
                "pytest again, pytest-asyncio in auto mode (the anyio test left out)",
                [str(python), "-m", "pytest", "-q", *auto],
                project,
                env,
            ).splitlines()[-1]
        )

        bare = venv(work / "bare", project, f"vidgate @ {wheel.as_uri()}")
        print(step("bare wheel: the library", [str(bare), "-c", LIBRARY], project, env))
        cli = venv(work / "cli", project, f"vidgate[cli] @ {wheel.as_uri()}")
        print(step("[cli]: vidgate --version", [str(cli.parent / "vidgate"), "--version"], project))
        command, bare_python = str(bare.parent / "vidgate"), str(bare)
        for title, cmd, extra, one_line in (
            ("bare wheel: vidgate --version", [command, "--version"], "cli", 1),
            (
                "bare wheel: import vidgate.mock",
                [bare_python, "-c", "import vidgate.mock"],
                "mock",
                0,
            ),
            (
                "bare wheel: import vidgate.spectools.specfile",
                [bare_python, "-c", "import vidgate.spectools.specfile"],
                "tools",
                0,
            ),
            (
                "[cli]: vidgate mock",
                [str(cli.parent / "vidgate"), "mock", "--port", "0"],
                "mock",
                1,
            ),
        ):
            done = subprocess.run(
                cmd, cwd=project, env=env, capture_output=True, text=True, check=False
            )
            lines = done.stderr.strip().splitlines() or [""]
            ok = done.returncode != 0 and f"pip install 'vidgate[{extra}]'" in lines[-1]
            ok = ok and (len(lines) == 1 or not one_line)
            print(f"         {title}: exit {done.returncode}, {lines[-1] if lines else ''!r}")
            if not ok:
                print(done.stderr)
                return 1
    print(f"downstream check passed in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
