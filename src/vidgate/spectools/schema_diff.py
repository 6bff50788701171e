"""Compare a gateway's own published schema of a model with our spec's, in spec-diff's classes.

    vidgate schema-diff VENDOR_SCHEMA --spec specs/imini.yaml [--model M]

Three shapes are read (YAML or JSON):

- an OpenAPI document, as imini publishes one per model (listed in its ``llms.txt``, e.g.
  ``https://docs.imini.ai/en/openapi/videos/<model>.yaml``): the request body of its POST
  operation, a ``oneOf`` member chosen by the model;
- the reply of apimart's ``GET /v1/model-schema?model=M&operation=video_generation``:
  ``{"model", "operation", "input_schema"}``, where ``input_schema`` is the body without
  ``model``;
- a bare JSON Schema of the body (``--model`` then names the model).

The comparison reads our spec as the old contract and the vendor's schema as the new one, so a
**breaking** change is one vidgate would have to make to agree with the vendor that refuses
bodies vidgate accepts today (our limit is looser, our enum has a value theirs lacks, we list a
field their closed schema does not): requests the gateway may refuse. **compatible**: theirs
accepts more (a new field, a looser limit, an open object). **note**: constraints theirs states
that a field-by-field comparison cannot (``if``/``not``/``oneOf``/``dependentRequired``): compare
them with our cross-field rules by hand; and our fields their open schema does not list (not
forbidden). What theirs leaves unsaid is no change: a default it omits is ours, and
``anyOf: [X, {type: null}]`` is X that may be null. A keyword of the wrong type in theirs (a
limit ``"10"`` or ``NaN``) is refused in one line naming the file and the field. Prose,
examples, ``x-`` extensions, our own cross-field rules and the
``model`` field itself are not compared.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any

from vidgate.extras import require

require("tools", "schema-diff (vidgate.spectools.schema_diff)")  # one line naming the extra

import yaml  # noqa: E402

from vidgate import spec  # noqa: E402
from vidgate.spectools import spec_diff, specfile  # noqa: E402

__all__ = ["VendorSchema", "compare", "read_vendor"]

DROP = ("description", "summary", "title", "examples", "example", "externalDocs", "$schema")
CONDITIONS = ("if", "not", "oneOf", "anyOf", "dependentRequired", "dependentSchemas")
FIXED = re.compile(r"[Ff]ixed (?:value|as)\s+`?([\w./-]+?)`?\.?(?:\s|$)")


@dataclass(frozen=True)
class VendorSchema:
    shape: str  # "openapi" | "model-schema" | "json-schema"
    model: str | None
    version: str  # the document's info.version, or "-"
    schema: Any  # the body schema, with every local $ref resolved


def read_vendor(text: str, where: str, model: str | None = None) -> VendorSchema:
    """The request body schema of ``model`` in a vendor document (raises ValueError)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ValueError(f"{where} is not YAML or JSON: {problem}{at}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an OpenAPI document, a model-schema reply or a schema")
    if "openapi" in data:
        schema = _openapi_body(data, where, model)
        found = model or _model_of(schema)
        version = str(data.get("info", {}).get("version", "-"))
        return VendorSchema("openapi", found, version, _checked(schema, where))
    if isinstance(data.get("input_schema"), dict):
        found = model or (data["model"] if isinstance(data.get("model"), str) else None)
        schema = _checked(_inline(data["input_schema"], data), where)
        return VendorSchema("model-schema", found, "-", schema)
    if data.get("type") == "object" or isinstance(data.get("properties"), dict):
        schema = _checked(_inline(data, data), where)
        return VendorSchema("json-schema", model or _model_of(schema), "-", schema)
    raise ValueError(f"{where}: expected an OpenAPI document, a model-schema reply or a schema")


def _checked(schema: Any, where: str, path: str = "") -> Any:
    """``schema``, if every keyword the comparison reads has a value of its type: a limit a
    finite number (a count a whole one), ``enum`` and ``required`` lists, ``properties`` an
    object; else ValueError in one line naming the file and the field."""
    if not isinstance(schema, dict):
        return schema
    field = path or "(body)"

    def bad(key: str, value: Any, what: str) -> ValueError:
        return ValueError(f"{where}: {field}: {key} {str(value)[:40]!r} is not {what}")

    for key in spec_diff.LOWER + spec_diff.UPPER:
        if key not in schema:
            continue
        value = schema[key]
        real = isinstance(value, int | float) and not isinstance(value, bool)
        if not real or (isinstance(value, float) and not math.isfinite(value)):
            raise bad(key, value, "a finite number")
        if key.endswith(("Length", "Items")) and not (isinstance(value, int) and value >= 0):
            raise bad(key, value, "a count (0, 1, 2, ...)")
    for key, kind, what in (
        ("enum", list, "a list"),
        ("required", list, "a list"),
        ("properties", dict, "an object"),
    ):
        if key in schema and not isinstance(schema[key], kind):
            raise bad(key, schema[key], what)
    named = schema.get("type")
    if named is not None and not (
        isinstance(named, str)
        or (isinstance(named, list) and all(isinstance(k, str) for k in named))
    ):
        raise bad("type", named, "a type name or a list of them")
    for name, prop in (schema.get("properties") or {}).items():
        _checked(prop, where, f"{path}.{name}".lstrip("."))
    _checked(schema.get("items"), where, f"{field}[]")
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key) or [] if isinstance(schema.get(key), list) else []:
            _checked(part, where, path)
    return schema


def _openapi_body(doc: Any, where: str, model: str | None) -> Any:
    bodies = []
    for path, item in (doc.get("paths") or {}).items():
        post = item.get("post") if isinstance(item, dict) else None
        content = ((post or {}).get("requestBody") or {}).get("content") or {}
        media = content.get("application/json")
        if isinstance(media, dict) and isinstance(media.get("schema"), dict):
            bodies.append((path, _inline(media["schema"], doc)))
    if not bodies:
        raise ValueError(f"{where}: no POST operation with a JSON request body")
    members = [m for _, body in bodies for m in body.get("oneOf", body.get("anyOf", [body]))]
    if model is None and len(members) == 1:
        return members[0]
    chosen = [m for m in members if _model_of(m) == model]
    if len(chosen) != 1:
        found = sorted(str(_model_of(m)) for m in members)
        raise specfile.SpecToolError.naming(
            "{where}: pass {0}; the request bodies are for {found}",
            "model=",
            where=where,
            found=", ".join(found),
        )
    return chosen[0]


def _model_of(schema: Any) -> str | None:
    """The model a body schema is for: its ``model`` field's const, single enum value, default,
    or "Fixed value X" in its description."""
    prop = (schema.get("properties") or {}).get("model") if isinstance(schema, dict) else None
    if not isinstance(prop, dict):
        return None
    enum = prop.get("enum")
    for value in (prop.get("const"), enum[0] if enum and len(enum) == 1 else None):
        if isinstance(value, str):
            return value
    if isinstance(prop.get("default"), str):
        return str(prop["default"])
    match = FIXED.search(str(prop.get("description", "")))
    return match.group(1) if match else None


def _inline(node: Any, doc: Any, depth: int = 0) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points at (to a depth of 32)."""
    if depth > 32:
        raise ValueError("the vendor schema's $refs nest deeper than 32 (a cycle?)")
    if isinstance(node, list):
        return [_inline(item, doc, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        target = _inline(spec.resolve(doc, node["$ref"]), doc, depth + 1)
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**target, **_inline(rest, doc, depth + 1)}
    return {k: _inline(v, doc, depth + 1) for k, v in node.items()}


def _fields(node: Any, ours: bool) -> Any:
    """What a field-by-field comparison reads: no prose, no ``x-`` keys, no ``model`` field; our
    ``allOf`` entries are cross-field rules (left out); the vendor's that only add properties
    are merged in."""
    if isinstance(node, list):
        return [_fields(item, ours) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _fields(v, ours) for k, v in node.items() if k not in DROP and not k.startswith("x-")}
    for part in out.pop("allOf", []) if not ours else []:
        if isinstance(part, dict) and not any(k in part for k in CONDITIONS):
            out.setdefault("properties", {}).update(part.get("properties", {}))
            out["required"] = [*out.get("required", []), *part.get("required", [])]
    out.pop("allOf", None)
    return out


def _nullable(node: Any) -> Any:
    """``anyOf``/``oneOf`` of one schema and ``{type: null}`` (how JSON Schema writes "X, or
    null") read as X that may be null, as spec-diff reads replies; everywhere in ``node``."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if not isinstance(branches, list):
            continue
        rest = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
        if len(rest) != 1 or len(rest) == len(branches) or not isinstance(rest[0], dict):
            continue
        one = {**{k: v for k, v in node.items() if k != key}, **rest[0]}
        kind = one.get("type")
        if isinstance(kind, str):
            one["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            one["type"] = [*kind, "null"]
        return one
    return node


def _unstated(
    mine: Any, theirs: Any, model: str, path: str, pointer: str
) -> list[spec_diff.Change]:
    """What the vendor's schema does not say is not a change: a field an open object (no
    ``additionalProperties: false``) does not list is not forbidden (a note), and a default it
    omits is ours. ``theirs`` is given our field and our default so that neither is compared."""
    if not isinstance(mine, dict) or not isinstance(theirs, dict):
        return []
    notes = []
    if "default" in mine and "default" not in theirs:
        theirs["default"] = copy.deepcopy(mine["default"])
    ours: dict[str, Any] = mine.get("properties") or {}
    if not isinstance(theirs.get("properties"), dict) and "object" in spec_diff._types(theirs):
        theirs["properties"] = {}
    given = theirs.get("properties")
    listed: dict[str, Any] = given if isinstance(given, dict) else {}
    if isinstance(given, dict) and theirs.get("additionalProperties") is not False:
        for name in sorted(ours.keys() - listed.keys()):
            listed[name] = copy.deepcopy(ours[name])
            what = f"field {name} not listed by the vendor (its open schema does not forbid it)"
            at = f"{pointer}/properties/{specfile.escape(name)}"
            notes.append(spec_diff.Change("note", f"{model} {path or '(body)'}", what, pointer=at))
    for name in ours.keys() & listed.keys():
        sub, at = f"{path}.{name}".lstrip("."), f"{pointer}/properties/{specfile.escape(name)}"
        notes += _unstated(ours[name], listed[name], model, sub, at)
    notes += _unstated(
        mine.get("items"), theirs.get("items"), model, f"{path}[]", pointer + "/items"
    )
    return notes


def _conditions(node: Any, path: str = "", object_level: bool = False) -> list[str]:
    """Where the vendor's schema states a constraint across fields (an object's, or an allOf
    entry's, ``if``/``not``/``oneOf``/...; a field's ``anyOf`` of types is not one)."""
    if not isinstance(node, dict):
        return []
    found = []
    if object_level or node.get("type") == "object" or "properties" in node:
        found += [f"{path or '(body)'} {key}" for key in CONDITIONS if key in node]
    for part in node.get("allOf") or []:
        found += _conditions(part, path, True)
    for name, prop in (node.get("properties") or {}).items():
        found += _conditions(prop, f"{path}.{name}".lstrip("."))
    found += _conditions(node.get("items"), f"{path}[]")
    return found


def compare(
    vendor: VendorSchema, ours: specfile.SpecFile, model: str | None = None
) -> spec_diff.Report:
    """Every difference from our schema of the model to the vendor's, as a spec-diff report;
    each change's pointer is the place in our spec (with ``file:line`` in ``location``)."""
    model = model or vendor.model
    names = spec.request_schema_names(ours.doc)
    if model is None:
        raise specfile.SpecToolError.naming("the vendor schema names no model; pass {0}", "model=")
    if model not in names:
        raise ValueError(
            f"{model} is not in {ours.path} (models: {', '.join(sorted(names))}); "
            "vidgate scaffold writes a new model from its page"
        )
    pointer = f"/components/schemas/{specfile.escape(names[model])}"
    mine = _nullable(
        _fields(_inline(ours.doc["components"]["schemas"][names[model]], ours.doc), True)
    )
    theirs = _nullable(_fields(vendor.schema, False))
    for side in (mine, theirs):
        side.get("properties", {}).pop("model", None)
        if "required" in side:
            side["required"] = [r for r in side["required"] if r != "model"]
    notes = _unstated(mine, theirs, model, "", pointer)
    changes = spec_diff.diff_request(mine, theirs, model, pointer) + notes
    for where in _conditions(vendor.schema):
        what = f"vendor states a cross-field constraint ({where}); compare with our rules"
        changes.append(spec_diff.Change("note", f"{model} rules", what, pointer=pointer))
    changes.sort(key=lambda c: (spec_diff.ORDER[c.level], c.where, c.what))
    return spec_diff.Report(str(ours.doc["info"].get("version")), vendor.version, changes)
