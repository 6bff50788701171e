"""Pages in other shapes than the text a browser saves: the docs site's Markdown/MDX source
(Mintlify ``<ParamField body="name" type="..." required default="...">`` components) and field
tables in Markdown (``| Parameter | Type | Required | Default | Description |``, or the Chinese
page's ``| 参数 | 类型 | 必填 | 默认值 | 说明 |``). Each is rewritten in the browser-text shape (a
field's name, its type on the next line, ``required``, ``default:``, ``Available options:``, its
description), every line keeping the number of the source line it came from, so that
``docs_diff`` reads one shape and names the lines of the page as written.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["as_text", "json_objects"]

Lines = list[tuple[int, str]]

TYPES = {  # the docs site's spellings, as the browser shows them
    "bool": "boolean",
    "string[]": "array<string>",
    "object[]": "object[]",
    "array<object>": "object[]",
    "enum": "enum<string>",
    "int": "integer",
    "float": "number",
}
PARAM = re.compile(r"<ParamField\s+([^>]*?)(/?)>")
CLOSE = re.compile(r"</ParamField>")
ATTR = re.compile(r"(\w+)(?:=(?:\"([^\"]*)\"|'([^']*)'|\{([^}]*)\}))?")
OPTIONS = re.compile(r"^(?:Available options|Options|可选值|取值)\s*[:\uff1a]\s*(.+)$")
HEADINGS = {
    "name": ("parameter", "param", "name", "field", "参数", "参数名", "字段", "名称", "字段名"),
    "type": ("type", "类型"),
    "required": ("required", "必填", "是否必填", "必选", "是否必须", "必需"),
    "default": ("default", "默认值", "默认"),
    "description": ("description", "desc", "说明", "描述", "备注"),
}
YES = {"yes", "true", "required", "y", "是", "必填", "✓", "✅", "√"}
NONE = {"", "-", "—", "无", "none", "n/a"}
RESPONSE = re.compile(r"^#+\s*.*(?:response|响应|返回)", re.IGNORECASE)


def as_text(text: str) -> Lines | None:
    """The request fields of a page in another shape, as browser text; None for browser text."""
    if PARAM.search(text):
        return _param_fields(text)
    table = _table(text)
    return table or None


def _plain(line: str) -> str:
    """Markdown inline marks off; list items as the browser's bullets."""
    line = line.replace("`", "").replace("**", "")
    if m := re.match(r"^(\s*)[-*]\s+(.*)$", line):
        return " " * (2 * len(m.group(1))) + "• " + m.group(2)
    return line


def _description(number: int, text: str) -> Lines:
    """A field's description, with an inline list of options spelled out."""
    text = _plain(text)
    m = OPTIONS.match(text.strip())
    if not m:
        return [(number, text)]
    values = [v.strip() for v in re.split(r"[,\u3001|]", m.group(1)) if v.strip()]
    out = [(number, "Available options:")]
    out += [(number, v + ("," if i < len(values) - 1 else "")) for i, v in enumerate(values)]
    return out


def _field(number: int, name: str, kind: str, required: bool, default: str | None) -> Lines:
    out = [(number, name), (number, TYPES.get(kind, kind))]
    if required:
        out.append((number, "required"))
    if default is not None:
        out.append((number, f"default:{default}"))
    return out


def _attrs(text: str) -> dict[str, str]:
    found = {}
    for m in ATTR.finditer(text):
        found[m.group(1)] = next((g for g in m.groups()[1:] if g is not None), "")
    return found


def _param_fields(text: str) -> Lines:
    """``<ParamField body=...>`` components, in order; nested ones (an object's keys) become
    ``• name — type`` bullets of their parent, as the browser shows extra_params."""
    lines = text.splitlines()
    out: Lines = []
    depth = 0
    indent = 0
    body_field = False  # the open top-level component is a body field (not a header or path)
    for number, line in enumerate(lines, 1):
        opened = PARAM.search(line)
        if opened:
            attrs = _attrs(opened.group(1))
            name = attrs.get("body")
            if depth == 0:
                body_field = name is not None
            if depth == 0 and name:
                required = "required" in attrs and attrs["required"] not in ("false",)
                kind, default = attrs.get("type", ""), attrs.get("default")
                out += _field(number, name, kind, required, default)
                indent = len(line) - len(line.lstrip())
            elif name:  # a key of an object field
                said = f"• {name} — {TYPES.get(attrs.get('type', ''), attrs.get('type', ''))}"
                if attrs.get("default", ""):
                    said += f", defaults to {attrs['default']}."
                out.append((number, said))
            if not opened.group(2):
                depth += 1
            rest = line[opened.end() :]
            if depth == 1 and body_field and CLOSE.sub("", rest).strip():
                out += _description(number, CLOSE.sub("", rest).strip())
            if CLOSE.search(rest):
                depth -= 1
            continue
        if CLOSE.search(line):
            depth -= 1
            continue
        if not body_field:
            continue
        if depth == 1:
            body = line[indent:] if line[:indent].strip() == "" else line.lstrip()
            body = body[2:] if body.startswith("  ") else body  # the component's own indent
            out += _description(number, body)
        elif depth > 1 and line.strip() and not line.strip().startswith("<"):
            out.append((number, "    " + _plain(line.strip())))
    return out


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(text: str) -> Lines:
    """Rows of the Markdown field tables before the response section."""
    lines = text.splitlines()
    out: Lines = []
    columns: dict[str, int] | None = None
    for number, line in enumerate(lines, 1):
        if RESPONSE.match(line.strip()):
            break
        if not line.strip().startswith("|"):
            columns = None
            continue
        cells = _cells(line)
        if columns is None:
            found = {
                key: i
                for i, cell in enumerate(cells)
                for key, names in HEADINGS.items()
                if cell.strip("*` ").lower() in names
            }
            if "name" in found and "type" in found:
                columns = found
            continue
        if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
            continue
        row = {key: cells[i] if i < len(cells) else "" for key, i in columns.items()}
        get = row.get
        name = get("name", "").strip("`* ")
        kind = get("type", "").strip("`* ").replace("\\", "")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            continue
        default = get("default", "").strip("`* ")
        out += _field(
            number,
            name,
            kind.lower(),
            get("required", "").strip("`* ").lower() in YES,
            None if default.lower() in NONE else default.strip('"'),
        )
        for part in re.split(r"<br\s*/?>", get("description", "")):
            if part.strip():
                out += _description(number, part)
    return out


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object written on a page (request bodies, replies, use cases), in order; text
    that is not JSON is stepped over one character at a time."""
    decoder, found, i = json.JSONDecoder(), [], 0
    while (i := text.find("{", i)) != -1:
        try:
            obj, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i += 1
            continue
        if isinstance(obj, dict):
            found.append(obj)
        i = end
    return found
