"""The README's "When a docs page changes", end to end, in a temporary copy of the repo.

The kling-v3 page gets three edits (its maximum duration lowered, an aspect ratio added, its
image limit raised); then every command of that README section runs as written, in order, and
must succeed: docs-diff finds the differences, --apply writes them, docs-diff is clean, spec-diff
calls the change breaking, the release bumps the versions and drafts CHANGELOG.md, everything is
regenerated, the check passes, and the unit and contract layers (and the seed-page docs test)
are green with no test edited.

Affordable on 2 cores: ``make check`` runs its spec parts (spec lint, golden check, README rules
table; ruff and mypy see no changed code here) and ``make test`` runs every test that is not
slow (this one and the codegen/mypy runs are) or live: about 2 minutes. ``make`` itself is not
called: the copy has no .venv, so each target runs its recipe with this interpreter and the
copy's code first on PYTHONPATH.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import seeds
import specvalues

from vidgate.spec_diff import bump_version

pytestmark = [pytest.mark.slow, pytest.mark.proof]  # `make test-slow`, not `make test`
ROOT = Path(__file__).resolve().parent.parent
KLING = "kling/kling-v3"
TESTS = ["tests"]
LAYERS = "not live and not slow"  # unit, contract and docs
CLI = [sys.executable, "-c", "from vidgate.cli import main; main()"]
MAKE = {
    "make generate": [[sys.executable, "scripts/generate.py"]],
    "make check": [
        [sys.executable, "scripts/lint_specs.py"],
        [sys.executable, "scripts/generate.py", "--check"],
        [sys.executable, "scripts/rules_table.py", "--check"],
    ],
    "make test": [
        [sys.executable, "-m", "pytest", "-qx", "-p", "no:cacheprovider", "-m", LAYERS, *TESTS]
    ],
}


def readme_commands() -> list[str]:
    """Every command of the README section, in order (comments and outputs left out)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## When a docs page changes", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            command = line.strip().split("  #", 1)[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def _copy_repo(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "before the page changed"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=dest,
            check=True,
            capture_output=True,
        )


def _edit_page(text: str) -> tuple[str, dict[str, int]]:
    """The three edits, moving the page's own numbers."""
    duration = specvalues.prop("imini", KLING, "duration")
    images = specvalues.prop("imini", KLING, "reference_images")
    ratios = specvalues.prop("imini", KLING, "aspect_ratio")["enum"]
    new_max, new_items = duration["maximum"] - 3, images["maxItems"] + 2
    text, n1 = re.subn(
        rf"(Required range: \d+ <= x <= ){duration['maximum']}\b", rf"\g<1>{new_max}", text
    )
    text, n2 = re.subn(
        rf"(Maximum array length: ){images['maxItems']}\b", rf"\g<1>{new_items}", text
    )
    listed = ",\n".join(ratios)
    added = next(r for r in ("4:3", "3:4", "21:9") if r not in ratios)
    text, n3 = re.subn(re.escape(listed) + r"(?!,)", f"{listed},\n{added}", text)
    assert (n1, n2, n3) == (1, 1, 1), "the kling-v3 page changed: update these edits"
    return text, {"maximum": new_max, "maxItems": new_items, "old_maximum": duration["maximum"]}


def test_a_page_change_goes_green_end_to_end(tmp_path: Path) -> None:
    repo, docs = tmp_path / "repo", tmp_path / "shared" / "seeds"
    repo.mkdir()
    _copy_repo(repo)
    shutil.copytree(seeds.docs_dir(), docs)
    (page,) = [p for p in seeds.pages() if p.model == KLING]
    edited, values = _edit_page(page.text)
    (docs / page.path.name).write_text(edited, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(repo / p) for p in ("src", "generated", "tests")),
        "VIDGATE_DOCS_DIR": str(docs),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    commands = readme_commands()
    assert commands, "the README section has no commands"
    outputs: list[str] = []
    for command in commands:
        if (match := re.fullmatch(r"(\w+)=(\S+)", command)) is not None:
            env[match.group(1)] = match.group(2)  # ../shared/seeds from the copy is `docs`
            continue
        argv = shlex.split(re.sub(r"\$(\w+)", lambda m: env[m.group(1)], command))
        if argv[0] == ".venv/bin/vidgate":
            runs = [CLI + argv[1:]]
        elif argv[:2] == ["make", "release"]:
            rev = argv[2].removeprefix("FROM=")
            runs = [[sys.executable, "scripts/release.py", "--from", rev, "--date", "2030-01-02"]]
        else:
            runs = MAKE[command]
        for run in runs:
            done = subprocess.run(run, cwd=repo, env=env, capture_output=True, text=True)
            outputs.append(f"$ {command}\n{done.stdout}{done.stderr}")
            first_diff = "docs-diff" in command and "--apply" not in command and len(outputs) == 1
            expected = 1 if first_diff else 0
            assert done.returncode == expected, "\n".join(outputs)
    log = "\n".join(outputs)
    # what each step printed
    assert (
        f"duration: maximum: page {values['maximum']}, spec {values['old_maximum']} → edit " in log
    )
    assert f"wrote duration: maximum = {values['maximum']}" in log
    assert f"wrote reference_images: maxItems = {values['maxItems']}" in log
    assert "wrote aspect_ratio: enum" in log
    assert re.search(r"BREAKING\s+kling/kling-v3 duration: maximum lowered", log)
    assert re.search(r"compatible\s+kling/kling-v3 reference_images: maxItems raised", log)
    assert "suggested bump: major" in log
    # the page and the spec agree now, and the release is recorded
    again = subprocess.run(
        [*CLI, "docs-diff", str(docs / page.path.name), "--spec", "specs/imini.yaml"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    changelog = (repo / "CHANGELOG.md").read_text()
    before = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    after = bump_version(before, "major")  # a lowered maximum is breaking
    assert f"## {after} (2030-01-02)" in changelog
    assert changelog.index(f"## {after}") < changelog.index(f"## {before}")
    assert f'version = "{after}"' in (repo / "pyproject.toml").read_text()
    assert "version: 2030.01.02" in (repo / "specs" / "imini.yaml").read_text()
    # a reviewable diff: the generated lines that changed are the ones that depend on the edit
    diff = subprocess.run(
        ["git", "diff", "-U0", "--", "generated/"], cwd=repo, capture_output=True, text=True
    ).stdout
    per_file = dict(re.findall(r"^\+\+\+ b/generated/(\S+)\n(.*?)(?=^diff |\Z)", diff, re.M | re.S))
    files = set(per_file)
    changed = [
        line
        for name, body in per_file.items()
        if name != "MANIFEST.json"
        for line in body.splitlines()
        if line[:1] in "+-"
    ]
    assert files <= {
        "MANIFEST.json",
        "vidgate_specs/imini.py",
        "vidgate_models/imini.py",
        "vidgate_imini/models/kling_v3_request.py",
        "vidgate_imini/models/kling_v3_request_aspect_ratio.py",
    }, files
    assert len(changed) <= 40, "\n".join(changed)
