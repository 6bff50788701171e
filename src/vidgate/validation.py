"""Validate a request body against the gateway's spec before it leaves the machine.

The body's model is chosen by the spec's discriminator first, so messages speak of that model's
fields; then every rule of the model's schema is checked (jsonschema-rs, compiled once), and the
input mode is read off the model's routing chain. Nothing here knows a number from the docs:
limits, codes and rule ids all come from the spec document.

Beyond JSON Schema, from the spec's own declarations: a JSON null is read per
``info.x-vidgate-null`` (refused with one error naming the field, the rest judged as if it were
absent); keys an open extension object does not list (``x-vidgate-unknown-keys: warn``) are
warnings; inline ``data:`` media is checked against ``x-vidgate-media`` (vidgate.inline_media);
a model's ``x-vidgate-warnings`` (facts from the upstream model's docs or our guesses, never the
page's) give warnings: a ``when`` schema the body matches, or a text field over an
``x-vidgate-text-budget``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

import jsonschema_rs

from vidgate import inline_media, spec
from vidgate.errors import RequestValidationError, Violation

__all__ = ["Result", "Validator", "validate", "validator"]
_log = logging.getLogger("vidgate")
# the body as sent, for its size: built once (json.dumps with options builds an encoder per call)
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

Json = dict[str, Any]


@dataclass(frozen=True)
class Result:
    """What validation found: the violations (empty when valid), the input mode, and warnings:
    things sent as given that the spec cannot vouch for (an extension key it does not list, an
    inline image below a recommended size). Warnings never make a body invalid."""

    gateway: spec.Gateway
    """The gateway whose spec the body was checked against."""
    model: str | None
    """The body's model, or None when the body is not a JSON object or names no model of the
    gateway (then that is the one violation)."""
    mode: str | None
    """The input mode the body routes to (e.g. text or image to video, as the spec names it), or
    None when it could not be told."""
    violations: tuple[Violation, ...] = field(default=())
    """The broken rules, in the order found; empty for a valid body."""
    warnings: tuple[Violation, ...] = field(default=())
    """What is sent as given but the spec cannot vouch for; never makes the body invalid."""

    @property
    def valid(self) -> bool:
        """True when no rule is broken (warnings do not count)."""
        return not self.violations

    def __bool__(self) -> bool:
        """``if client.validate(...):`` reads as "if the body is valid"."""
        return self.valid

    def as_dict(self) -> Json:
        """A JSON-ready dict: ``valid``, ``mode``, ``errors`` and ``warnings`` (each a list of
        ``Violation.as_dict``)."""
        return {
            "valid": self.valid,
            "mode": self.mode,
            "errors": [v.as_dict() for v in self.violations],
            "warnings": [w.as_dict() for w in self.warnings],
        }


class _SumKeyword:
    """jsonschema-rs custom keyword for ``x-vidgate-sum`` (see vidgate.spec.sum_mismatch)."""

    def __init__(self, parent: Any, value: Any, schema_path: Any) -> None:
        self.rule = value

    def validate(self, instance: Any) -> None:
        message = spec.sum_mismatch(self.rule, instance)
        if message:
            raise ValueError(message)


@dataclass
class _Model:
    name: str
    validator: Any
    chain: Json
    predicates: dict[int, Any]  # id(if-node) -> compiled validator
    max_body_bytes: int | None
    schema: Json
    extras: list[tuple[str, Any, str | None, Any]]  # (field, x-vidgate-media, source, open keys)
    advisories: list[tuple[spec.Rule, Any]]  # x-vidgate-warnings, with a compiled `when`


class Validator:
    """Validation for one gateway; build once (``validator(gateway)``) and reuse."""

    def __init__(self, gateway: spec.Gateway) -> None:
        self.gateway = gateway
        self.doc = spec.document(gateway)
        self.uri = f"urn:vidgate:{gateway}"
        self._registry = jsonschema_rs.Registry([(self.uri, self.doc)])
        self.models: dict[str, str] = spec.request_schema_names(self.doc)
        self._compiled: dict[str, _Model] = {}
        self._params: dict[str, list[tuple[Json, Any]]] = {}
        self._rule_at: dict[tuple[str | int, ...], Json | None] = {}  # (model pointer, *path)

    def _compile(self, pointer: str) -> Any:
        return jsonschema_rs.Draft202012Validator(
            {"$ref": f"{self.uri}#{quote(pointer, safe='/~')}"},
            registry=self._registry,
            keywords={"x-vidgate-sum": _SumKeyword},
        )

    def _model(self, model: str) -> _Model:
        if model not in self._compiled:
            name = self.models[model]
            pointer = f"/components/schemas/{name}"
            schema = self.doc["components"]["schemas"][name]
            (chain_index, chain), *_ = [
                (i, r) for i, r in enumerate(schema.get("allOf", [])) if spec.is_routing_chain(r)
            ]
            predicates: dict[int, Any] = {}
            node, at = chain, f"{pointer}/allOf/{chain_index}"
            while "if" in node:
                predicates[id(node)] = self._compile(f"{at}/if")
                node, at = node["else"], f"{at}/else"
            self._compiled[model] = _Model(
                name,
                self._compile(pointer),
                chain,
                predicates,
                schema.get("x-vidgate-max-body-bytes"),
                schema,
                self._extra_fields(schema),
                [
                    (rule, self._compile(f"{rule.pointer}/when") if "when" in rule.schema else None)
                    for rule in spec.iter_warnings(schema, pointer)
                ],
            )
        return self._compiled[model]

    def mode(self, body: Mapping[str, Any]) -> str | None:
        """The input mode the gateway routes this body to (None if the model is unknown)."""
        model = body.get("model") if isinstance(body, Mapping) else None
        if not isinstance(model, str) or model not in self.models:
            return None
        compiled = self._model(model)
        if _scan(body) & _NULL and self._null_reading() in ("refuse", "absent"):
            body = self._without_nulls(compiled.schema, body, "", [])
        return self._route(compiled, body)

    def _route(self, compiled: _Model, body: Mapping[str, Any]) -> str:
        node = compiled.chain
        while "x-vidgate-mode" not in node:
            branch = "then" if compiled.predicates[id(node)].is_valid(body) else "else"
            node = node[branch]
        return str(node["x-vidgate-mode"])

    def check(self, body: Any) -> Result:
        """Every violation of the body, with the mode it routes to."""
        if not isinstance(body, Mapping):
            found = type(body).__name__
            return Result(
                self.gateway, None, None, (self._top("type", f"a JSON object, not {found}"),)
            )
        model = body.get("model")
        if not isinstance(model, str) or model not in self.models:
            known = sorted(self.models)
            what = "is required" if model is None else f"{model!r} is not a model of {self.gateway}"
            violation = Violation(
                path="/model",
                rule="discriminator",
                message=f"model {what}; expected one of {', '.join(known)}",
                limit=known,
            )
            return Result(self.gateway, None, None, (violation,))
        compiled = self._model(model)
        root = f"/components/schemas/{compiled.name}"
        nulls: list[str] = []
        sent = body
        kinds = _scan(body)
        if kinds & _NULL and self._null_reading() in ("refuse", "absent"):
            sent = self._without_nulls(compiled.schema, body, "", nulls)
        violations = (
            []  # a valid body (the usual case) is known faster than its errors are listed
            if compiled.validator.is_valid(sent)
            else [self._violation(root, e) for e in compiled.validator.iter_errors(sent)]
        )
        if nulls and self._null_reading() == "refuse":
            violations[:0] = [self._null(pointer) for pointer in nulls]
        if compiled.max_body_bytes is not None:
            violations.extend(self._size(body, compiled.max_body_bytes))
        if kinds & _FLOAT:
            violations.extend(self._float_integers(compiled.name, sent))
        media_errors, warnings = self._extras(compiled, sent)
        violations.extend(media_errors)
        warnings.extend(_advised(compiled.advisories, sent))
        return Result(
            self.gateway,
            model,
            self._route(compiled, sent),
            tuple(_dedupe(violations)),
            tuple(_dedupe(warnings)),
        )

    def validate(self, body: Any) -> str:
        """The body's mode; raises RequestValidationError listing every violation. Warnings go
        to the ``vidgate`` logger (the body is sent as given)."""
        result = self.check(body)
        if not result.valid:
            raise RequestValidationError(
                result.gateway, result.model, result.mode, result.violations
            )
        for warning in result.warnings:
            _log.warning(
                "%s %s: %s [%s]", self.gateway, result.model, warning.message, warning.rule
            )
        assert result.mode is not None
        return result.mode

    def with_extra(
        self, body: Mapping[str, Any], extra: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str]:
        """A validated body with ``extra_body`` added, and the mode of what is sent. extra_body
        only adds keys the spec does not list for the model: a listed key (``model``,
        ``duration``, ``extra_params``, ...) would replace a checked value unchecked, so it is
        refused (rule ``extra-body.overrides``; set it in the body instead). The merged body is
        held to the model's ``x-vidgate-max-body-bytes``. Raises RequestValidationError."""
        model = body["model"]
        compiled = self._model(model)
        listed = _listed_keys(self.doc, compiled.schema) | {"model"}
        violations = [
            Violation(
                f"/{key}",
                "extra-body.overrides",
                f"extra_body.{key}: {key} is a field of {model} in the spec; set it in the body, "
                "where it is checked (extra_body only adds keys the spec does not list)",
                sorted(listed),
            )
            for key in extra
            if key in listed
        ]
        sent = {**body, **extra}
        if not violations and compiled.max_body_bytes is not None:
            violations.extend(self._size(sent, compiled.max_body_bytes))
        if violations:
            raise RequestValidationError(self.gateway, model, self.mode(body), tuple(violations))
        mode = self.mode(sent)  # nulls read as the spec says, as for the body itself
        assert mode is not None  # the model, not overridden, was validated
        return sent, mode

    def check_parameters(
        self, operation_id: str, values: Mapping[str, Mapping[str, str]]
    ) -> tuple[Violation, ...]:
        """Violations of an operation's parameters; ``values`` maps ``in`` (header, query,
        path) to the values sent (header names are matched case-insensitively)."""
        found = []
        for param, compiled in self._parameters(operation_id):
            where = param["in"]
            given = values.get(where, {})
            if where == "header":
                given = {k.lower(): v for k, v in given.items()}
            value = given.get(param["name"].lower() if where == "header" else param["name"])
            path = f"{where}:{param['name']}"
            if value is None:
                if param.get("required"):
                    found.append(
                        Violation(
                            path,
                            "required",
                            f"{path} is required",
                            None,
                            None,
                            param.get("x-vidgate-source"),
                        )
                    )
                continue
            for error in compiled.iter_errors(value):
                details = error.kind.as_dict()
                found.append(
                    Violation(
                        path,
                        error.kind.name,
                        f"{path}: {_plain(error.kind.name, details, error.message)}",
                        _limit(error.kind.name, details),
                        None,
                        param.get("x-vidgate-source"),
                    )
                )
        return tuple(found)

    def _parameters(self, operation_id: str) -> list[tuple[Json, Any]]:
        if operation_id not in self._params:
            for path, item in self.doc["paths"].items():
                for method, op in item.items():
                    if isinstance(op, dict) and op.get("operationId") == operation_id:
                        base = f"/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}"
                        self._params[operation_id] = [
                            (param, self._compile(f"{base}/parameters/{i}/schema"))
                            for i, param in enumerate(op.get("parameters", []))
                        ]
            if operation_id not in self._params:
                raise LookupError(f"{self.gateway} has no operation {operation_id!r}")
        return self._params[operation_id]

    # -------------------------------------------------------------------- spec declarations
    def _null_reading(self) -> str | None:
        reading = self.doc["info"].get("x-vidgate-null", {}).get("reading")
        return str(reading) if reading else None

    def _null(self, pointer: str) -> Violation:
        where = _dotted([int(p) if p.isdigit() else p for p in pointer.strip("/").split("/")])
        policy = self.doc["info"]["x-vidgate-null"]
        return Violation(
            pointer,
            "null",
            f"{where}: null is not accepted; leave the field out to mean 'not set'",
            None,
            None,
            policy.get("x-vidgate-source"),
        )

    def _without_nulls(self, schema: Any, value: Any, pointer: str, nulls: list[str]) -> Any:
        """The value as if every null at a key the spec lists were absent; their JSON pointers
        go to ``nulls``. What an open extension object holds under keys the spec does not list
        is the vendor's and passes as it is (nulls included); a null list item stays (it is a
        type error at that item)."""
        schema = spec.deref(self.doc, schema)
        if isinstance(value, Mapping):
            listed = schema.get("properties", {}) if isinstance(schema, dict) else {}
            out = {}
            for key, item in value.items():
                if key in listed and item is None:
                    nulls.append(f"{pointer}/{key}")
                elif key in listed and isinstance(item, dict | list):
                    out[key] = self._without_nulls(listed[key], item, f"{pointer}/{key}", nulls)
                else:
                    out[key] = item
            return out
        items = schema.get("items") if isinstance(schema, dict) else None
        if isinstance(value, list) and isinstance(items, dict):
            return [
                self._without_nulls(items, v, f"{pointer}/{i}", nulls)
                if isinstance(v, dict | list)
                else v
                for i, v in enumerate(value)
            ]
        return value

    def _extra_fields(self, schema: Json) -> list[tuple[str, Any, str | None, Any]]:
        """Per top-level field: its x-vidgate-media, source, and (for an open extension object,
        ``x-vidgate-unknown-keys: warn``) the keys it lists."""
        found = []
        for name, prop in schema.get("properties", {}).items():
            target = spec.deref(self.doc, prop)
            media = prop.get("x-vidgate-media") or target.get("x-vidgate-media")
            source = prop.get("x-vidgate-source") or target.get("x-vidgate-source")
            listed = target.get("properties", {})
            open_keys = listed if target.get("x-vidgate-unknown-keys") == "warn" else None
            if media or open_keys is not None:
                found.append((name, media, source, open_keys))
        return found

    def _extras(
        self, compiled: _Model, body: Mapping[str, Any]
    ) -> tuple[list[Violation], list[Violation]]:
        """Inline-media violations and warnings, and unknown keys of open extension objects."""
        errors: list[Violation] = []
        warnings: list[Violation] = []
        for name, media, source, listed in compiled.extras:
            if name not in body:
                continue
            value = body[name]
            if media:
                found, advised = inline_media.check(media, value, f"/{name}", source)
                errors.extend(found)
                warnings.extend(advised)
            if listed is not None and isinstance(value, Mapping):
                warnings.extend(
                    Violation(
                        f"/{name}/{key}",
                        "unknown-extension-key",
                        f"{name}.{key}: not a parameter the spec lists; sent as given "
                        f"(the vendor's own {name} pass through)",
                        sorted(listed),
                        None,
                        source,
                    )
                    for key in value
                    if key not in listed
                )
        return errors, warnings

    # -------------------------------------------------------------------- error translation
    def _top(self, rule: str, expected: str) -> Violation:
        return Violation(path="", rule=rule, message=f"the body must be {expected}")

    def _rule_for(self, root: str, evaluation_path: Sequence[str | int]) -> Json | None:
        """The innermost node carrying x-vidgate-rule along the error's evaluation path."""
        key = (root, *evaluation_path)
        if key not in self._rule_at:
            # evaluation paths start at the model's $ref; custom keywords report absolute ones
            absolute = not evaluation_path or evaluation_path[0] != "$ref"
            node: Any = self.doc if absolute else {"$ref": f"#{root}"}
            found = None
            for step in evaluation_path:
                try:
                    node = (
                        spec.resolve(self.doc, _local(node[step])) if step == "$ref" else node[step]
                    )
                except (KeyError, IndexError, TypeError, ValueError):
                    break
                if isinstance(node, dict) and "x-vidgate-rule" in node:
                    found = node
            self._rule_at[key] = found
        return self._rule_at[key]

    def _field_of(self, error: Any, details: Mapping[str, Any]) -> str | None:
        """For a presence rule, the one field it is about (the missing or unwanted field)."""
        name = error.kind.name
        if name == "required":
            node = self._node(error.schema_path)
            if isinstance(node, dict):  # dependentRequired: blame the field that needs company
                present = [k for k, needs in node.items() if details.get("property") in needs]
                return present[0] if present else None
            return str(details.get("property"))
        if name == "not":
            banned = details.get("schema", {}).get("required", [])
            return str(banned[0]) if len(banned) == 1 else None
        return None

    def _node(self, schema_path: Sequence[str | int]) -> Any:
        node: Any = self.doc
        for step in schema_path:
            node = node[step]
        return node

    def _violation(self, root: str, error: Any) -> Violation:
        kind = error.kind
        details = kind.as_dict()
        trail = list(error.instance_path)
        name = self._field_of(error, details)
        if name:
            trail.append(name)
        path = "".join(f"/{p}" for p in trail)
        rule = self._rule_for(root, error.evaluation_path)
        limit = _limit(kind.name, details)
        where = _dotted(trail) or "body"
        if rule is None:
            source = self._field_source(error.schema_path)
            message = f"{where}: {_plain(kind.name, details, error.message)}"
            return Violation(path, kind.name, message, limit, None, source)
        message = f"{where}: {rule.get('description', '').rstrip('.')}"
        if kind.name not in ("not", "x-vidgate-sum", "required", "dependentRequired"):
            message += f" ({_plain(kind.name, details, error.message)})"
        elif kind.name == "x-vidgate-sum":
            message += f" ({details.get('message', error.message)})"
        return Violation(
            path,
            str(rule["x-vidgate-rule"]),
            message,
            limit,
            rule.get("x-vidgate-error-code"),
            rule.get("x-vidgate-source"),
        )

    def _field_source(self, schema_path: Sequence[str | int]) -> str | None:
        node: Any = self.doc
        source = None
        for step in schema_path:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                break
            if isinstance(node, dict) and "x-vidgate-source" in node:
                source = node["x-vidgate-source"]
        return source

    def _float_integers(self, schema_name: str, body: Mapping[str, Any]) -> list[Violation]:
        """JSON Schema counts 3.0 as an integer; the gateways' decoders and the generated models
        do not. Floats where the spec says integer are refused (checked by the generated
        pydantic model, and only when the body holds a float at all)."""
        import importlib

        from pydantic import ValidationError

        model = getattr(importlib.import_module(f"vidgate_models.{self.gateway}"), schema_name)
        try:
            model.model_validate(body)
        except ValidationError as exc:
            found = []
            for error in exc.errors():
                if error["type"] == "int_type" and isinstance(error["input"], float):
                    path = "".join(f"/{p}" for p in error["loc"])
                    where = _dotted(list(error["loc"])) or "body"
                    found.append(
                        Violation(
                            path,
                            "type",
                            f"{where}: must be a whole number written as an integer, "
                            f"not {error['input']!r}",
                            "integer",
                            None,
                            "gap",
                        )
                    )
            return found
        return []

    def _size(self, body: Mapping[str, Any], limit: int) -> list[Violation]:
        size = len(_COMPACT.encode(body).encode())
        if size <= limit:
            return []
        return [
            Violation(
                "",
                "max-body-bytes",
                f"body: {size} bytes is over the documented request limit of {limit} bytes "
                "(send large media as URLs, not base64)",
                limit,
                None,
                "doc",
            )
        ]


def _advised(advisories: list[tuple[spec.Rule, Any]], body: Mapping[str, Any]) -> list[Violation]:
    """Warnings from a model's ``x-vidgate-warnings`` (see vidgate.spec.iter_warnings)."""
    found = []
    for rule, when in advisories:
        budget = rule.schema.get("x-vidgate-text-budget")
        if budget:
            text = body.get(budget["field"])
            over = _over_budget(budget, text) if isinstance(text, str) else None
            if over:
                found.append(
                    Violation(
                        f"/{budget['field']}", rule.id, over, _budget(budget), None, rule.source
                    )
                )
        elif when is not None and when.is_valid(body):
            field_name = rule.schema.get("field", "")
            where = field_name or "body"
            message = f"{where}: {rule.description.rstrip('.')} (sent as given)"
            found.append(
                Violation(
                    f"/{field_name}" if field_name else "",
                    rule.id,
                    message,
                    None,
                    None,
                    rule.source,
                )
            )
    return found


def _budget(budget: Mapping[str, Any]) -> Json:
    return {"cjk_chars": budget["cjk_chars"], "other_chars": budget["other_chars"]}


@cache
def _cjk_class(ranges: tuple[str, ...]) -> re.Pattern[str]:
    """A character class of the spec's code point ranges (``U+4E00-U+9FFF``)."""
    spans = (tuple(int(end.strip().removeprefix("U+"), 16) for end in r.split("-")) for r in ranges)
    return re.compile(
        "[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in spans) + "]"
    )


def _over_budget(budget: Mapping[str, Any], text: str) -> str | None:
    """A message when ``text`` is longer than the budget reads: ``cjk_chars`` CJK or
    ``other_chars`` other characters, a mixed text using both in proportion."""
    cjk_limit, other_limit = budget["cjk_chars"], budget["other_chars"]
    cjk = len(_cjk_class(tuple(budget["cjk_ranges"])).findall(text))
    other = len(text) - cjk
    if cjk * other_limit + other * cjk_limit <= cjk_limit * other_limit:
        return None
    return (
        f"{budget['field']}: {cjk} CJK and {other} other characters, more than the upstream "
        f"model reads ({cjk_limit} CJK or {other_limit} other characters, mixed in proportion); "
        "it cuts the rest off without an error (sent as given)"
    )


def _listed_keys(doc: Json, schema: Any) -> set[str]:
    """The body keys a model's schema lists: its properties and those of its allOf / if / then /
    else branches, through $ref (not of nested objects)."""
    schema = spec.deref(doc, schema)
    if not isinstance(schema, Mapping):
        return set()
    keys = set(schema.get("properties", {}))
    for branch in ("if", "then", "else", "not"):
        if isinstance(schema.get(branch), Mapping):
            keys |= _listed_keys(doc, schema[branch])
    for part in schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", []):
        keys |= _listed_keys(doc, part)
    return keys


_NULL, _FLOAT = 1, 2


def _scan(value: Any) -> int:
    """Which of null (_NULL) and float (_FLOAT) occur anywhere in the value (a bit mask)."""
    if value is None:
        return _NULL
    if isinstance(value, float):
        return _FLOAT
    if isinstance(value, str | int):  # most values: no Mapping check (an ABC, so slow)
        return 0
    found = 0
    if isinstance(value, Mapping):
        for item in value.values():
            found |= _scan(item)
    elif isinstance(value, list):
        for item in value:
            found |= _scan(item)
    return found


def _local(ref: str) -> str:
    """A reference as a local one: ``urn:vidgate:imini#/a/b`` -> ``#/a/b``."""
    return "#" + ref.split("#", 1)[1]


def _dedupe(violations: list[Violation]) -> list[Violation]:
    if len(violations) < 2:  # the usual case: nothing to compare
        return violations
    seen: set[tuple[str, str, str]] = set()
    out = []
    for v in violations:
        key = (v.path, v.rule, v.message)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _limit(kind: str, details: Mapping[str, Any]) -> Any:
    for key in ("limit", "options", "expected_value", "expected"):
        if key in details:
            value = details[key]
            return value
    return None


def _plain(kind: str, details: Mapping[str, Any], fallback: str) -> str:
    """A short message for one JSON Schema keyword failure, naming the documented limit."""
    limit = details.get("limit")
    texts = {
        "maximum": f"must be at most {limit}",
        "minimum": f"must be at least {limit}",
        "maxLength": f"must be at most {limit} characters",
        "minLength": f"must be at least {limit} characters" if limit != 1 else "must not be empty",
        "maxItems": f"at most {limit} items",
        "minItems": f"at least {limit} items",
        "enum": "must be one of " + ", ".join(map(str, details.get("options", []))),
        "const": f"must be {details.get('expected_value')!r}",
        "pattern": (
            "must not be blank"
            if details.get("pattern") == r"\S"
            else "does not have the documented form"
        ),
        "additionalProperties": fallback.replace("Additional properties", "unknown field(s)"),
        "type": fallback,
    }
    return texts.get(kind, fallback)


@cache
def validator(gateway: spec.Gateway) -> Validator:
    """The shared validator of one gateway (compiled lazily, model by model)."""
    return Validator(gateway)


def validate(gateway: spec.Gateway, body: Any) -> str:
    """Validate a body for a gateway; returns its input mode or raises RequestValidationError."""
    return validator(gateway).validate(body)
