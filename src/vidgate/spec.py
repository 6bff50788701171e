"""Read the gateways' OpenAPI documents: models, request schemas, rules and routing chains.

The documents come from ``vidgate_specs`` (snapshots of ``specs/*.yaml`` written by
``make generate``), so nothing here parses YAML or re-types a rule.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, cast, get_args

Gateway = Literal["imini", "apimart"]  # one entry each in vidgate.gateways' table
GATEWAYS: tuple[Gateway, ...] = get_args(Gateway)
MODES = ("text", "first_frame", "first_last_frame", "reference", "edit", "motion_control")
SOURCES = ("doc", "skill", "3p", "upstream", "gap")
Json = dict[str, Any]

__all__ = [
    "GATEWAYS",
    "MODES",
    "SOURCES",
    "Gateway",
    "Rule",
    "deref",
    "document",
    "is_routing_chain",
    "iter_rules",
    "iter_warnings",
    "operation",
    "request_schema_names",
    "resolve",
    "submit_operation",
    "sum_mismatch",
]


@dataclass(frozen=True)
class Rule:
    """A cross-field rule: an ``allOf`` entry (or nested one) that carries ``x-vidgate-rule``."""

    id: str
    source: str
    description: str
    error_code: str | None
    pointer: str  # JSON pointer of the rule's schema inside the document
    schema: Json


@cache
def document(gateway: Gateway) -> Json:
    """The OpenAPI document of one gateway, as a dict (do not mutate it)."""
    if gateway not in GATEWAYS:
        raise ValueError(f"unknown gateway {gateway!r}; expected one of {', '.join(GATEWAYS)}")
    module = importlib.import_module(f"vidgate_specs.{gateway}")
    return cast(Json, module.SPEC)


@cache
def words(gateway: Gateway) -> dict[str, str]:
    """Every property name and string enum value in the gateway's spec, each one str object: a
    parsed reply's keys and known values are swapped for these (``jsonin.share``), so that tasks
    kept in memory share them rather than each holding its own copies. Bounded by the spec: a
    reply's other strings are kept as they came."""
    found: dict[str, str] = {}
    stack: list[Any] = [document(gateway)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    for name in value:
                        found.setdefault(name, name)
                elif key == "enum" and isinstance(value, list):
                    for item in value:
                        if isinstance(item, str):
                            found.setdefault(item, item)
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def resolve(doc: Json, ref: str) -> Json:
    """The node a local ``$ref`` (``#/a/b``) points at."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, got {ref!r}")
    node: Any = doc
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return cast(Json, node)


def deref(doc: Json, node: Any) -> Any:
    """``node`` itself, or what its (chain of) local ``$ref`` points at."""
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def submit_operation(doc: Json) -> tuple[str, Json]:
    """The path and operation of a gateway's submit endpoint (its only POST)."""
    posts = [(path, item["post"]) for path, item in doc["paths"].items() if "post" in item]
    if len(posts) != 1:
        raise LookupError(f"expected one POST operation, found {len(posts)}")
    return posts[0]


@cache
def reply_schemas(gateway: Gateway) -> tuple[str, str]:
    """The schemas of a submit's 200 reply and of a task query's 200 reply; the task query is the
    operation the submit's reply links to."""
    doc = document(gateway)
    _, submit = submit_operation(doc)
    ok = submit["responses"]["200"]
    linked = {link["operationId"] for link in ok.get("links", {}).values()}
    if len(linked) != 1:
        raise LookupError(f"{gateway}: expected the submit reply to link one task query")
    return _reply_schema_name(submit), _reply_schema_name(operation(doc, linked.pop()))


def operation(doc: Json, operation_id: str) -> Json:
    """The operation with this ``operationId``."""
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise LookupError(operation_id)


def _reply_schema_name(op: Json) -> str:
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return str(ref).rsplit("/", 1)[1]


def request_schema_names(doc: Json) -> dict[str, str]:
    """Model id → component schema name, from the submit body's discriminator mapping."""
    _, op = submit_operation(doc)
    body = resolve(doc, op["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    mapping: dict[str, str] = body["discriminator"]["mapping"]
    return {model: ref.rsplit("/", 1)[1] for model, ref in mapping.items()}


def iter_rules(doc: Json, schema: Json, pointer: str) -> Iterator[Rule]:
    """Every rule reachable from ``schema`` (allOf, then/else, properties, items, $ref)."""
    seen: set[str] = set()

    def walk(node: Any, ptr: str) -> Iterator[Rule]:
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            yield from walk(resolve(doc, ref), ref[1:])
        if "x-vidgate-rule" in node:
            yield Rule(
                id=node["x-vidgate-rule"],
                source=node.get("x-vidgate-source", ""),
                description=node.get("description", ""),
                error_code=node.get("x-vidgate-error-code"),
                pointer=ptr,
                schema=node,
            )
        for key in ("allOf", "then", "else", "items"):
            child = node.get(key)
            if isinstance(child, list):
                for i, item in enumerate(child):
                    yield from walk(item, f"{ptr}/{key}/{i}")
            elif child is not None:
                yield from walk(child, f"{ptr}/{key}")
        for name, prop in node.get("properties", {}).items():
            yield from walk(prop, f"{ptr}/properties/{name}")

    yield from walk(schema, pointer)


def iter_warnings(schema: Json, pointer: str) -> Iterator[Rule]:
    """A model's warning rules (``x-vidgate-warnings``): what is sent as given but reported,
    because a source other than the page says the gateway or its model may not do what the body
    asks. Each holds one check: ``when`` (a JSON Schema the body matches) or
    ``x-vidgate-text-budget`` (a character budget of one text field)."""
    for i, node in enumerate(schema.get("x-vidgate-warnings", [])):
        yield Rule(
            id=node["x-vidgate-rule"],
            source=node.get("x-vidgate-source", ""),
            description=node.get("description", ""),
            error_code=None,
            pointer=f"{pointer}/x-vidgate-warnings/{i}",
            schema=node,
        )


def _pointer(instance: Any, pointer: str) -> Any:
    node = instance
    for part in pointer.lstrip("/").split("/"):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def sum_mismatch(rule: Json, instance: Any) -> str | None:
    """Check an ``x-vidgate-sum`` keyword: the numbers at ``items[*].field`` add up to ``equals``.

    Returns a message when both sides are present and differ; absent or malformed values are
    left to the schema's own rules.
    """
    items, target = _pointer(instance, rule["items"]), _pointer(instance, rule["equals"])
    if not isinstance(items, list) or isinstance(target, bool) or not isinstance(target, int):
        return None
    try:
        total = sum(int(item[rule["field"]]) for item in items)
    except (KeyError, TypeError, ValueError):
        return None
    if total == target:
        return None
    return (
        f"{rule['items']}[*].{rule['field']} adds up to {total}, but {rule['equals']} is {target}"
    )


def is_routing_chain(node: Json) -> bool:
    """Whether an allOf entry is a model's routing chain (a mode, or if/then with a mode)."""
    then = node.get("then")
    return "x-vidgate-mode" in node or (isinstance(then, dict) and "x-vidgate-mode" in then)
