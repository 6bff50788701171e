"""Write the sync client (src/vidgate/client.py) from the async one (src/vidgate/aio.py).

    python scripts/unasync.py           # write client.py (make generate)
    python scripts/unasync.py --check   # fail, naming the file, when client.py differs (make check)

aio.py is the one hand-written source. The sync twin is made in four steps, each visible here:
1. statements marked ``# unasync: async-only`` on their first line are dropped whole (a class,
   an ``except`` clause, an import); a marked line that starts no statement (an item of a list)
   is dropped alone;
2. the name pairs of PAIRS are swapped, in order, on whole words (docstrings included);
3. ruff removes the imports the swap left unused and sorts imports and ``__all__``
   (``--select F401,I001,RUF022``), then formats, both with the project's settings;
4. the result is refused if an async name is left or a name it takes from a module does not
   exist there (a pair is missing from PAIRS), or if a pair swapped nothing (a stale table).
What differs in kind, not in name (an exchange bounded by a deadline), is written in both forms
in src/vidgate/_twin.py.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "vidgate" / "aio.py"
TARGET = ROOT / "src" / "vidgate" / "client.py"
MARK = "# unasync: async-only"
HEADER = "# generated from src/vidgate/aio.py by scripts/unasync.py; do not edit (make generate)\n"
REGEN = "make generate"

# (async, sync): whole-word swaps, in this order (the longer name before the one it contains)
PAIRS: tuple[tuple[str, str], ...] = (
    # the language
    ("async def", "def"),
    ("async with", "with"),
    ("async for", "for"),
    ("await ", ""),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    # the standard library
    ("asyncio.sleep", "time.sleep"),
    ("Awaitable[None]", "None"),
    ("AsyncGenerator", "Generator"),
    ("AsyncIterator", "Iterator"),
    ("aclosing", "closing"),
    ("aclose", "close"),
    # httpx and the generated transport (openapi-python-client)
    ("httpx.AsyncBaseTransport", "httpx.BaseTransport"),
    ("httpx.AsyncClient", "httpx.Client"),
    ("aiter_bytes", "iter_bytes"),
    ("get_async_httpx_client", "get_httpx_client"),
    # vidgate
    ("AsyncClient", "SyncClient"),
    ("AsyncImini", "Imini"),
    ("AsyncApimart", "Apimart"),
    ("AsyncMethods", "SyncMethods"),  # vidgate_typed's per-model overloads
    ("async_deadline", "deadline"),  # vidgate._twin
    # words of the docstrings
    ("Asynchronous clients", "Synchronous clients"),
    ("non-blocking", "blocking"),
    (
        "\n        Cancelling the awaiting task raises WaitCancelled (a CancelledError),"
        " which carries it too.",
        "",
    ),
)

# what must not be left in the sync twin: a name here means a pair is missing from PAIRS
LEFTOVER = re.compile(
    r"\w*(?:[Aa]sync|[Aa]wait)\w*|\b(?:aclos\w*|aiter\w*|anext|__a(?:enter|exit|iter|next)__"
    r"|WaitCancelled|CancelledError)\b|non-blocking"
)


class TwinError(Exception):
    """The source cannot be made into its sync twin as the table stands."""


def _pattern(name: str) -> re.Pattern[str]:
    before = r"\b" if re.match(r"\w", name) else ""
    after = r"\b" if re.search(r"\w$", name) else ""
    return re.compile(before + re.escape(name) + after)


def drop_async_only(text: str) -> str:
    """The source without the statements (or lone lines) marked async-only."""
    marked = {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT and token.string.rstrip().endswith(MARK)
    }
    spans = {line: line for line in marked}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.stmt | ast.excepthandler) and node.lineno in marked:
            end = node.end_lineno or node.lineno
            spans[node.lineno] = max(spans[node.lineno], end)
    dropped = {n for start, end in spans.items() for n in range(start, end + 1)}
    lines = text.splitlines(keepends=True)
    return "".join(line for n, line in enumerate(lines, 1) if n not in dropped)


def swap(text: str, pairs: tuple[tuple[str, str], ...] = PAIRS) -> str:
    """Every pair swapped on whole words; a pair that swaps nothing is an error."""
    unused = []
    for old, new in pairs:
        text, count = _pattern(old).subn(new.replace("\\", "\\\\"), text)
        if not count:
            unused.append(old)
    if unused:
        raise TwinError(f"pairs that swap nothing (remove them from PAIRS): {unused!r}")
    return text


def ruff(text: str) -> str:
    """Unused imports removed, imports and __all__ sorted, formatted: the project's settings."""
    exe = Path(sys.executable).parent / "ruff"
    base = [str(exe) if exe.exists() else "ruff"]
    where = ["--config", str(ROOT / "pyproject.toml"), "--stdin-filename", str(TARGET), "-"]
    steps = (
        ["check", "--fix-only", "--exit-zero", "--select", "F401,I001,RUF022", *where],
        ["format", *where],
    )
    for step in steps:
        done = subprocess.run(
            base + step, input=text, capture_output=True, text=True, cwd=ROOT, check=False
        )
        if done.returncode != 0:
            raise TwinError(f"ruff {step[0]} failed: {done.stderr.strip()}")
        text = done.stdout
    return text


def leftovers(text: str) -> list[str]:
    return [
        f"line {n}: {found.group(0)!r}"
        for n, line in enumerate(text.splitlines(), 1)
        for found in LEFTOVER.finditer(line)
        if found.group(0) != "unasync"  # this script's name, in the header
    ]


def missing_names(text: str) -> list[str]:
    """``module.name`` and ``from module import name`` in the twin that the module lacks."""
    tree = ast.parse(text)
    modules: dict[str, object] = {}
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name] = importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                try:  # a submodule (``from vidgate import _core``) or a name in the module
                    found = importlib.import_module(f"{node.module}.{alias.name}")
                except ImportError:
                    found = importlib.import_module(node.module)
                    if not hasattr(found, alias.name):
                        missing.append(f"line {node.lineno}: {node.module}.{alias.name}")
                modules[alias.asname or alias.name] = found
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and type(modules.get(node.value.id)).__name__ == "module"
            and not hasattr(modules[node.value.id], node.attr)
        ):
            missing.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return missing


def twin(source: str, pairs: tuple[tuple[str, str], ...] = PAIRS) -> str:
    """The sync twin of the async source, as client.py holds it."""
    text = ruff(HEADER + swap(drop_async_only(source), pairs))
    left = leftovers(text)
    if left:
        raise TwinError(
            "async names left in the sync twin (add their sync pair to PAIRS in "
            f"scripts/unasync.py): {', '.join(left)}"
        )
    missing = missing_names(text)
    if missing:
        raise TwinError(
            "names the sync twin takes from modules that lack them (a pair of PAIRS is missing "
            f"or wrong): {', '.join(missing)}"
        )
    return text


def shown(path: Path) -> str:
    """A path as the messages name it: from the repository's root when it lies inside."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the target differs")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the async module")
    parser.add_argument("--target", type=Path, default=TARGET, help="the sync module")
    args = parser.parse_args(argv)
    source, target = shown(args.source), shown(args.target)
    try:
        fresh = twin(args.source.read_text(encoding="utf-8"))
    except TwinError as exc:
        print(f"{source}: {exc}", file=sys.stderr)
        return 1
    if not args.check:
        if not args.target.exists() or args.target.read_text(encoding="utf-8") != fresh:
            args.target.write_text(fresh, encoding="utf-8")
        print(f"wrote {target} from {source}")
        return 0
    current = args.target.read_text(encoding="utf-8") if args.target.exists() else ""
    if current == fresh:
        print(f"{target}: the sync twin of {source}, up to date")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(), fresh.splitlines(), target, "regenerated", lineterm="", n=1
    )
    print(
        f"stale: {target} differs from what scripts/unasync.py writes from {source} "
        f"(never edit it; edit the source and run {REGEN})\n" + "\n".join(list(diff)[:20]),
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
