"""``python -m vidgate.cli``: the ``vidgate`` command (as ``python -m vidgate``, without the check
for the ``cli`` extra)."""

from vidgate.cli import main

main()
