"""The JSON Schema referee: Python `jsonschema` validating against the spec document itself.

Independent of vidgate's own validation code (which is what the tests judge); the only vidgate
piece it uses is the meaning of the spec's one custom keyword, ``x-vidgate-sum``.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import referencing
from jsonschema.protocols import Validator
from referencing.jsonschema import DRAFT202012

from vidgate import spec


def _sum_keyword(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
    message = spec.sum_mismatch(value, instance)
    if message:
        yield jsonschema.ValidationError(message)


RefereeValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {"x-vidgate-sum": _sum_keyword}
)


class Referee:
    """Validate instances against any location of one gateway's spec."""

    def __init__(self, gateway: spec.Gateway, doc: dict[str, Any] | None = None) -> None:
        self.gateway = gateway
        self.doc = spec.document(gateway) if doc is None else doc
        self.uri = f"urn:vidgate:{gateway}"
        resource = DRAFT202012.create_resource(self.doc)
        self.registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            self.uri, resource
        )
        self._validators: dict[str, Validator] = {}

    def validator(self, pointer: str) -> Validator:
        if pointer not in self._validators:
            self._validators[pointer] = RefereeValidator(
                {"$ref": f"{self.uri}#{pointer}"},
                registry=self.registry,
                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
            )
        return self._validators[pointer]

    def variant(self, pointer: str, instance: Any) -> str:
        """For a discriminated union, the pointer of the member the instance names (if any)."""
        schema = spec.resolve(self.doc, f"#{pointer}")
        while "$ref" in schema and len(schema) == 1:
            pointer = schema["$ref"][1:]
            schema = spec.resolve(self.doc, schema["$ref"])
        disc = schema.get("discriminator")
        if disc and isinstance(instance, dict):
            target = disc.get("mapping", {}).get(instance.get(disc["propertyName"]))
            if target:
                return str(target)[1:]
        return pointer

    def errors(self, pointer: str, instance: Any) -> list[str]:
        """Every violation, as 'path: message'; a union is judged by the member it names."""
        pointer = self.variant(pointer, instance)
        return [
            f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in self.validator(pointer).iter_errors(instance)
        ]

    def model(self, model: str) -> str:
        """Pointer of a model's request schema, e.g. '/components/schemas/KlingV3Request'."""
        return f"/components/schemas/{spec.request_schema_names(self.doc)[model]}"

    def body(self) -> str:
        """Pointer of the submit body schema (the discriminated union)."""
        _, op = spec.submit_operation(self.doc)
        return str(op["requestBody"]["content"]["application/json"]["schema"]["$ref"])[1:]

    def rule_ids(self, pointer: str, instance: Any) -> set[str]:
        """The ids of the rules whose schemas produced the errors (nearest enclosing rule)."""
        ids = set()
        for error in self.validator(pointer).iter_errors(instance):
            node: Any = spec.resolve(self.doc, f"#{pointer}")  # the path starts inside it
            rule = None
            for step in error.absolute_schema_path:
                # jsonschema's schema path steps through $ref without naming it
                while isinstance(node, dict) and "$ref" in node and step not in node:
                    node = spec.resolve(self.doc, node["$ref"])
                node = node[step]
                if isinstance(node, dict) and "x-vidgate-rule" in node:
                    rule = node["x-vidgate-rule"]
                while isinstance(node, dict) and "$ref" in node and len(node) == 1:
                    node = spec.resolve(self.doc, node["$ref"])
                    if "x-vidgate-rule" in node:
                        rule = node["x-vidgate-rule"]
            if rule:
                ids.add(rule)
        return ids

    def error_paths(self, pointer: str, instance: Any) -> list[tuple[str | int, ...]]:
        return [tuple(e.absolute_path) for e in self.validator(pointer).iter_errors(instance)]
