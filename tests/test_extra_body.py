"""extra_body adds keys the spec does not list and never replaces a validated field: a listed key
is refused (rule ``extra-body.overrides``), the merged body is held to the spec's body-size limit,
and the mode returned is the mode of what is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx
import specvalues
from conftest import call

from vidgate import errors, spec, validator

pytestmark = pytest.mark.anyio

KL, SD, AH = "kling/kling-v3", "doubao/seedance-2.0", "happyhorse-1.0"
KLING = {"model": KL, "prompt": "an orange cat"}
SUBMITTED = {"task_id": "task_1", "model": KL}


def _overrides() -> list[tuple[str, dict[str, Any]]]:
    """One extra_body per kind of listed key: the model, a checked number, an enum, an object."""
    longest = specvalues.prop("imini", KL, "duration")["maximum"]
    return [
        ("duration", {"duration": longest}),  # a valid value is refused too: no silent swap
        ("model", {"model": SD}),
        ("aspect_ratio", {"aspect_ratio": "1:1"}),
        ("extra_params", {"extra_params": {}}),
        ("prompt", {"prompt": "another", "new_field": 1}),
    ]


@pytest.mark.parametrize(("key", "extra"), _overrides(), ids=[k for k, _ in _overrides()])
async def test_a_listed_key_in_extra_body_is_refused_and_nothing_sent(
    make_client: Any, imini_api: respx.MockRouter, key: str, extra: dict[str, Any]
) -> None:
    route = imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    client = make_client()
    with pytest.raises(errors.RequestValidationError) as caught:
        await call(client.generate(KLING, extra_body=extra))
    assert [(v.rule, v.path) for v in caught.value.violations] == [
        ("extra-body.overrides", f"/{key}")
    ]
    assert "extra_body" in str(caught.value)
    assert route.call_count == 0
    await call(client.generate(KLING, extra_body={"new_field": 1}))  # the client still works
    imini_api.calls.clear()


async def test_an_unlisted_key_is_added_and_the_mode_is_of_what_is_sent(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    route = imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    extra = {"new_field": {"x": 1}, "seed": 7}
    submitted = await call(make_client().generate(KLING, extra_body=extra))
    sent = json.loads(route.calls.last.request.content)
    assert sent == {**KLING, **extra}
    assert submitted.mode == validator("imini").mode(sent)


async def test_the_body_limit_holds_for_the_merged_body(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    """A body under the limit plus an extra_body that takes it over is refused, nothing sent."""
    imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    limit = specvalues.schema("imini", SD)["x-vidgate-max-body-bytes"]
    body = {"model": SD, "prompt": "a valley at dawn"}
    client = make_client()
    with pytest.raises(errors.RequestValidationError) as caught:
        await call(client.generate(body, extra_body={"padding": "x" * limit}))
    assert [(v.rule, v.limit) for v in caught.value.violations] == [("max-body-bytes", limit)]
    assert not imini_api.calls
    await call(client.generate(body, extra_body={"padding": "x" * 1000}))  # well within


def test_the_listed_keys_are_the_specs() -> None:
    """Every property of every request schema counts as listed (none is re-typed here)."""
    for gateway in spec.GATEWAYS:
        doc = spec.document(gateway)
        for model, name in spec.request_schema_names(doc).items():
            props = doc["components"]["schemas"][name].get("properties", {})
            base = {"model": model, "prompt": "p"}
            check = validator(gateway)
            for key in props:
                with pytest.raises(errors.RequestValidationError) as caught:
                    check.with_extra(base, {key: None})
                assert caught.value.violations[0].rule == "extra-body.overrides", (model, key)
