"""Property tests with the spec as referee: bodies drawn by schemathesis' generator from the spec
are accepted by vidgate's validation and by the generated pydantic models, survive a round trip
through both generated model sets unchanged, and get the mode the spec's routing chain gives
(walked here independently, with Python jsonschema)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import schemathesis
from conftest import integral_float, referee
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from vidgate import spec, validator


def _bodies(gateway: spec.Gateway) -> st.SearchStrategy[Any]:
    schema = schemathesis.openapi.from_path(f"specs/{gateway}.yaml")
    path, _ = spec.submit_operation(spec.document(gateway))
    strategy = schema[path]["POST"].as_strategy(generation_mode=GenerationMode.POSITIVE)
    return strategy.map(lambda case: case.body).filter(_satisfies_custom_rules(gateway))


def _satisfies_custom_rules(gateway: spec.Gateway) -> Any:
    """The generator cannot know x-vidgate-sum; bodies that break it are not spec-valid."""
    ref = referee(gateway)

    def ok(body: Any) -> bool:
        return (
            isinstance(body, dict) and not integral_float(body) and not ref.errors(ref.body(), body)
        )

    return ok


def _referee_mode(gateway: spec.Gateway, body: dict[str, Any]) -> str:
    """The routing chain walked with Python jsonschema (no vidgate validation code)."""
    ref = referee(gateway)
    doc = ref.doc
    name = spec.request_schema_names(doc)[body["model"]]
    schema = doc["components"]["schemas"][name]
    index = next(i for i, r in enumerate(schema["allOf"]) if spec.is_routing_chain(r))
    node, at = schema["allOf"][index], f"/components/schemas/{name}/allOf/{index}"
    while "x-vidgate-mode" not in node:
        if not ref.errors(f"{at}/if", body):
            node, at = node["then"], f"{at}/then"
        else:
            node, at = node["else"], f"{at}/else"
    return str(node["x-vidgate-mode"])


def _check(gateway: spec.Gateway, body: dict[str, Any]) -> None:
    result = validator(gateway).check(body)
    assert result.valid, result.violations
    assert result.mode == _referee_mode(gateway, body)
    root = referee(gateway).body().rsplit("/", 1)[1]
    pydantic_model = getattr(importlib.import_module(f"vidgate_models.{gateway}"), root)
    assert pydantic_model.model_validate(body).model_dump(mode="json", exclude_unset=True) == body
    name = spec.request_schema_names(spec.document(gateway))[body["model"]]
    attrs_model = getattr(importlib.import_module(f"vidgate_{gateway}.models"), name)
    assert attrs_model.from_dict(body).to_dict() == body


@settings(deadline=None)
@given(body=_bodies("imini"))
def test_spec_valid_imini_bodies(body: dict[str, Any]) -> None:
    _check("imini", body)


@settings(deadline=None)
@given(body=_bodies("apimart"))
def test_spec_valid_apimart_bodies(body: dict[str, Any]) -> None:
    _check("apimart", body)


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_generator_reaches_every_mode(gateway: spec.Gateway) -> None:
    """Not a property: a guard that the generator explores the routing chain at all."""
    seen: set[str] = set()
    strategy = _bodies(gateway)

    @settings(max_examples=150, deadline=None, derandomize=True, database=None)
    @given(body=strategy)
    def collect(body: dict[str, Any]) -> None:
        seen.add(f"{body['model']}:{_referee_mode(gateway, body)}")

    collect()
    models = set(spec.request_schema_names(spec.document(gateway)))
    assert {s.split(":")[0] for s in seen} == models
    assert len(seen) >= len(models) + 2, seen
