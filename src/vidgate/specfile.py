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

from vidgate._extras import require

require("tools", "the spec-file tools (vidgate.specfile)")  # one line naming the extra

from ruamel.yaml import YAML  # noqa: E402
from ruamel.yaml.error import YAMLError  # noqa: E402

__all__ = ["SpecFile", "SpecUnreadable", "escape", "load", "loads", "pointer_parts"]


class SpecUnreadable(ValueError):
    """The spec file is missing, unreadable, not YAML, or not an OpenAPI document."""


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
        problem = getattr(exc, "problem", None) or exc
        raise SpecUnreadable(f"{path} is not YAML: {problem}{where}") from None
    if not isinstance(doc, dict) or "openapi" not in doc or "components" not in doc:
        raise SpecUnreadable(f"{path} is not an OpenAPI document (no openapi/components keys)")
    return SpecFile(path, doc, text)


def load(path: Path) -> SpecFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise SpecUnreadable(f"cannot read spec {path}: {reason}") from None
    return loads(text, path)
