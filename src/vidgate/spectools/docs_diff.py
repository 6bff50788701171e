"""Compare a gateway documentation page with the spec: every field, type, default, option, range
and limit the page states, against the model's schema.

    vidgate docs-diff PAGE --spec specs/imini.yaml           # exit 1 if anything is unexplained
    vidgate docs-diff PAGE --spec specs/imini.yaml --apply   # write the mechanical ones

Reads pages in the format of the gateways' API reference (a field name, its type on the next
line, then ``required``, ``default:``, ``Available options:``, ``Required range:``, ``Maximum array
length:``, "up to N characters", "any integer from A to B", "Value range: [A, B]", and
``• name — type`` bullets for extra_params). A field's description is read too (``docs_prose``):
a value said only in words ("range 3 ~ 15", "Defaults to 720P", "Up to 9 images", "≤ 15 MB",
"2-15 seconds", "each ≥ 200 px", "Format: jpg / png", "Aspect ratio: 1:2.5 ~ 2.5:1", "total
duration ≤ 15 seconds") is compared like a structured one (a media requirement with the
property's ``x-vidgate-media``), and words that disagree with the field's structured line are a
CONFLICT, reported whatever the spec says and never written by ``apply``.
A difference is *explained* when the spec says why: the property's ``x-vidgate-docs-diff`` names
that kind of difference (``conflict`` for a conflict), or, for a field the page does not mention,
its ``x-vidgate-source`` is not ``doc``. Each difference names the page line that says it.

Each difference names the place to edit: a JSON pointer into the spec and, when the spec was read
from a file, ``file:line``. ``apply`` writes the mechanical differences (ranges, enum values,
defaults, item counts, string lengths, a new optional field of a plain type) into the file, marked
``x-vidgate-source: doc``; everything else (types, required-ness, fields gone from the page, new
modes and cross-field rules, media requirements, conflicts) is left for a human.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeGuard

from vidgate.extras import require

require("tools", "docs-diff (vidgate.spectools.docs_diff)")  # one line naming the extra

import yaml  # noqa: E402
from ruamel.yaml.scalarstring import SingleQuotedScalarString  # noqa: E402

from vidgate import spec  # noqa: E402
from vidgate.spectools import docs_prose, docs_shapes, specfile  # noqa: E402

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
    "refuse_invalid",
    "relint",
    "report",
]
MAX_PAGE_NUMBER = docs_prose.MAX_PAGE_NUMBER
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
_TOKEN = rf"({docs_prose.NUMBER}(?:[+-]\d+)?){docs_prose.END}"  # read whole: 1.5, 9^999, 2^32-1
RANGES = (
    re.compile(rf"Required range:\s*{_TOKEN}\s*<=\s*x\s*<=\s*{_TOKEN}"),
    re.compile(rf"any integer from\s*{_TOKEN}\s*to\s*{_TOKEN}"),
    re.compile(rf"range:\s*\[\s*{_TOKEN}\s*,\s*{_TOKEN}\s*\]"),
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
    minimum: int | float | None = None
    maximum: int | float | None = None
    max_items: int | None = None
    max_length: int | None = None
    children: dict[str, PageField] = field(default_factory=dict)
    line: int = 0  # 1-based page line of the field's name (0: not known)
    lines: dict[str, int] = field(default_factory=dict)  # kind -> page line of its value
    said: dict[str, docs_prose.Said] = field(default_factory=dict)  # values read from prose only
    conflicts: dict[str, docs_prose.Said] = field(default_factory=dict)  # prose that disagrees
    media: dict[str, list[Any]] = field(default_factory=dict)  # docs_prose.MEDIA kind -> values


@dataclass(frozen=True)
class Diff:
    field: str
    kind: str  # missing-in-spec | missing-on-page | type | required | default | enum | ...
    page: Any
    spec: Any
    explained: str | None = None
    pointer: str = ""  # JSON pointer of the spec value to edit (or of the property holding it)
    location: str | None = None  # file:line of that place, when the spec was read from a file
    page_line: int | None = None  # the page's line that says ``page``
    said: str | None = None  # the page's words, when ``page`` was read from its prose
    conflict: str | None = None  # the page's prose that says otherwise than ``page`` (CONFLICT)

    def __str__(self) -> str:
        where = f"line {self.page_line}" if self.page_line else ""
        if self.said:
            where = f'{where}: "{self.said}"' if where else f'"{self.said}"'
        page = _show(self.page) + (f" ({where})" if where else "")
        if self.conflict:  # the page says two things: a human decides which one is meant
            page = f"{page} but {self.conflict}"
        text = f"{self.field}: {self.kind}: page {page}, spec {_show(self.spec)}"
        if self.explained:
            return f"{text} (explained: {self.explained})"
        return f"{text} → edit {self.location or 'the spec'} #{self.pointer}"


def _show(value: Any) -> str:
    return "-" if value is None else json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------- reading a page
SECTION = ("Body", "Request Parameters", "请求体", "请求参数", "Body 参数")
SECTION_END = ("Response", "响应", "返回", "返回值", "响应参数")
REQUIRED = ("required", "必填", "必需", "必选")
DEFAULT_LINE = ("default:", "默认值:", "默认值\uff1a")


def _body_lines(text: str) -> list[str]:
    return [line for _, line in _body(text)]


def _body(text: str) -> list[tuple[int, str]]:
    """The request section's lines, each with its 1-based line on the page; a page in another
    shape (Markdown/MDX source, a field table) is first written in the browser-text shape."""
    shaped = docs_shapes.as_text(text)
    if shaped is not None:
        return shaped
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() in SECTION), None)
    if start is None:
        raise ValueError(
            "no 'Body' or 'Request Parameters' section, no <ParamField> and no field table: "
            "not a request reference page"
        )
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip() in SECTION_END), len(lines)
    )
    return [(i + 1, lines[i]) for i in range(start + 1, end)]


def parse_page(text: str) -> dict[str, PageField]:
    """The request fields a page documents, with what it says of each."""
    numbered = _body(text)
    lines = [line for _, line in numbered]
    starts = [
        i
        for i in range(len(lines) - 1)
        if NAME.match(lines[i].strip()) and lines[i + 1].strip() in TYPES
    ]
    fields: dict[str, PageField] = {}
    for n, i in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(lines)
        kind, items = TYPES[lines[i + 1].strip()]
        name = lines[i].strip()
        numbers = [number for number, _ in numbered[i + 2 : stop]]
        fields[name] = _read_field(name, kind, items, lines[i + 2 : stop], numbers)
        fields[name].line = numbered[i][0]
    return fields


def _read_field(
    name: str, kind: str, items: str | None, block: list[str], numbers: list[int] | None = None
) -> PageField:
    numbers = numbers or list(range(1, len(block) + 1))
    f = PageField(name, kind, items)
    prose = list(block)  # the block with its structured lines and examples blanked
    f.required = any(line.strip() in REQUIRED for line in block[:1])
    if f.required:
        prose[0] = ""
    for i, line in enumerate(block):
        label = next((x for x in DEFAULT_LINE if line.strip().startswith(x)), None)
        if label:
            f.default = line.strip()[len(label) :].strip().strip('"')
            f.lines["default"], prose[i] = numbers[i], ""
        elif line.strip().startswith("Example:") or line.strip() in ("示例:", "示例\uff1a"):
            prose[i] = ""
            if line.strip() in ("Example:", "示例:", "示例\uff1a"):
                nxt = next((j for j in range(i + 1, len(block)) if block[j].strip()), None)
                if nxt is not None:
                    prose[nxt] = ""
    f.options, taken = _options_at(block, kind)
    if f.options is not None and taken:
        f.lines["enum"] = numbers[taken[0]]
        for i in taken:
            prose[i] = ""
    for i, line in enumerate(block):
        match = next((m for p in RANGES if (m := p.search(line))), None)
        if match and f.minimum is None:
            what = f"range for {name} ({match.group(0).strip()[:60]})"
            f.minimum = _number(match.group(1), kind, what)
            f.maximum = _number(match.group(2), kind, what)
            f.lines["minimum"] = f.lines["maximum"] = numbers[i]
            prose[i] = line[: match.start()] + " " + line[match.end() :]
        if m := re.search(rf"Maximum array length:\s*{_TOKEN}", line):
            count = _number(m.group(1), "integer", f"maximum array length for {name}")
            f.max_items, f.lines["maxItems"], prose[i] = int(count), numbers[i], ""
    if kind == "object":
        f.children = _children(block)
    try:
        _read_prose(f, [(numbers[i], x, x.lstrip().startswith("•")) for i, x in enumerate(prose)])
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    return f


def _read_prose(f: PageField, lines: list[tuple[int, str, bool]]) -> None:
    """Values the description says in words: a value the structured lines do not give is taken
    from the prose; prose that disagrees with the structured line (or with itself) is a
    conflict, kept for the diff to report."""
    for said in docs_prose.read(lines, f.type, f.items):
        if said.kind == "default" and not _a_value(said.value, f.options):
            continue  # "defaults to the source video's": words, not a value
        if said.kind in docs_prose.MEDIA:
            f.media.setdefault(said.kind, [])
            if said.value not in f.media[said.kind]:
                f.media[said.kind].append(said.value)
            f.lines.setdefault(said.kind, said.line)
            f.said.setdefault(said.kind, said)
            continue
        attr = docs_prose.KINDS[said.kind]
        current = getattr(f, attr)
        if current is None:
            setattr(f, attr, said.value)
            f.said[said.kind] = said
            f.lines[said.kind] = said.line
        elif str(current) != str(said.value):
            f.conflicts.setdefault(said.kind, said)


def _a_value(text: str, options: list[str] | None) -> bool:
    """A default said in prose is one of the options, a number, a boolean or a token such as
    720P or 16:9; a plain lowercase word that is not an option is taken for prose."""
    return (
        text in (options or [])
        or text in ("true", "false")
        or not text.isalpha()
        or (not text.islower() and options is None)
    )


def _options_at(block: list[str], kind: str) -> tuple[list[str] | None, list[int]]:
    """The options a field lists, and the indexes of the lines that list them."""
    for i, line in enumerate(block):
        if line.strip() in ("Available options:", "可选值:", "可选值\uff1a"):
            found, taken = [], [i]
            for j in range(i + 1, len(block)):
                value = block[j].strip()
                found.append(value.rstrip(","))
                taken.append(j)
                if not value.endswith(","):
                    break
            return found, taken
    if kind != "string":
        return None, []
    for i, line in enumerate(block):
        if line.rstrip().endswith(("Options:", "formats:")):
            found, taken = [], [i]
            for j in range(i + 1, len(block)):
                match = re.match(r"^\s*•\s*(\S+)\s+-\s", block[j])
                if not match:
                    break
                found.append(match.group(1))
                taken.append(j)
            return (found or None), taken
    return None, []


def _options(block: list[str], kind: str) -> list[str] | None:
    return _options_at(block, kind)[0]


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
            if m := re.search(rf"in \[\s*{_TOKEN}\s*,\s*{_TOKEN}\s*\]", rest):
                what = f"range for {name} ({m.group(0).strip()[:60]})"
                current.minimum = _number(m.group(1), kind, what)
                current.maximum = _number(m.group(2), kind, what)
            if m := re.search(r"defaults to (\w+)", rest):
                current.default = m.group(1)
        elif current is not None and (m := re.match(r"^\s*•\s*(\w+)\s*\(default\)", line)):
            current.default = m.group(1)
            current.options = [*(current.options or []), m.group(1)]
        elif current is not None and (m := re.match(r"^\s{4,}•\s*(\w+):", line)):
            current.options = [*(current.options or []), m.group(1)]
    return children


def _number(expr: str, kind: str = "integer", what: str = "number") -> int | float:
    """A page's number token read whole (``docs_prose.read_number``): '4294967295', '-1' or '2^32-1'
    for any field, a decimal only for a ``number`` field; ValueError past ±MAX_PAGE_NUMBER (a
    page's ``9^999999999`` is refused, never computed) or for a token that is not one."""
    return docs_prose.read_number(expr, kind, what)


# ---------------------------------------------------------------------------- comparing


def diff_page(text: str, gateway: spec.Gateway | None, model: str, doc: Any = None) -> list[Diff]:
    """Every difference between the page and the spec's schema of ``model``; the spec is ``doc``
    (a dict, or a `specfile.SpecFile` for file:line locations) or the installed one."""
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
    return replace(d, location=source.location(d.pointer))


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
        for d in _field_diffs(where, pf, prop, name in required, _mb(doc)):
            key = "" if d.kind in ("type", "items", "required") else f"/{d.kind}"
            key = "/x-vidgate-media" if d.kind in docs_prose.MEDIA else key
            target = f"{pointer}/required" if d.kind == "required" else at + key
            line, said, conflict = _on_page(pf, d)
            reason = explain.get("conflict" if conflict else d.kind)
            diffs.append(
                Diff(d.field, d.kind, d.page, d.spec, reason, target, None, line, said, conflict)
            )
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


def _mb(doc: Any) -> int:
    """Bytes in the pages' MB (``info.x-vidgate-mb``)."""
    mb = doc.get("info", {}).get("x-vidgate-mb", {}) if isinstance(doc, dict) else {}
    return int(mb.get("bytes", 1048576)) if isinstance(mb, dict) else 1048576


def _on_page(pf: PageField, d: Diff) -> tuple[int | None, str | None, str | None]:
    """Where the page says the value a difference shows: its line, its prose words (when the
    value was read from prose) and, for a conflict, what the prose says instead."""
    line = pf.lines.get(d.kind) or (pf.line or None)
    said = pf.said.get(d.kind)
    other = pf.conflicts.get(d.kind)
    conflict = None
    if other is not None:
        conflict = f'line {other.line} says {_show(other.value)} ("{other.words.strip()}")'
    return line, said.words.strip() if said else None, conflict


def _media_values(node: Any, key: str) -> list[Any]:
    """Every ``key`` in an ``x-vidgate-media`` record, its per-mode entries included."""
    if not isinstance(node, dict):
        return []
    found = [node[key]] if key in node else []
    for value in node.values():
        found += _media_values(value, key)
    return found


def _media_diffs(where: str, pf: PageField, prop: Any, mb: int) -> list[Diff]:
    media = prop.get("x-vidgate-media")
    out = []
    for kind, page in pf.media.items():
        ours: list[Any]
        if kind == "media.max_mb":
            ours = [docs_prose.mb_value(b / mb) for b in _media_values(media, "max_bytes")]
        else:
            ours = _spec_media(media, kind)
        if sorted(map(json.dumps, page)) != sorted(map(json.dumps, ours)):
            out.append(Diff(where, kind, page, ours or None))
    return out


# x-vidgate-media keys (as inline_media reads them) -> the page reading they are compared with:
# (side, is the value the low bound) for single pixel bounds; side_px is [low, high] for each side
SIDE_KEYS = {
    "min_side_px": ("each", True),
    "min_short_side_px": ("short", True),
    "short_side_min_px": ("short", True),
    "long_side_max_px": ("long", False),
}


def _spec_media(media: Any, kind: str) -> list[Any]:
    """What the spec's ``x-vidgate-media`` (its per-mode entries included) says of ``kind``, in
    the shape ``docs_prose`` reads the page's words in."""
    if kind == "media.duration_s":
        return [list(v) for v in _media_values(media, "duration_s")]
    if kind == "media.total_duration_s":
        return list(_media_values(media, "total_duration_max_s"))
    if kind == "media.formats":
        return [sorted({str(f).lower() for f in v}) for v in _media_values(media, "formats")]
    if kind == "media.aspect_ratio":
        pairs = [[str(a) for a in v] for v in _media_values(media, "aspect_ratio")]
        least = _media_values(media, "short_over_long_min")
        return pairs + [docs_prose.mb_value(float(v)) for v in least]
    sides: list[Any] = [["each", *v] for v in _media_values(media, "side_px")]
    for key, (side, low) in SIDE_KEYS.items():
        sides += [[side, v, None] if low else [side, None, v] for v in _media_values(media, key)]
    return sides


def _field_diffs(
    where: str, pf: PageField, prop: Any, required: bool, mb: int = 1048576
) -> list[Diff]:
    out = _media_diffs(where, pf, prop, mb)
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
        if page_value is not None and not _same_number(page_value, prop.get(key)):
            out.append(Diff(where, kind, page_value, prop.get(key)))
    for kind in pf.conflicts:  # reported whatever the spec says; never written by --apply
        if not any(d.kind == kind for d in out):
            stated = getattr(pf, docs_prose.KINDS[kind])
            out.append(Diff(where, kind, stated, prop.get(kind)))
    return out


def _same_number(page: Any, ours: Any) -> bool:
    """The page's number is the spec's: equal, and a decimal (15.0) where the spec has an
    integer (15) is not the same (it is reported, not taken for equal)."""
    return bool(page == ours) and not (isinstance(page, float) and isinstance(ours, int))


def page_model(text: str, path: Path | str = "page") -> str:
    """The model a page documents, read from its request example."""
    match = re.search(r'"model":\s*"([^"]+)"', text)
    if not match:
        raise specfile.SpecToolError.naming(
            "{path}: no model named on the page; pass {0}", "model=", path=path
        )
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
    if d.kind not in APPLICABLE or pf is None or d.conflict:
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


# ---------------------------------------------------------------------------- after --apply
RANGE_PAIRS = (
    ("minimum", "maximum"),
    ("exclusiveMinimum", "exclusiveMaximum"),
    ("minLength", "maxLength"),
    ("minItems", "maxItems"),
    ("minProperties", "maxProperties"),
    ("minContains", "maxContains"),
)
COUNTS = tuple(key for pair in RANGE_PAIRS[2:] for key in pair)


def relint(source: specfile.SpecFile) -> list[str]:
    """What would make the spec unusable, one line each with its place: a range whose low end is
    above its high end, a length or count that is not a non-negative integer, a number that is
    not finite (a default of .nan or .inf; JSON cannot carry one), an enum without values."""
    problems: list[str] = []
    seen: set[int] = set()

    def say(pointer: str, what: str) -> None:
        problems.append(f"{source.location(pointer)} #{pointer}: {what}")

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, float) and not math.isfinite(node):
            say(pointer, f"{node} is not a finite number")
        if not isinstance(node, dict | list) or id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{pointer}/{i}")
            return
        for low, high in RANGE_PAIRS:
            a, b = node.get(low), node.get(high)
            if _real(a) and _real(b) and a > b:
                say(pointer, f"{low} {a} is above {high} {b}")
        for key in COUNTS:
            if key in node and not (
                _real(node[key]) and isinstance(node[key], int) and node[key] >= 0
            ):
                say(f"{pointer}/{key}", f"{key} {node[key]!r} is not a count (0, 1, 2, ...)")
        if "enum" in node and (not isinstance(node["enum"], list) or not node["enum"]):
            say(f"{pointer}/enum", "an enum needs at least one value")
        for key, value in node.items():
            walk(value, f"{pointer}/{specfile.escape(str(key))}")

    walk(source.doc, "")
    return problems


def _real(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def refuse_invalid(source: specfile.SpecFile) -> None:
    """ValueError, in one line, if what ``apply_page`` wrote left the spec invalid (the caller
    then saves nothing)."""
    problems = relint(source)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValueError(f"{source.path} would be invalid: {problems[0]}{more}")
