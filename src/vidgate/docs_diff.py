"""Compare a gateway documentation page with the spec: every field, type, default, option, range
and limit the page states, against the model's schema.

    vidgate docs-diff PAGE --spec specs/imini.yaml

Reads pages in the format of the gateways' API reference (a field name, its type on the next
line, then ``required``, ``default:``, ``Available options:``, ``Required range:``, ``Maximum array
length:``, "up to N characters", "any integer from A to B", "Value range: [A, B]", and
``• name — type`` bullets for extra_params). A difference is *explained* when the spec says why:
the property's ``x-vidgate-docs-diff`` names that kind of difference, or, for a field the page
does not mention, its ``x-vidgate-source`` is not ``doc``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidgate import spec

__all__ = ["Diff", "PageField", "diff_page", "parse_page"]

TYPES = {
    "string": ("string", None),
    "enum<string>": ("string", None),
    "integer": ("integer", None),
    "number": ("number", None),
    "boolean": ("boolean", None),
    "object": ("object", None),
    "object[]": ("array", "object"),
    "array<string>": ("array", "string"),
    "array": ("array", None),
}
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
RANGES = (
    re.compile(r"Required range:\s*(-?\d+)\s*<=\s*x\s*<=\s*(-?\d+)"),
    re.compile(r"any integer from\s*(-?\d+)\s*to\s*(-?\d+)"),
    re.compile(r"range:\s*\[\s*(-?\d+)\s*,\s*(-?\d+)\s*\]"),
)
CHILD = re.compile(r"^\s*•\s*([a-z_][a-z0-9_]*)\s+—\s+(\w+)(.*)$")


@dataclass
class PageField:
    name: str
    type: str
    items: str | None = None
    required: bool = False
    default: str | None = None
    options: list[str] | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_items: int | None = None
    max_length: int | None = None
    children: dict[str, PageField] = field(default_factory=dict)


@dataclass(frozen=True)
class Diff:
    field: str
    kind: str  # missing-in-spec | missing-on-page | type | required | default | enum | ...
    page: Any
    spec: Any
    explained: str | None = None

    def __str__(self) -> str:
        text = f"{self.field}: {self.kind}: page {_show(self.page)}, spec {_show(self.spec)}"
        return f"{text} (explained: {self.explained})" if self.explained else text


def _show(value: Any) -> str:
    return "-" if value is None else json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------- reading a page
def _body_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.strip() in ("Body", "Request Parameters")), None
    )
    if start is None:
        raise ValueError("no 'Body' or 'Request Parameters' section: not a request reference page")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip() == "Response"), len(lines)
    )
    return lines[start + 1 : end]


def parse_page(text: str) -> dict[str, PageField]:
    """The request fields a page documents, with what it says of each."""
    lines = _body_lines(text)
    starts = [
        i
        for i in range(len(lines) - 1)
        if NAME.match(lines[i].strip()) and lines[i + 1].strip() in TYPES
    ]
    fields: dict[str, PageField] = {}
    for n, i in enumerate(starts):
        block = lines[i + 2 : starts[n + 1] if n + 1 < len(starts) else len(lines)]
        kind, items = TYPES[lines[i + 1].strip()]
        fields[lines[i].strip()] = _read_field(lines[i].strip(), kind, items, block)
    return fields


def _read_field(name: str, kind: str, items: str | None, block: list[str]) -> PageField:
    f = PageField(name, kind, items)
    text = "\n".join(block)
    f.required = any(line.strip() == "required" for line in block[:1])
    for line in block:
        if line.strip().startswith("default:"):
            f.default = line.strip()[len("default:") :].strip().strip('"')
    f.options = _options(block, kind)
    for pattern in RANGES:
        match = pattern.search(text)
        if match:
            f.minimum, f.maximum = int(match.group(1)), int(match.group(2))
            break
    if match := re.search(r"Maximum array length:\s*(\d+)", text):
        f.max_items = int(match.group(1))
    if kind == "string" and (match := re.search(r"up to (\d+) characters", text, re.IGNORECASE)):
        f.max_length = int(match.group(1))
    if kind == "object":
        f.children = _children(block)
    return f


def _options(block: list[str], kind: str) -> list[str] | None:
    for i, line in enumerate(block):
        if line.strip() == "Available options:":
            found = []
            for item in block[i + 1 :]:
                value = item.strip()
                found.append(value.rstrip(","))
                if not value.endswith(","):
                    break
            return found
    if kind != "string":
        return None
    for i, line in enumerate(block):
        if line.rstrip().endswith(("Options:", "formats:")):
            found = []
            for item in block[i + 1 :]:
                match = re.match(r"^\s*•\s*(\S+)\s+-\s", item)
                if not match:
                    break
                found.append(match.group(1))
            return found or None
    return None


def _children(block: list[str]) -> dict[str, PageField]:
    """extra_params keys written as '• name — type …' bullets, with their own details below."""
    children: dict[str, PageField] = {}
    current: PageField | None = None
    for line in block:
        match = CHILD.match(line)
        if match and not line.startswith("    "):
            name, kind, rest = match.groups()
            current = PageField(name, kind)
            children[name] = current
            if m := re.search(r"in \[\s*(-?[\d^*+-]+)\s*,\s*(-?[\d^*+-]+)\s*\]", rest):
                current.minimum, current.maximum = (_number(m.group(1)), _number(m.group(2)))
            if m := re.search(r"defaults to (\w+)", rest):
                current.default = m.group(1)
        elif current is not None and (m := re.match(r"^\s*•\s*(\w+)\s*\(default\)", line)):
            current.default = m.group(1)
            current.options = [*(current.options or []), m.group(1)]
        elif current is not None and (m := re.match(r"^\s{4,}•\s*(\w+):", line)):
            current.options = [*(current.options or []), m.group(1)]
    return children


def _number(expr: str) -> int:
    """'4294967295', '-1' or '2^32-1'."""
    if m := re.fullmatch(r"(-?)(\d+)\^(\d+)([+-]\d+)?", expr):
        sign, base, power, offset = m.groups()
        value: int = int(base) ** int(power) + int(offset or 0)
        return -value if sign else value
    return int(expr)


# ---------------------------------------------------------------------------- comparing


def diff_page(text: str, gateway: spec.Gateway, model: str, doc: Any = None) -> list[Diff]:
    """Every difference between the page and the spec's schema of ``model``."""
    doc = doc if doc is not None else spec.document(gateway)
    names = spec.request_schema_names(doc)
    if model not in names:
        return [Diff("model", "missing-in-spec", model, sorted(names))]
    schema = doc["components"]["schemas"][names[model]]
    return _compare(doc, parse_page(text), schema, "")


def _compare(doc: Any, page: dict[str, PageField], schema: Any, prefix: str) -> list[Diff]:
    schema = spec.deref(doc, schema)
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    diffs: list[Diff] = []
    for name, pf in page.items():
        where = prefix + name
        if name not in props:
            diffs.append(Diff(where, "missing-in-spec", pf.type, None))
            continue
        prop = spec.deref(doc, props[name])
        explain = {
            **props[name].get("x-vidgate-docs-diff", {}),
            **prop.get("x-vidgate-docs-diff", {}),
        }
        found = _field_diffs(where, pf, prop, name in required)
        diffs += [Diff(d.field, d.kind, d.page, d.spec, explain.get(d.kind)) for d in found]
        if pf.children:
            diffs += _compare(doc, pf.children, prop, f"{where}.")
    if prefix == "" or page:
        for name, prop in props.items():
            if name not in page:
                source = spec.deref(doc, prop).get("x-vidgate-source", prop.get("x-vidgate-source"))
                reason = None if source == "doc" else f"x-vidgate-source {source}"
                if prefix and not page:
                    continue
                diffs.append(Diff(prefix + name, "missing-on-page", None, "present", reason))
    return diffs


def _field_diffs(where: str, pf: PageField, prop: Any, required: bool) -> list[Diff]:
    out = []
    spec_type = prop.get("type")
    if spec_type is not None and spec_type != pf.type:
        out.append(Diff(where, "type", pf.type, spec_type))
    if pf.items and pf.type == "array":
        items = prop.get("items", {})
        item_type = items.get("type", "object" if "$ref" in items else None)
        if item_type != pf.items:
            out.append(Diff(where, "items", pf.items, item_type))
    if pf.required != required:
        out.append(Diff(where, "required", pf.required, required))
    if pf.default is not None:
        ours = prop.get("default")
        shown = (
            json.dumps(ours) if isinstance(ours, bool) else (None if ours is None else str(ours))
        )
        if shown != pf.default:
            out.append(Diff(where, "default", pf.default, ours))
    if pf.options is not None and sorted(pf.options) != sorted(map(str, prop.get("enum", []))):
        out.append(Diff(where, "enum", pf.options, prop.get("enum")))
    for kind, page_value, key in (
        ("minimum", pf.minimum, "minimum"),
        ("maximum", pf.maximum, "maximum"),
        ("maxItems", pf.max_items, "maxItems"),
        ("maxLength", pf.max_length, "maxLength"),
    ):
        if page_value is not None and prop.get(key) != page_value:
            out.append(Diff(where, kind, page_value, prop.get(key)))
    return out


def diff_file(path: Path, gateway: spec.Gateway, model: str | None = None) -> list[Diff]:
    """``diff_page`` for a file; the model is read from the page's request example if not given."""
    text = path.read_text(encoding="utf-8")
    if model is None:
        match = re.search(r'"model":\s*"([^"]+)"', text)
        if not match:
            raise ValueError(f"{path}: no model named on the page; pass one")
        model = match.group(1)
    return diff_page(text, gateway, model)


def report(diffs: list[Diff]) -> dict[str, Any]:
    return {
        "unexplained": [asdict(d) for d in diffs if not d.explained],
        "explained": [asdict(d) for d in diffs if d.explained],
    }
