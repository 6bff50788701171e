"""A new model page → a draft of its request schema in the right spec, in one command.

    vidgate scaffold PAGE --spec specs/imini.yaml      # the model must not be in the spec yet

The page is read with `vidgate.spectools.docs_diff`'s parser. The draft holds what the page
states field by field: types, enums, ranges, defaults, string lengths, array limits, media formats
and sizes, and which fields are required, each marked ``x-vidgate-source: doc`` with the page's own
words in ``x-vidgate-quote``. The model joins the submit body's ``oneOf`` and discriminator, and the
page's request example (or a minimal body) becomes the spec's example for it, so that after ``make
generate`` the clients, models, mock, demo and CLI know the model with no Python edit.

What a page says only in prose is not guessed: the draft has one input mode (``text``, marked
``gap``), no cross-field rules and no error codes. Those, and every field the parser could not
read, are listed as BY HAND, with the page lines that mention them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from vidgate.extras import require

require("tools", "scaffold (vidgate.spectools.scaffold)")  # one line naming the extra

import jsonschema_rs  # noqa: E402
import yaml  # noqa: E402
from ruamel.yaml.comments import CommentedMap, CommentedSeq  # noqa: E402
from ruamel.yaml.scalarstring import SingleQuotedScalarString  # noqa: E402

from vidgate import spec  # noqa: E402
from vidgate.spectools import docs_diff, docs_shapes, specfile  # noqa: E402

__all__ = ["Draft", "ScaffoldError", "page_bodies", "scaffold_page", "schema_name"]

PLAIN = {"string", "integer", "number", "boolean"}
RULE_WORDS = re.compile(
    r"mutually exclusive|cannot|must|only|required when|ignored|not accepted|alone|"
    r"together with|combined with|exclusive",
    re.IGNORECASE,
)
MODE_WORDS = re.compile(r"\bmode\b|to-video|routes? to|\bI2V\b|\bT2V\b|\bR2V\b", re.IGNORECASE)
ERROR_CODE = re.compile(r"\b([45]\d\d)\s+`?([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`?")
FORMATS = re.compile(
    r"[Ff]ormats?\s*:?\s*((?:[A-Za-z0-9]{2,5}\s*/\s*)+[A-Za-z0-9]{2,5})(?![A-Za-z0-9]*\s*/)"
)
MAX_MB = re.compile(r"(?:≤|<=|up to|at most)\s*(\d+)\s*MB", re.IGNORECASE)
STRUCTURED = re.compile(
    r"^(required|default:.*|Available options:|Example:|Maximum array length:.*|"
    r"Required range:.*|application/json)$"
)


class ScaffoldError(specfile.SpecToolError):
    """The page cannot be scaffolded into this spec (model already there, no fields, ...)."""


@dataclass
class Draft:
    model: str
    schema: str  # component schema name
    pointer: str  # JSON pointer of the new schema in the spec
    fields: list[str]  # one line per property written: "name: type, limits"
    example: str  # where the example body came from
    by_hand: list[str] = field(default_factory=list)


def schema_name(model: str, taken: set[str]) -> str:
    """``acme/zephyr-1.0`` → ``Zephyr10Request`` (``AcmeZephyr10Request`` if that is taken)."""
    vendor, _, name = model.rpartition("/")
    for words in (name, f"{vendor} {name}"):
        parts = [p for p in re.split(r"[^A-Za-z0-9]+", words) if p]
        candidate = "".join(p[:1].upper() + p[1:] for p in parts) + "Request"
        if candidate[:1].isalpha() and candidate not in taken:
            return candidate
    raise ScaffoldError.naming("no free schema name for {model}; pass {0}", "name=", model=model)


def page_bodies(text: str) -> list[dict[str, Any]]:
    """Every JSON object on the page that names a model (its request examples), in order."""
    return [
        obj
        for obj in docs_shapes.json_objects(text)
        if isinstance(obj.get("model"), str) and "task_id" not in obj
    ]


# ---------------------------------------------------------------------------- page text
def _body_start(lines: list[str]) -> int:
    """The line where the request fields start (as docs_diff finds them), or 0."""
    return next((i for i, line in enumerate(lines) if line in ("Body", "Request Parameters")), 0)


def _blocks(text: str, names: list[str]) -> dict[str, list[str]]:
    """Each field's lines on the page (its name line excluded), for quotes and prose."""
    lines = [line.strip() for line in text.splitlines()]
    starts: list[tuple[int, str]] = []
    at = _body_start(lines)
    for name in names:
        index = next((i for i in range(at, len(lines)) if lines[i] == name), None)
        if index is not None:
            starts.append((index, name))
            at = index + 1
    end = next((i for i in range(at, len(lines)) if lines[i] == "Response"), len(lines))
    blocks = {}
    for n, (index, name) in enumerate(starts):
        stop = starts[n + 1][0] if n + 1 < len(starts) else end
        blocks[name] = [line for line in lines[index + 1 : stop] if line]
    return blocks


def _prose(block: list[str]) -> list[str]:
    """The description lines of a field block (not its type, flags, options or example)."""
    out, skip = [], False
    for i, line in enumerate(block):
        if i == 0 or STRUCTURED.match(line):
            skip = line == "Available options:"
            continue
        if skip and (line.endswith(",") or re.fullmatch(r"[\w.:<>-]+", line)):
            continue
        skip = False
        out.append(line)
    return out


def _quote(block: list[str], pf: docs_diff.PageField) -> str | None:
    """The page's words a reading rests on: the line carrying its number, or its first sentence."""
    for pattern, value in (
        (r"^Required range:", pf.minimum),
        (r"^Maximum array length:", pf.max_items),
        (r"characters", pf.max_length),
    ):
        if value is not None:
            for line in block:
                if re.search(pattern, line) and str(value) in line:
                    return _sentence(line, str(value))
    prose = _prose(block)
    return _sentence(prose[0]) if prose else None


def _sentence(line: str, must_hold: str | None = None) -> str:
    """The first sentence of ``line`` (or the one holding ``must_hold``), verbatim."""
    sentences = re.split(r"(?<=[.;])\s+", line)
    for sentence in sentences:
        if must_hold is None or must_hold in sentence:
            return sentence.rstrip(".;") if len(sentences) > 1 else sentence
    return line


# ---------------------------------------------------------------------------- building the draft
def _scalar(text: str, kind: str) -> Any:
    """A value from the page typed as the field is; a string quoted where YAML 1.1 would not
    read it back as the same string (``4:3``)."""
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError:
            return text
    try:
        plain = yaml.safe_load(text) == text and "#" not in text
    except yaml.YAMLError:
        plain = False
    return text if plain else SingleQuotedScalarString(text)


def _as_yaml(value: Any) -> Any:
    """A JSON value with every string quoted where YAML 1.1 readers would misread it."""
    if isinstance(value, dict):
        return CommentedMap((k, _as_yaml(v)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(_as_yaml(v) for v in value)
    return _scalar(value, "string") if isinstance(value, str) else value


def _flow(values: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def _media(block: list[str], mb: int) -> CommentedMap | None:
    text = " ".join(block)
    media = CommentedMap()
    if match := FORMATS.search(text):
        formats = [f.strip().lower() for f in match.group(1).split("/")]
        media["formats"] = _flow(list(dict.fromkeys(formats)))
    if match := MAX_MB.search(text):
        media["max_bytes"] = int(match.group(1)) * mb
        media["x-vidgate-quote"] = match.group(0)
    return media or None


def _property(
    pf: docs_diff.PageField, block: list[str], mb: int, by_hand: list[str], where: str
) -> CommentedMap:
    prop = CommentedMap()
    prop["type"] = pf.type
    if pf.options:
        prop["enum"] = _flow([_scalar(v, pf.type) for v in pf.options])
    for key, value in (
        ("minimum", pf.minimum),
        ("maximum", pf.maximum),
        ("maxLength", pf.max_length),
        ("maxItems", pf.max_items),
    ):
        if value is not None:
            prop[key] = value
    if pf.default is not None:
        value = _scalar(pf.default, pf.type)
        if pf.type in PLAIN and (pf.type == "string" or not isinstance(value, str)):
            prop["default"] = value
        else:
            by_hand.append(f"{where}: default {pf.default!r} does not read as {pf.type}")
    if pf.type == "array":
        item = CommentedMap([("type", pf.items or "object")])
        if item["type"] == "object":
            by_hand.append(f"{where}: the page lists no item fields; the draft takes any object")
        prop["items"] = item
    if pf.type == "object":
        prop["x-vidgate-unknown-keys"] = "warn"
        children = CommentedMap()
        for name, child in pf.children.items():
            if child.type not in PLAIN:
                by_hand.append(f"{where}.{name}: type {child.type!r} is not read; add it")
                continue
            line = next((b for b in block if re.match(rf"^•\s*{re.escape(name)}\b", b)), None)
            children[name] = _property(child, [line] if line else [], mb, by_hand, where)
            if line:
                children[name]["x-vidgate-quote"] = _sentence(line.lstrip("• "))
        if children:
            prop["properties"] = children
        by_hand.append(
            f"{where}: open (unknown keys are warnings); close it if the page lists every key"
        )
    if pf.type in ("array", "string") and (media := _media(block, mb)):
        prop["x-vidgate-media"] = media
    prop["x-vidgate-source"] = "doc"
    return prop


def _unread(text: str, fields: dict[str, docs_diff.PageField]) -> list[str]:
    """Field-like lines (a name, then a type-like line) the parser did not take."""
    lines = [line.strip() for line in text.splitlines()]
    start = _body_start(lines)
    end = next((i for i in range(start, len(lines)) if lines[i] == "Response"), len(lines))
    found = []
    for i in range(start, end - 1):
        name, kind = lines[i], lines[i + 1]
        if (
            re.fullmatch(r"[a-z_][a-z0-9_]*", name)
            and name not in fields
            and re.fullmatch(r"(enum<\w+>|array<\w+>|\w+\[\]|integer|number|string|boolean)", kind)
        ):
            found.append(f"{name}: field of type {kind!r} not read from the page; add it")
    return found


def _by_hand_prose(blocks: dict[str, list[str]], text: str) -> list[str]:
    out = []
    for name, block in blocks.items():
        for line in _prose(block):
            if RULE_WORDS.search(line):
                out.append(f"rule? {name}: {line!r}")
    codes = sorted({f"{status} {code}" for status, code in ERROR_CODE.findall(text)})
    out += [f"error code {code}: write it on its rule (x-vidgate-error-code)" for code in codes]
    modes = [line.strip() for line in text.splitlines() if MODE_WORDS.search(line)]
    out.append(
        "modes: the draft routes every body to one mode (text, marked gap); write the page's "
        "input modes as the routing chain" + (f", e.g. from {modes[0][:120]!r}" if modes else "")
    )
    return out


def scaffold_page(
    text: str, source: specfile.SpecFile, model: str | None = None, name: str | None = None
) -> Draft:
    """Write the page's model into ``source`` (in memory; ``source.save()`` writes the file)."""
    model = model or docs_diff.page_model(text)
    doc = source.doc
    names = spec.request_schema_names(doc)
    if model in names:
        raise ScaffoldError(
            f"{model} is already in {source.path} ({names[model]}); compare with docs-diff"
        )
    fields = docs_diff.parse_page(text)
    if not fields:
        raise ScaffoldError("the page documents no request field")
    schemas = doc["components"]["schemas"]
    schema = name or schema_name(model, set(schemas))
    if schema in schemas:
        raise ScaffoldError.naming(
            "components/schemas/{schema} exists already; pass another {0}", "name=", schema=schema
        )
    mb = int(doc["info"].get("x-vidgate-mb", {}).get("bytes", 1 << 20))
    blocks = _blocks(text, list(fields))
    by_hand: list[str] = []
    props = CommentedMap()
    props["model"] = CommentedMap(
        [("type", "string"), ("const", model), ("x-vidgate-source", "doc")]
    )
    written = []
    for field_name, pf in fields.items():
        if field_name == "model":
            continue
        block = blocks.get(field_name, [])
        prop = _property(pf, block, mb, by_hand, field_name)
        if quote := _quote(block, pf):
            prop["x-vidgate-quote"] = quote
        props[field_name] = prop
        written.append(_summary(field_name, prop))
    required = ["model", *(n for n, pf in fields.items() if pf.required and n != "model")]
    slug = re.sub(r"[^a-z0-9]+", "-", model.rpartition("/")[2].lower()).strip("-")
    routing = CommentedMap(
        [
            ("x-vidgate-rule", f"{slug}.routing"),
            ("x-vidgate-source", "gap"),
            (
                "x-vidgate-note",
                "Draft by vidgate scaffold: one mode until the page's modes are written by hand.",
            ),
            ("description", "Input mode (draft): every body routes to text."),
            ("x-vidgate-mode", "text"),
        ]
    )
    body = CommentedMap(
        [
            ("type", "object"),
            ("description", f"{model} submit body (draft written by vidgate scaffold)."),
            ("x-vidgate-model", model),
            ("additionalProperties", False),
            ("required", _flow(required)),
            (
                "x-vidgate-sources",
                CommentedMap([("additionalProperties", "gap"), ("required", "doc")]),
            ),
            ("properties", props),
            ("allOf", [routing]),
        ]
    )
    schemas[schema] = body
    schemas.yaml_set_comment_before_after_key(schema, before=f"{'-' * 66} {model}", indent=4)
    ref = SingleQuotedScalarString(f"#/components/schemas/{schema}")
    _, op = spec.submit_operation(doc)
    media = op["requestBody"]["content"]["application/json"]
    union = spec.resolve(doc, media["schema"]["$ref"])
    union["oneOf"].append(CommentedMap([("$ref", ref)]))
    union["discriminator"]["mapping"][model] = ref
    example, origin = _example(text, model, body)
    if origin != "the page's request example":
        by_hand.append(f"example: {origin}; write one the page shows")
    examples = media.setdefault("examples", CommentedMap())
    key = re.sub(r"[^a-z0-9]+", "_", model.rpartition("/")[2].lower()).strip("_")
    while key in examples:
        key += "_new"
    examples[key] = CommentedMap([("summary", f"{model}, {origin}"), ("value", _as_yaml(example))])
    by_hand += _unread(text, fields) + _by_hand_prose(blocks, text)
    return Draft(model, schema, f"/components/schemas/{schema}", written, origin, by_hand)


def _summary(name: str, prop: Any) -> str:
    keys = ("enum", "minimum", "maximum", "default", "maxLength", "maxItems", "x-vidgate-media")
    said = [f"{k} {json.dumps(prop[k], ensure_ascii=False)}" for k in keys if k in prop]
    return f"{name}: {prop['type']}" + (f", {', '.join(said)}" if said else "")


def _example(text: str, model: str, body: Any) -> tuple[Any, str]:
    """The page's first request example that the draft accepts, else a minimal body: the
    required fields, each at its default, first option or minimum."""
    check = jsonschema_rs.Draft202012Validator(json.loads(json.dumps(body)))
    for found in page_bodies(text):
        if found.get("model") == model and check.is_valid(found):
            return found, "the page's request example"
    minimal: dict[str, Any] = {"model": model}
    for name in body["required"]:
        prop = body["properties"][name]
        if name == "model":
            continue
        for key in ("default", "enum", "minimum"):
            if key in prop:
                minimal[name] = prop[key][0] if key == "enum" else prop[key]
                break
        else:
            plain = {"string": "a paper boat on a pond", "boolean": False, "integer": 1}
            minimal[name] = plain.get(prop["type"], {} if prop["type"] == "object" else [])
    if check.is_valid(minimal):
        return minimal, "a minimal body (the page shows no example the draft accepts)"
    return minimal, "a minimal body the draft refuses (fix it, or make check fails)"
