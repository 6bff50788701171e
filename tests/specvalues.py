"""Documented values, read from the specs so that no test re-types one: a property's schema,
a cross-field rule's schema, by model and dotted field path."""

from __future__ import annotations

from typing import Any

from vidgate import spec

__all__ = ["prop", "rule", "schema"]


def schema(gateway: spec.Gateway, model: str) -> dict[str, Any]:
    """The request schema of ``model``."""
    doc = spec.document(gateway)
    name = spec.request_schema_names(doc)[model]
    return dict(doc["components"]["schemas"][name])


def prop(gateway: spec.Gateway, model: str, dotted: str) -> dict[str, Any]:
    """The schema of a field (``duration``, ``extra_params.seed``, ``reference_images[]``)."""
    doc = spec.document(gateway)
    node: Any = schema(gateway, model)
    for part in dotted.split("."):
        name = part.removesuffix("[]")
        node = spec.deref(doc, spec.deref(doc, node)["properties"][name])
        if part.endswith("[]"):
            node = spec.deref(doc, node["items"])
    return dict(node)


def rule(gateway: spec.Gateway, model: str, rule_id: str) -> dict[str, Any]:
    """The schema of the cross-field rule ``rule_id`` of ``model``."""
    doc = spec.document(gateway)
    name = spec.request_schema_names(doc)[model]
    found = [
        r.schema
        for r in spec.iter_rules(
            doc, doc["components"]["schemas"][name], f"/components/schemas/{name}"
        )
        if r.id == rule_id
    ]
    if len(found) != 1:
        raise LookupError(f"{gateway} {model}: {len(found)} rules named {rule_id!r}")
    return dict(found[0])
