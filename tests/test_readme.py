"""Every code block of README.md and docs/*.md runs here, so none can rot.

Blocks are found when the tests are collected: a block added to the README or a docs page, or a
new page, is tested without any change here. Fences may be indented (a block inside a numbered
step); the block is read dedented. Python blocks run as scripts (or, when they define ``test_``
functions, under pytest with vidgate's plugin); shell blocks run in bash against the mock gateway
as a real server; YAML blocks must parse. Each runs in a fresh folder holding ``.venv`` and
``specs`` (links into the repository) and the files the commands name. The IMINI_*/APIMART_*
variables the CLI page exports point at the mock server.

A shell command may exit 1 (invalid body, failed task) only in a block that shows what it prints:
full-line ``# ...`` comments right after a command are its expected output, and each must appear in
what the block printed. Any other failure, or exit status 2 and above, fails the test.

A block that cannot run here is marked on the line before its fence, and reported as skipped with
its reason: ``<!-- docs-test: skip: REASON -->``, or ``<!-- docs-test: run-by: tests/FILE.py -->``
for a block another test runs as written (that file reads the page: ``PAGE = "docs/NAME.md"``).
Blocks in another language fail until given a runner here.
``test_the_docs_have_blocks_and_few_skips`` prints how many blocks each file has and what happens
to them (``pytest -s`` shows it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from vidgate import spec

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
VENV = Path(sys.prefix)  # the environment running the tests (the clone's .venv, as a rule)
MARK = re.compile(r"<!--\s*docs-test:\s*(?P<kind>skip|run-by):\s*(?P<reason>.*?)\s*-->")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
SHELLS = {"sh", "bash", "shell", "console"}
YAML = {"yaml", "yml"}
TIMEOUT = 120


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository root
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip: str | None  # the stated reason, when marked skip
    run_by: str | None = None  # the test file that runs it, when marked run-by

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}:{self.lang or 'plain'}"


def blocks(text: str, page: str = "README.md") -> list[Block]:
    found: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(j for j in range(index + 1, len(lines)) if lines[j].strip() == "```")
        before = next((lines[j] for j in range(index - 1, -1, -1) if lines[j].strip()), "")
        marked = MARK.search(before)
        kind = marked["kind"] if marked else None
        reason = marked["reason"] if marked else None
        code = textwrap.dedent("\n".join(lines[index + 1 : end]) + "\n")
        skip = reason if kind == "skip" else None
        run_by = reason if kind == "run-by" else None
        found.append(Block(page, index + 1, opening["lang"], code, skip, run_by))
        index = end + 1
    return found


BLOCKS = [
    b
    for path in PAGES
    for b in blocks(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mock_server() -> Iterator[dict[str, str]]:
    """`vidgate mock --port 0 --json` with short tasks; yields the CLI page's variables for it."""
    command = [sys.executable, "-c", "from vidgate.cli import main; main()", "mock"]
    options = ["--port", "0", "--json", "--queue", "0", "--run", "0"]  # done at the first poll
    server = subprocess.Popen([*command, *options], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        urls = json.loads(server.stdout.readline())
        yield {
            "IMINI_API_KEY": urls["api_keys"][0],
            "IMINI_BASE_URL": urls["IMINI_BASE_URL"],
            "APIMART_API_KEY": urls["api_keys"][0],
            "APIMART_BASE_URL": urls["APIMART_BASE_URL"],
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout and server.stdout.close()


def _example_body(gateway: spec.Gateway) -> dict[str, object]:
    doc = spec.document(gateway)
    _, operation = spec.submit_operation(doc)
    media = operation["requestBody"]["content"]["application/json"]
    examples = media.get("examples") or {"only": {"value": media["example"]}}
    return dict(next(iter(examples.values()))["value"])


def workdir(folder: Path) -> Path:
    """A folder like a clone's root, with the files the pages' commands name."""
    folder.mkdir(parents=True)
    (folder / ".venv").symlink_to(VENV)
    (folder / "specs").symlink_to(ROOT / "specs")
    body = _example_body("apimart")
    (folder / "body.json").write_text(json.dumps(body))
    (folder / "jobs.jsonl").write_text(json.dumps(body) + "\n" + json.dumps(body) + "\n")
    seeds = Path(os.environ.get("VIDGATE_DOCS_DIR", ROOT.parent / "shared" / "seeds"))
    table = (seeds / "README.md").read_text(encoding="utf-8") if seeds.is_dir() else ""
    for name, model in (("new-kling-page.txt", "kling/kling-v3 |"), ("page.txt", "| apimart |")):
        row = next((r for r in table.splitlines() if model in r), None)
        if row is not None:
            shutil.copy(seeds / row.split("|")[1].strip(), folder / name)
    return folder


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=cwd,
        env={**os.environ, **env, "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def expected_output(code: str) -> list[str]:
    """Full-line comments right after a command line: what the page says it prints."""
    expected: list[str] = []
    after_command = False  # the previous line was a command, or output shown after one
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            if after_command:
                expected.append(" ".join(stripped.lstrip("#").split()))
        else:
            after_command = bool(stripped)
    return [e for e in expected if e]


def execute(block: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if block.lang in SHELLS:
        port = str(free_port())  # a block that starts its own mock gets a free port, not 4010
        script = "\n".join(
            [
                "set -o pipefail",
                "trap 'echo \"docs-test: exit $? from: $BASH_COMMAND\" >&2' ERR",
                "trap 'trap - ERR; kill $(jobs -p) 2>/dev/null; wait' EXIT",  # stop its servers
                block.code.replace("4010", port),
            ]
        )
        path = f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"  # vidgate as installed
        return run(["bash", "-c", script], cwd, {**env, "PATH": path})
    if re.search(r"^(async )?def test_", block.code, re.MULTILINE):
        (cwd / "test_readme_block.py").write_text(block.code)
        # only the plugins the example needs (make downstream covers the installed autoload)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "vidgate.testing", "-p", "anyio"]
        cmd += ["-p", "no:cacheprovider", "-W", "error", "--strict-markers"]
        env = {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        return run([*cmd, "test_readme_block.py"], cwd, env)
    (cwd / "readme_block.py").write_text(block.code)
    return run([sys.executable, "readme_block.py"], cwd, env)


def judge(block: Block, done: subprocess.CompletedProcess[str]) -> None:
    """A block's run against what the page says of it."""
    printed = done.stdout + done.stderr
    if block.lang not in SHELLS:
        assert done.returncode == 0, f"{block.id}:\n{printed}"
        return
    failures = re.findall(r"docs-test: exit (\d+) from: (.*)", done.stderr)
    hard = [f for f in failures if f[0] != "1"]
    assert not hard, f"{block.id}: {hard}\n{printed}"
    expected = expected_output(block.code)
    assert not failures or expected, f"{block.id}: {failures} without shown output\n{printed}"
    flat = " ".join(printed.split())
    missing = [line for line in expected if line not in flat]
    assert not missing, f"{block.id}: output the page shows was not printed: {missing}\n{printed}"


def parse_yaml(block: Block) -> None:
    """A YAML block (a spec excerpt) must be YAML a spec could hold: a mapping."""
    assert isinstance(yaml.safe_load(block.code), dict), f"{block.id}: not a YAML mapping"


RUNNABLE = [
    b
    for b in BLOCKS
    if b.skip is None and b.run_by is None and (b.lang == "python" or b.lang in SHELLS)
]


JOURNAL_ENV = "VIDGATE_JOURNAL_URL"


def needs_postgres(block: Block) -> bool:
    """A block about the shared journal runs against the test PostgreSQL server."""
    return JOURNAL_ENV in block.code


@pytest.fixture(scope="module")
def postgres(request: pytest.FixtureRequest) -> str | None:
    """The test PostgreSQL server's URL, or None (its blocks are then skipped, saying why)."""
    try:
        return str(request.getfixturevalue("pg_server"))
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="module")
def outcomes(
    mock_server: dict[str, str], postgres: str | None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every runnable block, three at a time (each is mostly waiting on subprocesses)."""
    from conftest import schema_url

    base = tmp_path_factory.mktemp("readme")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {}
        for b in RUNNABLE:
            env = dict(mock_server)
            if needs_postgres(b):
                if postgres is None:
                    continue
                env[JOURNAL_ENV] = schema_url(postgres)  # a fresh schema: one batch per schema
            folder = base / re.sub(r"\W+", "-", b.id)
            futures[b.id] = pool.submit(execute, b, workdir(folder), env)
        return {name: future.result() for name, future in futures.items()}


def reads_the_page(block: Block) -> bool:
    """The test file a run-by block names is under tests/ and reads the block's page: it names
    it in a module constant, ``PAGE = "docs/NAME.md"``, and reads ``(ROOT / PAGE)``."""
    test = ROOT / (block.run_by or "")
    if not (test.is_file() and test.parent == ROOT / "tests"):
        return False
    text = test.read_text(encoding="utf-8")
    named = re.search(rf'^PAGE = "{re.escape(block.page)}"', text, re.MULTILINE)
    return named is not None and "(ROOT / PAGE)" in text


def summary() -> str:
    """How many blocks each file has and what the runner does with them."""
    lines = []
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        mine = [b for b in BLOCKS if b.page == page]
        if not mine:
            continue
        kinds = Counter(
            "skipped" if b.skip else f"run by {b.run_by}" if b.run_by else "run here" for b in mine
        )
        lines.append(
            f"{page}: {len(mine)} blocks, " + ", ".join(f"{n} {k}" for k, n in kinds.items())
        )
    here = sum(1 for b in BLOCKS if b.skip is None and b.run_by is None)
    lines.append(f"all: {len(BLOCKS)} blocks in {len(PAGES)} files, {here} run here")
    return "\n".join(lines)


def test_the_docs_have_blocks_and_few_skips(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n" + summary())
    assert len(BLOCKS) >= 20
    assert {b.page for b in BLOCKS} > {"README.md", "docs/cli.md", "docs/batches.md"}
    skipped = [b for b in BLOCKS if b.skip is not None]
    assert all(b.skip for b in skipped), "a skip needs a reason"
    assert len(skipped) <= 2, [b.id for b in skipped]
    unread = [b.id for b in BLOCKS if b.run_by is not None and not reads_the_page(b)]
    assert unread == [], "run-by names a test file under tests/ whose PAGE is the page"


def test_blocks_are_found_indented_and_marked() -> None:
    page = (
        "<!-- docs-test: run-by: tests/test_x.py -->\n```sh\nmake a\n```\n\n"
        "1. A step:\n\n    ```yaml\n    a:\n      b: 1\n    ```\n"
    )
    first, second = blocks(page, "docs/x.md")
    assert (first.run_by, first.skip, first.id) == ("tests/test_x.py", None, "docs/x.md:2:sh")
    assert (second.lang, second.code, second.run_by) == ("yaml", "a:\n  b: 1\n", None)


def test_the_install_sections_name_every_extra() -> None:
    """The README's install section and the getting-started page's table name every extra
    pyproject.toml declares, and no other."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = set(project["optional-dependencies"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"`(\w+)`", install.split("Extras:", 1)[1])) == extras
    page = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    assert set(re.findall(r"\| `pip install 'vidgate\[(\w+)\]'` \|", page)) == extras


def test_the_readme_links_lead_to_pages_that_exist() -> None:
    """The README's relative links (mkdocs --strict checks the docs pages' own links)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)]+)\)", readme)]
    local = [t for t in targets if "://" not in t]
    assert len(local) >= 10
    assert [t for t in local if not (ROOT / t).is_file()] == []


def test_expected_output_reads_comment_lines_after_a_command() -> None:
    code = "echo hi | tool -\n# hi there\n#   more\ntool b   # inline: not output\n# x\n"
    assert expected_output(code) == ["hi there", "more", "x"]
    assert expected_output("# a heading comment\ntool\n") == []


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block(block: Block, outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    if block.skip is not None:
        pytest.skip(f"marked in {block.page}: {block.skip}")
    if block.run_by is not None:
        pytest.skip(f"run as written by {block.run_by}")
    if block.lang in YAML:
        parse_yaml(block)
        return
    if block not in RUNNABLE:
        pytest.fail(
            f"{block.id}: no runner for {block.lang or 'a plain'} block; add one in "
            "tests/test_readme.py or mark it <!-- docs-test: skip: REASON -->"
        )
    if block.id not in outcomes and needs_postgres(block):
        pytest.skip("no PostgreSQL server could be started (see tests/conftest.py::pg_server)")
    judge(block, outcomes[block.id])
