"""Compare a gateway documentation page with the spec: every field, type, default, option, range
and limit the page states, against the model's schema.

    vidgate docs-diff PAGE --spec specs/imini.yaml           # exit 1 if anything is unexplained
    vidgate docs-diff PAGE --spec specs/imini.yaml --apply   # write the mechanical ones

Reads pages in the format of the gateways' API reference (a field name, its type on the next
line, then ``required``, ``default:``, ``Available options:``, ``Required range:``, ``Maximum array
length:``, "up to N characters", "any integer from A to B", "Value range: [A, B]", and
``• name — type`` bullets for extra_params). A difference is *explained* when the spec says why:
the property's ``x-vidgate-docs-diff`` names that kind of difference, or, for a field the page
does not mention, its ``x-vidgate-source`` is not ``doc``.

Each difference names the place to edit: a JSON pointer into the spec and, when the spec was read
from a file, ``file:line``. ``apply`` writes the mechanical differences (ranges, enum values,
defaults, item counts, string lengths, a new optional field of a plain type) into the file, marked
``x-vidgate-source: doc``; everything else (types, required-ness, fields gone from the page, new
modes and cross-field rules, prose) is left for a human.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidgate._extras import require

require("tools", "docs-diff (vidgate.docs_diff)")  # one line naming the extra

import yaml  # noqa: E402
from ruamel.yaml.scalarstring import SingleQuotedScalarString  # noqa: E402

from vidgate import spec, specfile  # noqa: E402

__all__ = [
    "APPLICABLE",
    "Applied",
    "Diff",
    "PageField",
    "apply_page",
    "diff_file",
    "diff_page",
    "page_model",
    "parse_page",
    "report",
]
APPLICABLE = ("minimum", "maximum", "maxItems", "maxLength", "default", "enum", "missing-in-spec")
PLAIN = {"string": str, "integer": int, "number": float, "boolean": bool}

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
    pointer: str = ""  # JSON pointer of the spec value to edit (or of the property holding it)
    location: str | None = None  # file:line of that place, when the spec was read from a file

    def __str__(self) -> str:
        text = f"{self.field}: {self.kind}: page {_show(self.page)}, spec {_show(self.spec)}"
        if self.explained:
            return f"{text} (explained: {self.explained})"
        return f"{text} → edit {self.location or 'the spec'} #{self.pointer}"


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


def diff_page(text: str, gateway: spec.Gateway | None, model: str, doc: Any = None) -> list[Diff]:
    """Every difference between the page and the spec's schema of ``model``; the spec is ``doc``
    (a dict, or a :class:`specfile.SpecFile` for file:line locations) or the installed one."""
    source = doc if isinstance(doc, specfile.SpecFile) else None
    if source is not None:
        doc = source.doc
    elif doc is None:
        if gateway is None:
            raise ValueError("diff_page needs a gateway or a spec document")
        doc = spec.document(gateway)
    names = spec.request_schema_names(doc)
    if model not in names:
        return [
            Diff("model", "missing-in-spec", model, sorted(names), pointer="/components/schemas")
        ]
    pointer = f"/components/schemas/{specfile.escape(names[model])}"
    diffs = _compare(doc, parse_page(text), doc["components"]["schemas"][names[model]], pointer, "")
    if source is not None:
        diffs = [_located(d, source) for d in diffs]
    return diffs


def _located(d: Diff, source: specfile.SpecFile) -> Diff:
    return Diff(d.field, d.kind, d.page, d.spec, d.explained, d.pointer, source.location(d.pointer))


def _deref(doc: Any, node: Any, pointer: str) -> tuple[Any, str]:
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"].removeprefix("#")
        node = spec.resolve(doc, node["$ref"])
    return node, pointer


def _compare(
    doc: Any, page: dict[str, PageField], schema: Any, pointer: str, prefix: str
) -> list[Diff]:
    schema, pointer = _deref(doc, schema, pointer)
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    diffs: list[Diff] = []
    for name, pf in page.items():
        where = prefix + name
        at = f"{pointer}/properties/{specfile.escape(name)}"
        if name not in props:
            diffs.append(Diff(where, "missing-in-spec", pf.type, None, pointer=at))
            continue
        prop, at = _deref(doc, props[name], at)
        explain = {
            **props[name].get("x-vidgate-docs-diff", {}),
            **prop.get("x-vidgate-docs-diff", {}),
        }
        for d in _field_diffs(where, pf, prop, name in required):
            key = "" if d.kind in ("type", "items", "required") else f"/{d.kind}"
            target = f"{pointer}/required" if d.kind == "required" else at + key
            diffs.append(Diff(d.field, d.kind, d.page, d.spec, explain.get(d.kind), target))
        if pf.children:
            diffs += _compare(doc, pf.children, prop, at, f"{where}.")
    if prefix == "" or page:
        for name, prop in props.items():
            if name not in page:
                source = spec.deref(doc, prop).get("x-vidgate-source", prop.get("x-vidgate-source"))
                reason = None if source == "doc" else f"x-vidgate-source {source}"
                if prefix and not page:
                    continue
                at = f"{pointer}/properties/{specfile.escape(name)}"
                diffs.append(Diff(prefix + name, "missing-on-page", None, "present", reason, at))
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


def page_model(text: str, path: Path | str = "page") -> str:
    """The model a page documents, read from its request example."""
    match = re.search(r'"model":\s*"([^"]+)"', text)
    if not match:
        raise ValueError(f"{path}: no model named on the page; pass one")
    return match.group(1)


def diff_file(
    path: Path, gateway: spec.Gateway | None, model: str | None = None, doc: Any = None
) -> list[Diff]:
    """``diff_page`` for a file; the model is read from the page's request example if not given."""
    text = path.read_text(encoding="utf-8")
    return diff_page(text, gateway, model or page_model(text, path), doc)


# ---------------------------------------------------------------------------- applying


@dataclass(frozen=True)
class Applied:
    written: list[str]  # one line per value written: "field: kind = value (file:line #pointer)"
    manual: list[Diff]  # unexplained differences left for a human


def apply_page(text: str, source: specfile.SpecFile, model: str) -> Applied:
    """Write the page's mechanical differences into ``source`` (in memory; ``source.save()``
    writes the file). Explained differences are left alone."""
    page = parse_page(text)
    written: list[str] = []
    manual: list[Diff] = []
    for d in diff_page(text, None, model, source):
        if d.explained:
            continue
        value = _apply_one(source, d, _page_field(page, d.field))
        if value is _MANUAL:
            manual.append(d)
        else:
            written.append(
                f"{d.field}: {d.kind} = {_show(value)} ({source.location(d.pointer)} #{d.pointer})"
            )
    return Applied(written, manual)


_MANUAL = object()


def _page_field(page: dict[str, PageField], dotted: str) -> PageField | None:
    node: PageField | None = None
    fields = page
    for part in dotted.split("."):
        node = fields.get(part)
        if node is None:
            return None
        fields = node.children
    return node


def _apply_one(source: specfile.SpecFile, d: Diff, pf: PageField | None) -> Any:
    if d.kind not in APPLICABLE or pf is None:
        return _MANUAL
    *parent_parts, key = specfile.pointer_parts(d.pointer)
    parent = source.node("/" + "/".join(specfile.escape(p) for p in parent_parts))
    if d.kind == "missing-in-spec":
        if pf.type not in PLAIN or pf.required or pf.children:
            return _MANUAL
        value: Any = _new_property(pf)
        parent[key] = value
        return dict(value)
    kind = parent.get("type")
    convert = PLAIN.get(kind) if isinstance(kind, str) else None
    if d.kind == "default":
        value = _typed(d.page, convert)
        if value is _MANUAL:
            return _MANUAL
        parent[key] = value
    elif d.kind == "enum":
        values = [_typed(v, convert or str) for v in d.page]
        if _MANUAL in values:
            return _MANUAL
        current = parent.get("enum")
        kept = [v for v in current or [] if v in values]
        new = kept + [v for v in values if v not in kept]
        if current is None:
            parent["enum"] = new
        else:
            current[:] = new  # the same sequence object: its flow style and quotes stay
        value = new
    else:
        value = d.page
        parent[key] = value
    parent["x-vidgate-source"] = "doc"
    return value


def _typed(text: str, convert: Any) -> Any:
    if convert is bool:
        return {"true": True, "false": False}.get(text.lower(), _MANUAL)
    if convert is None or convert is str:
        return _quoted(text)
    try:
        return convert(text)
    except ValueError:
        return _MANUAL


def _quoted(text: str) -> str:
    """A string as YAML 1.1 readers (PyYAML: 4:3 is a number there) read it back: quoted when
    plain would not do."""
    try:
        plain = yaml.safe_load(text) == text and "#" not in text
    except yaml.YAMLError:
        plain = False
    return text if plain else SingleQuotedScalarString(text)


def _new_property(pf: PageField) -> dict[str, Any]:
    new: dict[str, Any] = {"type": pf.type}
    convert = PLAIN[pf.type]
    if pf.options:
        new["enum"] = [_typed(v, convert) for v in pf.options]
    for key, value in (
        ("minimum", pf.minimum),
        ("maximum", pf.maximum),
        ("maxLength", pf.max_length),
    ):
        if value is not None:
            new[key] = value
    if pf.default is not None and (default := _typed(pf.default, convert)) is not _MANUAL:
        new["default"] = default
    new["x-vidgate-source"] = "doc"
    return new


def report(diffs: list[Diff]) -> dict[str, Any]:
    return {
        "unexplained": [asdict(d) for d in diffs if not d.explained],
        "explained": [asdict(d) for d in diffs if d.explained],
    }
