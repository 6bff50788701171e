"""A spec file read from disk with its layout kept: JSON pointers, ``file:line`` locations and
round-trip writes (comments, key order, quoting and flow style preserved; ruamel.yaml).

Runtime code reads the specs from ``vidgate_specs`` (no YAML); this module is for the tools that
read or edit ``specs/*.yaml`` themselves: ``docs-diff --spec``, ``--apply``, ``spec-diff`` and
the release script.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidgate.errors import VidgateError
from vidgate.extras import require

require("tools", "the spec-file module (vidgate.spectools.specfile)")  # one line naming the extra

from ruamel.yaml import YAML  # noqa: E402
from ruamel.yaml.error import YAMLError  # noqa: E402

__all__ = [
    "MAX_NODES",
    "SpecFile",
    "SpecToolError",
    "SpecUnreadable",
    "check_bounded",
    "escape",
    "load",
    "loads",
    "pointer_parts",
]

# a bound for the tools, not a documented number: the document with every YAML alias expanded
# (our specs are about 2,000 nodes); an alias bomb expands to billions
MAX_NODES = 200_000


class SpecUnreadable(ValueError):
    """The spec file is missing, unreadable, not YAML, or not an OpenAPI document."""


class SpecToolError(VidgateError, ValueError):
    """A spec tool cannot do what it was asked as asked. A message that says what to pass names
    the tool's parameter as a library caller gives it (``model=``); ``worded`` spells it another
    way (the CLI's ``--model``). A ValueError, like every error the spec tools raise."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(type(None), _null)  # `null`, as written, not empty
    return yaml


def _null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def pointer_parts(pointer: str) -> list[str]:
    """``#/a/b~1c`` or ``/a/b~1c`` → ``["a", "b/c"]``."""
    body = pointer.removeprefix("#")
    if body in ("", "/"):
        return []
    if not body.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in body[1:].split("/")]


@dataclass
class SpecFile:
    path: Path
    doc: Any  # ruamel CommentedMap: a dict that also knows its lines
    text: str

    def node(self, pointer: str) -> Any:
        node = self.doc
        for part in pointer_parts(pointer):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def line(self, pointer: str) -> int | None:
        """The 1-based line of the deepest existing key along ``pointer``."""
        node, line = self.doc, None
        for part in pointer_parts(pointer):
            try:
                lc: Any = getattr(node, "lc", None)  # ruamel's line/column record
                if isinstance(node, list):
                    index = int(part)
                    line = lc.item(index)[0] + 1
                    node = node[index]
                elif isinstance(node, dict) and part in node:
                    line = lc.key(part)[0] + 1
                    node = node[part]
                else:
                    break
            except (AttributeError, IndexError, KeyError, TypeError, ValueError):
                break
        return line

    def location(self, pointer: str) -> str:
        line = self.line(pointer)
        return f"{self.path}:{line}" if line else str(self.path)

    def dumps(self) -> str:
        buffer = io.StringIO()
        _yaml().dump(self.doc, buffer)
        return buffer.getvalue()

    def save(self, path: Path | None = None) -> None:
        (path or self.path).write_text(self.dumps(), encoding="utf-8")


def loads(text: str, path: Path) -> SpecFile:
    try:
        doc = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = _short(str(getattr(exc, "problem", None) or exc))
        raise SpecUnreadable(f"{path} is not YAML: {problem}{where}") from None
    if not isinstance(doc, dict) or "openapi" not in doc or "components" not in doc:
        raise SpecUnreadable(f"{path} is not an OpenAPI document (no openapi/components keys)")
    check_bounded(doc, path)
    return SpecFile(path, doc, text)


def _short(text: str, most: int = 300) -> str:
    """One line of at most ``most`` characters (a YAML error may quote a whole mapping)."""
    line = " ".join(text.split())
    return line if len(line) <= most else line[: most - 1] + "…"


def check_bounded(doc: Any, path: Path | str) -> None:
    """Raise SpecUnreadable, in one line, for a document the tools could not walk in bounded
    time: YAML aliases expanding past MAX_NODES nodes or into themselves, a ``$ref`` that is not
    a local pointer to an existing node, or a cycle of ``$ref`` (a schema reachable from
    itself). Linear in the distinct nodes: an alias is looked at once, never expanded."""
    sizes: dict[int, int] = {}
    refs_below: dict[int, frozenset[str]] = {}
    active: set[int] = set()

    def walk(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise SpecUnreadable(f"{path}: a YAML alias contains itself (a recursive alias)")
        active.add(key)
        children = list(node.values()) if isinstance(node, dict) else list(node)
        total = 1 + sum(walk(child) for child in children)
        refs: set[str] = set()
        for child in children:
            refs |= refs_below.get(id(child), frozenset())
        if isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise SpecUnreadable(f"{path}: $ref {_short(repr(ref), 80)} is not a local pointer")
            refs.add(ref)
        active.discard(key)
        sizes[key], refs_below[key] = total, frozenset(refs)
        return total

    total = walk(doc)
    if total > MAX_NODES:
        raise SpecUnreadable(
            f"{path}: its YAML aliases expand to {total} nodes, over {MAX_NODES} (an alias bomb?)"
        )
    _refuse_ref_cycles(doc, path, refs_below)


def _refuse_ref_cycles(doc: Any, path: Path | str, refs_below: dict[int, frozenset[str]]) -> None:
    every = set().union(*refs_below.values()) if refs_below else set()
    edges: dict[str, frozenset[str]] = {}
    for ref in every:
        try:
            node: Any = doc
            for part in pointer_parts(ref):
                node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise SpecUnreadable(f"{path}: $ref {_short(ref, 80)} points at nothing") from None
        edges[ref] = refs_below.get(id(node), frozenset())
    done: set[str] = set()
    for start in sorted(edges):  # depth-first, iteratively: the chain is the cycle's witness
        if start in done:
            continue
        chain, stack = [start], [iter(sorted(edges[start]))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                done.add(chain.pop())
                stack.pop()
            elif step in chain:
                loop = " → ".join([*chain[chain.index(step) :], step])
                raise SpecUnreadable(f"{path}: $ref cycle {_short(loop, 200)}")
            elif step not in done:
                chain.append(step)
                stack.append(iter(sorted(edges[step])))


def load(path: Path) -> SpecFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise SpecUnreadable(f"cannot read spec {path}: {reason}") from None
    return loads(text, path)
