"""Lint specs/*.yaml beyond OpenAPI validity.

    python scripts/lint_specs.py [SPEC ...]

Checks, per spec:
- the document is valid OpenAPI 3.1 (openapi-spec-validator);
- every property, parameter, response and rule says where it comes from (`x-vidgate-source`,
  one of vidgate.spec.SOURCES); every rule has an id, unique within its model;
- every request model has exactly one routing chain, its modes are in vidgate.spec.MODES, and a
  model's chain ends in a mode whatever the body (every `if` has a `then` and an `else`);
- every example in the document validates against its own schema;
- constraints that are not a property's value name their source in `x-vidgate-sources`: every
  closed object (`additionalProperties: false`), every object's `required` list and every number
  of `x-vidgate-polling`; a closed object claimed as `doc` must quote the page (`x-vidgate-quote`),
  and an open extension object (`x-vidgate-unknown-keys: warn`) must not be closed;
- every warning rule (`x-vidgate-warnings`) has a source, a description, an id unused by any
  other rule of its model, and one check (`when` or `x-vidgate-text-budget`);
- `info` declares how a null (`x-vidgate-null`) and an empty array (`x-vidgate-empty-arrays`) are
  read, and every byte limit is a whole number of the spec's MB (`x-vidgate-mb`).
Exit status 1 with one line per problem.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from referee import Referee

from vidgate import spec
from vidgate.spectools import specfile

ROOT = Path(__file__).resolve().parent.parent
Json = dict[str, Any]


def source_problems(doc: Json) -> Iterator[str]:
    def check(node: Any, where: str) -> Iterator[str]:
        if not isinstance(node, dict):
            return
        if "$ref" in node and "x-vidgate-source" not in node:
            node = spec.resolve(doc, node["$ref"])
        value = node.get("x-vidgate-source")
        if value is None:
            yield f"{where}: no x-vidgate-source"
        elif value not in spec.SOURCES:
            yield f"{where}: x-vidgate-source {value!r} is not one of {', '.join(spec.SOURCES)}"

    for name, schema in doc["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            yield from check(sub, f"components/schemas/{name}/properties/{prop}")
    for name, response in doc["components"].get("responses", {}).items():
        yield from check(response, f"components/responses/{name}")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                yield from check(param, f"{method.upper()} {path} parameter {param.get('name')}")


def constraint_problems(doc: Json) -> Iterator[str]:
    def sources(node: Json, where: str) -> Iterator[str]:
        given = node.get("x-vidgate-sources", {})
        for key, value in given.items():
            if value not in spec.SOURCES:
                yield f"{where}: x-vidgate-sources.{key} {value!r} is not one of the sources"
        if node.get("additionalProperties") is False:
            if "additionalProperties" not in given:
                yield f"{where}: closed object without x-vidgate-sources.additionalProperties"
            elif given["additionalProperties"] == "doc" and "x-vidgate-quote" not in node:
                yield f"{where}: closed object claimed as doc without an x-vidgate-quote"
            if node.get("x-vidgate-unknown-keys") == "warn":
                yield f"{where}: an open extension object (x-vidgate-unknown-keys) is closed"
        if node.get("type") == "object" and node.get("required") and "required" not in given:
            yield f"{where}: required list without x-vidgate-sources.required"

    def walk(node: Any, where: str) -> Iterator[str]:
        if not isinstance(node, dict):
            return
        yield from sources(node, where)
        for name, prop in node.get("properties", {}).items():
            yield from walk(prop, f"{where}/properties/{name}")
        yield from walk(node.get("items"), f"{where}/items")

    for name, schema in doc["components"]["schemas"].items():
        yield from walk(schema, f"components/schemas/{name}")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            polling = op.get("x-vidgate-polling")
            if polling is None:
                continue
            given = polling.get("x-vidgate-sources", {})
            for key in polling:
                if not key.startswith("x-") and given.get(key) not in spec.SOURCES:
                    yield f"{method.upper()} {path} x-vidgate-polling.{key}: no valid source"
    info = doc["info"]
    for key, readings in (
        ("x-vidgate-null", ("refuse", "absent")),
        ("x-vidgate-empty-arrays", ("absent", "present")),
    ):
        declared = info.get(key, {})
        if (
            declared.get("reading") not in readings
            or declared.get("x-vidgate-source") not in spec.SOURCES
        ):
            yield f"info.{key}: needs a reading ({' or '.join(readings)}) and an x-vidgate-source"
    mb = info.get("x-vidgate-mb", {}).get("bytes")
    if not isinstance(mb, int) or mb <= 0:
        yield "info.x-vidgate-mb: needs bytes (the reading of the pages' MB)"
        return
    for where, limit in _byte_limits(doc, ""):
        if limit % mb:
            yield f"{where}: {limit} bytes is not a whole number of info.x-vidgate-mb"


def _byte_limits(node: Any, where: str) -> Iterator[tuple[str, int]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("max_bytes", "x-vidgate-max-body-bytes") and isinstance(value, int):
                yield f"{where}/{key}", value
            else:
                yield from _byte_limits(value, f"{where}/{_escape(key)}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _byte_limits(value, f"{where}/{i}")


def rule_problems(doc: Json) -> Iterator[str]:
    schemas = doc["components"]["schemas"]
    for model, name in spec.request_schema_names(doc).items():
        pointer = f"/components/schemas/{name}"
        ids: dict[str, str] = {}
        for rule in spec.iter_rules(doc, schemas[name], pointer):
            if rule.source not in spec.SOURCES:
                yield f"{model}: rule {rule.id} has no valid x-vidgate-source"
            if not rule.description:
                yield f"{model}: rule {rule.id} has no description"
            if rule.id in ids and ids[rule.id] != rule.pointer:
                yield f"{model}: rule id {rule.id} used twice ({ids[rule.id]}, {rule.pointer})"
            ids[rule.id] = rule.pointer
        for warning in spec.iter_warnings(schemas[name], pointer):
            checks = [k for k in ("when", "x-vidgate-text-budget") if k in warning.schema]
            if warning.source not in spec.SOURCES or not warning.description:
                yield f"{model}: warning {warning.id} needs an x-vidgate-source and a description"
            if len(checks) != 1:
                yield f"{model}: warning {warning.id} needs one of when, x-vidgate-text-budget"
            if warning.id in ids:
                yield f"{model}: warning id {warning.id} is also used at {ids[warning.id]}"
            ids[warning.id] = warning.pointer
        chains = [r for r in schemas[name].get("allOf", []) if spec.is_routing_chain(r)]
        if len(chains) != 1:
            yield f"{model}: expected one routing chain (allOf entry with modes), got {len(chains)}"
            continue
        yield from (f"{model}: {p}" for p in _chain_problems(chains[0], "routing"))


def _chain_problems(node: Json, where: str) -> Iterator[str]:
    if "x-vidgate-mode" in node:
        if node["x-vidgate-mode"] not in spec.MODES:
            yield f"{where}: mode {node['x-vidgate-mode']!r} is not one of {', '.join(spec.MODES)}"
        return
    if not {"if", "then", "else"} <= node.keys():
        yield f"{where}: a routing step needs if, then and else (or a final x-vidgate-mode)"
        return
    if "x-vidgate-mode" not in node["then"]:
        yield f"{where}/then: has no x-vidgate-mode"
    yield from _chain_problems(node["then"], f"{where}/then")
    yield from _chain_problems(node["else"], f"{where}/else")


def example_problems(doc: Json, referee: Referee) -> Iterator[str]:
    """Examples of media types, parameters and schemas, each against the schema beside it."""

    def walk(node: Any, ptr: str) -> Iterator[tuple[str, str, Any]]:
        if isinstance(node, dict):
            schema = node.get("schema")
            if isinstance(schema, dict):
                at = f"{ptr}/schema"
                if "example" in node:
                    yield f"{ptr}/example", at, node["example"]
                for key, ex in node.get("examples", {}).items():
                    if isinstance(ex, dict) and "value" in ex:
                        yield f"{ptr}/examples/{_escape(key)}", at, ex["value"]
                if "example" in schema:
                    yield f"{at}/example", at, schema["example"]
            for key, child in node.items():
                yield from walk(child, f"{ptr}/{_escape(key)}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                yield from walk(child, f"{ptr}/{i}")

    for where, at, value in walk(doc, ""):
        for error in referee.errors(at, value):
            yield f"example {where}: {error}"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def lint_document(doc: Json, gateway: spec.Gateway) -> list[str]:
    """Every problem of one OpenAPI document (which need not be the one in generated/)."""
    try:
        validate(doc)
    except Exception as exc:  # the validator raises several unrelated exception types
        return [f"not valid OpenAPI 3.1: {exc}"]
    referee = Referee(gateway, doc)
    return [
        *source_problems(doc),
        *constraint_problems(doc),
        *rule_problems(doc),
        *example_problems(doc, referee),
    ]


def lint(path: Path) -> list[str]:
    gateway: spec.Gateway = path.stem  # type: ignore[assignment]
    doc = yaml.safe_load(path.read_text())
    try:  # before anything walks it: an alias bomb or a $ref cycle would never finish
        specfile.check_bounded(doc, path.name)
    except specfile.SpecUnreadable as exc:
        return [str(exc)]
    if doc != spec.document(gateway):
        return [f"{path.name}: generated/vidgate_specs is stale; run make generate"]
    return [f"{path.name}: {p}" for p in lint_document(doc, gateway)]


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "specs").glob("*.yaml"))
    problems = [p for path in paths for p in lint(path)]
    for problem in problems:
        print(problem)
    print(f"linted {len(paths)} spec(s): {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
