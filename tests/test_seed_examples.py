"""Every example on the documentation pages validates against our specs and generated models."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import seeds
from conftest import referee

from vidgate import spec

pytestmark = pytest.mark.docs
PAGES = seeds.pages()


def _models(gateway: spec.Gateway) -> Any:
    return importlib.import_module(f"vidgate_models.{gateway}")


def _transport_body(gateway: spec.Gateway, model: str) -> Any:
    """The openapi-python-client attrs class for one model's body."""
    name = spec.request_schema_names(spec.document(gateway))[model]
    package = importlib.import_module(f"vidgate_{gateway}.models")
    return getattr(package, name)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: f"{p.gateway}-{p.model}")
def test_page_lists_its_requests_and_replies(page: seeds.Page) -> None:
    bodies = page.request_bodies()
    assert bodies, f"{page.path.name}: no request body found"
    assert {b["model"] for b in bodies} == {page.model}
    assert page.submit_replies(), f"{page.path.name}: no submit reply found"
    assert page.model in spec.request_schema_names(spec.document(page.gateway))


def _examples() -> list[Any]:
    cases = []
    for page in PAGES:
        for i, body in enumerate(page.request_bodies()):
            cases.append(pytest.param(page, body, id=f"{page.path.stem[:3]}-{page.model}-{i}"))
    return cases


@pytest.mark.parametrize(("page", "body"), _examples())
def test_documented_request_is_valid(page: seeds.Page, body: dict[str, Any]) -> None:
    ref = referee(page.gateway)
    assert ref.errors(ref.body(), body) == []
    union = _models(page.gateway)
    root_name = ref.body().rsplit("/", 1)[1]
    parsed = getattr(union, root_name).model_validate(body)
    assert parsed.root.model_dump(mode="json", exclude_unset=True) == body
    attrs_cls = _transport_body(page.gateway, body["model"])
    assert attrs_cls.from_dict(body).to_dict() == body


@pytest.mark.parametrize("page", PAGES, ids=lambda p: f"{p.gateway}-{p.model}")
def test_documented_submit_reply_is_valid(page: seeds.Page) -> None:
    ref = referee(page.gateway)
    _, op = spec.submit_operation(ref.doc)
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"][1:]
    for reply in page.submit_replies():
        assert ref.errors(schema, reply) == []


def test_apimart_page_use_cases_are_all_read() -> None:
    """The apimart page has two curl examples and six use cases; all eight are checked above."""
    (page,) = [p for p in PAGES if p.gateway == "apimart"]
    assert len(page.request_bodies()) == 2 + page.text.count("\nCase ")
