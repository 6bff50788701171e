"""``python -m vidgate.cli``: the ``vidgate`` command, as ``python -m vidgate`` (without the
``cli`` extra, importing the package already said so in one line and exited 2)."""

from vidgate.cli import main

main()
