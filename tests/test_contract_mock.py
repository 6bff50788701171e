"""schemathesis against the in-process mock, for both specs: positive and negative generation
with every check on, and the stateful run through the submit -> task links."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from conftest import EXAMPLES, integral_float
from hypothesis import settings
from schemathesis import GenerationMode

from vidgate import spec
from vidgate.mock import DEFAULT_KEY, State, Timing, gateway_app

pytestmark = pytest.mark.contract


def _keeps_custom_rules(ctx: Any, case: Any) -> bool:
    """Positive cases must satisfy the spec's one custom keyword (x-vidgate-sum) and vidgate's
    integers-are-integers rule, which schemathesis cannot know; negative cases are left alone."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return True
    return not validator_sum_broken(case.body) and not integral_float(case.body)


def validator_sum_broken(body: Any) -> bool:
    if not isinstance(body, dict) or body.get("model") not in RULES_WITH_SUM:
        return False
    return any(spec.sum_mismatch(rule, body) for rule in RULES_WITH_SUM[body["model"]])


def _sum_rules(gateway: spec.Gateway) -> dict[str, list[Any]]:
    doc = spec.document(gateway)
    found: dict[str, list[Any]] = {}
    for model, name in spec.request_schema_names(doc).items():
        for rule in spec.iter_rules(doc, doc["components"]["schemas"][name], ""):
            if "x-vidgate-sum" in rule.schema:
                found.setdefault(model, []).append(rule.schema["x-vidgate-sum"])
    return found


RULES_WITH_SUM = {**_sum_rules("imini"), **_sum_rules("apimart")}


def _schema(gateway: str) -> Any:
    schema = schemathesis.openapi.from_path(f"specs/{gateway}.yaml")
    schema.hook("filter_case")(_keeps_custom_rules)
    schema.app = gateway_app(gateway, State(Timing(queue_s=0, run_s=0)))
    schema.config.update(
        headers={"Authorization": f"Bearer {DEFAULT_KEY}"}, base_url="http://localhost"
    )
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
    )
    return schema


imini = _schema("imini")
apimart = _schema("apimart")


# The key is passed with each call, so the auth checks know it is ours and can probe without it.
AUTH = {"Authorization": f"Bearer {DEFAULT_KEY}"}


@imini.parametrize()  # type: ignore[untyped-decorator]
def test_imini_mock_conforms(case: Any) -> None:
    case.call_and_validate(headers=AUTH)


@apimart.parametrize()  # type: ignore[untyped-decorator]
def test_apimart_mock_conforms(case: Any) -> None:
    case.call_and_validate(headers=AUTH)


class ImininStateful(imini.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": AUTH}


class ApimartStateful(apimart.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": AUTH}


STATEFUL = settings(max_examples=max(5, EXAMPLES // 5), stateful_step_count=6, deadline=None)
TestImininStateful = ImininStateful.TestCase
TestImininStateful.settings = STATEFUL
TestApimartStateful = ApimartStateful.TestCase
TestApimartStateful.settings = STATEFUL
