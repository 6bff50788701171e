"""``vidgate`` (the console script) and ``python -m vidgate``: the command line.

It needs the ``cli`` extra (typer, rich); without it, one line naming the pip command and exit 2,
not a traceback: ``pip install vidgate`` alone is the library.
"""

from __future__ import annotations

import sys

from vidgate import exits
from vidgate.extras import MissingExtraError, require

__all__ = ["main"]


def main() -> None:
    """Run the ``vidgate`` command, or say in one line which extra it needs."""
    try:
        require("cli", "the vidgate command")
    except MissingExtraError as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(exits.USAGE) from None
    from vidgate.cli import main as run

    run()


if __name__ == "__main__":
    main()
