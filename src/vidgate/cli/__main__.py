"""``python -m vidgate.cli``: the same command as ``vidgate`` (scripts run it this way)."""

from vidgate.cli import main

main()
