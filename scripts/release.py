"""Version a contract change: bump the versions by what `vidgate spec-diff` finds and write the
CHANGELOG.md entry.

    python scripts/release.py --from HEAD            # or: make release FROM=HEAD
    python scripts/release.py --from v0.1.0 --dry-run

Compares every specs/*.yaml with its text at the git revision. When anything changed, it sets
each changed spec's ``info.version`` (a date, YYYY.MM.DD; a fourth part counts releases on the
same day), bumps the package version by the suggested semver step (pyproject.toml, uv.lock's
entry for vidgate, ``vidgate.__version__``), and puts a new section at the top of CHANGELOG.md.
The section is a draft: edit it by hand before committing; nothing rewrites older sections.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from pathlib import Path

from vidgate.spectools import spec_diff, specfile

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG_HEAD = (
    "# Changelog\n\n"
    "Contract changes by release, newest first. Each section starts as the output of\n"
    "`make release` (`vidgate spec-diff` against the previous release) and is edited by hand.\n\n"
)
VERSION_FILES = (
    ("pyproject.toml", re.compile(r'^(version = ")([^"]+)(")', re.M)),
    ("uv.lock", re.compile(r'^(name = "vidgate"\nversion = ")([^"]+)(")', re.M)),
    ("src/vidgate/__init__.py", re.compile(r'^(__version__ = ")([^"]+)(")', re.M)),
)


def package_version(root: Path) -> str:
    match = VERSION_FILES[0][1].search((root / "pyproject.toml").read_text())
    if not match:
        raise SystemExit("pyproject.toml has no version line")
    return match.group(2)


def contract_version(current: str, today: dt.date) -> str:
    """Today's date, with a counter when the contract already changed today."""
    base = today.strftime("%Y.%m.%d")
    if current == base:
        return f"{base}.1"
    if current.startswith(base + "."):
        return f"{base}.{int(current.rsplit('.', 1)[1]) + 1}"
    return base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--from", dest="rev", required=True, help="git revision of the last release"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--date", type=dt.date.fromisoformat, default=dt.datetime.now(dt.UTC).date()
    )
    parser.add_argument("--dry-run", action="store_true", help="print, write nothing")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    os.chdir(root)  # paths in the output and in git are relative to the repo
    root = Path(".")
    specs = sorted(Path("specs").glob("*.yaml"))
    try:
        pairs = spec_diff.compare_files(specs, args.rev)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    bump = spec_diff.overall_bump(pairs)
    old = package_version(root)
    new = spec_diff.bump_version(old, bump)
    for line in spec_diff.render(pairs, old):
        print(line)
    if bump == "none":
        print(f"no contract change since {args.rev}: nothing to release")
        return 0
    if args.dry_run:
        return 0
    for path, (_, report) in zip(specs, pairs, strict=True):
        if report.changes:
            source = specfile.load(path)
            before = str(source.doc["info"]["version"])
            source.doc["info"]["version"] = contract_version(before, args.date)
            source.save()
            print(
                f"{path.relative_to(root)}: info.version {before} → {source.doc['info']['version']}"
            )
    for name, pattern in VERSION_FILES:
        path = root / name
        text = path.read_text()
        if pattern.search(text):
            path.write_text(pattern.sub(rf"\g<1>{new}\g<3>", text, count=1))
            print(f"{name}: version {old} → {new}")
    changelog = root / "CHANGELOG.md"
    text = changelog.read_text() if changelog.exists() else CHANGELOG_HEAD
    head, sep, rest = text.partition("\n## ")
    entry = spec_diff.changelog_entry(pairs, new, args.date.isoformat())
    changelog.write_text(f"{head.rstrip()}\n\n{entry}\n" + (f"## {rest}" if sep else ""))
    print(f"CHANGELOG.md: section {new} added (edit it by hand before committing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
