"""A committed copy of the working tree, for the proofs that run the docs' commands in it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["ROOT", "copy_repo"]

ROOT = Path(__file__).resolve().parent.parent


def copy_repo(dest: Path, message: str) -> None:
    """The working tree as git sees it (tracked and untracked, not ignored), committed in a new
    repository at ``dest`` with ``message``."""
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
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", message]):
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
        subprocess.run(git, cwd=dest, check=True, capture_output=True)
