"""vidgate's validation (jsonschema-rs) agrees with the referee (Python jsonschema) everywhere,
reports the mode the spec's routing chain gives, and says field, rule, limit and code."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import seeds
import specvalues
import test_rules as rules
from conftest import referee

from vidgate import RequestValidationError, spec, validate, validator

Body = dict[str, Any]


@pytest.mark.parametrize(
    ("gateway", "model", "path", "change", "accepted"), list(rules._all_field_cases())
)
def test_agrees_with_referee_on_field_boundaries(
    gateway: spec.Gateway,
    model: str,
    path: rules.Path,
    change: Callable[[Body], Body],
    accepted: bool,
) -> None:
    ref, ours = referee(gateway), validator(gateway)
    for base in rules.BASES[(gateway, model)].values():
        body = change(copy.deepcopy(base))
        if path[:2] == ("extra_params", "multi_prompt"):
            body = rules._consistent(body)
        theirs = ref.errors(ref.model(model), body)
        result = ours.check(body)
        assert result.valid == (not theirs), (body, theirs, result.violations)


@pytest.mark.parametrize(
    ("key", "valid", "invalid"),
    [pytest.param(k, v, i, id=f"{k[0]}|{k[1]}") for k, (v, i) in rules.RULES.items()],
)
def test_reports_the_rule_and_its_gateway_code(
    key: tuple[str, str], valid: Body, invalid: Body
) -> None:
    model, rule = key
    gateway = rules.GATEWAY_OF[model]
    assert validator(gateway).check(valid).valid
    result = validator(gateway).check(invalid)
    broken = {v.rule: v for v in result.violations}
    assert rule in broken, result.violations
    node = next(
        r
        for r in spec.iter_rules(
            spec.document(gateway),
            {"$ref": referee(gateway).model(model).replace("/", "#/", 1)},
            "",
        )
        if r.id == rule
    )
    assert broken[rule].code == node.error_code
    assert broken[rule].source == node.source


@pytest.mark.parametrize(
    ("gateway", "model", "mode"),
    [(g, m, mode) for (g, m), bases in rules.BASES.items() for mode in bases],
)
def test_mode_follows_the_routing_chain(gateway: spec.Gateway, model: str, mode: str) -> None:
    body = rules.BASES[(gateway, model)][mode]
    expected = "text" if mode == "multi_shot" else mode
    assert validate(gateway, body) == expected


APIMART_CASES = {1: "text", 2: "text", 3: "first_frame", 4: "reference", 5: "edit", 6: "text"}


def test_documented_use_cases_route_to_their_modes() -> None:
    (page,) = [p for p in seeds.pages() if p.gateway == "apimart"]
    bodies = page.request_bodies()[2:]  # after the two curl examples, Case 1..6 in order
    assert [validate("apimart", b) for b in bodies] == [APIMART_CASES[i] for i in range(1, 7)]


def test_violation_names_field_rule_and_limit() -> None:
    limit = specvalues.prop("imini", "kling/kling-v3", "duration")["maximum"]
    ratios = specvalues.prop("imini", "kling/kling-v3", "aspect_ratio")["enum"]
    body = {"model": "kling/kling-v3", "prompt": "p", "duration": limit + 1, "aspect_ratio": "0:0"}
    with pytest.raises(RequestValidationError) as info:
        validate("imini", body)
    by_path = {v.path: v for v in info.value.violations}
    assert by_path["/duration"].rule == "maximum"
    assert by_path["/duration"].limit == limit
    assert f"at most {limit}" in by_path["/duration"].message
    assert by_path["/aspect_ratio"].limit == ratios
    assert f"duration: must be at most {limit}" in str(info.value)
    assert info.value.mode == "text"


def test_gateway_codes_for_documented_exclusions() -> None:
    body = {
        "model": "happyhorse-1.0",
        "prompt": "p",
        "first_frame_image": "https://example.com/a.png",
        "video_url": "https://example.com/a.mp4",
        "audio_setting": "origin",
    }
    result = validator("apimart").check(body)
    assert result.mode == "edit"  # video_url has the highest routing priority
    assert {v.code for v in result.violations} == {"mixed_media_not_allowed"}
    body.pop("video_url")
    codes = {v.code for v in validator("apimart").check(body).violations}
    assert codes == {"audio_setting_only_for_edit"}
    assert validator("apimart").check(body).violations[0].path == "/audio_setting"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], "the body must be a JSON object, not list"),
        ({"prompt": "p"}, "model is required; expected one of"),
        ({"model": "kling/kling-v9"}, "'kling/kling-v9' is not a model of imini"),
    ],
)
def test_unusable_bodies_are_explained(body: Any, expected: str) -> None:
    result = validator("imini").check(body)
    assert not result.valid
    assert result.mode is None
    assert expected in result.violations[0].message


def test_request_size_limit_from_the_spec() -> None:
    limit = spec.document("imini")["components"]["schemas"]["SeedanceRequest"][
        "x-vidgate-max-body-bytes"
    ]
    images = spec.document("imini")["components"]["schemas"]["SeedanceRequest"]["properties"][
        "reference_images"
    ]
    payload = "A" * (limit // 3 + 4)  # three images, each within the per-image limit
    assert len(payload) * 3 // 4 < images["x-vidgate-media"]["max_bytes"]
    body = {
        "model": "doubao/seedance-2.0",
        "prompt": "p",
        "reference_images": [{"url": f"data:image/png;base64,{payload}"}] * 3,
    }
    result = validator("imini").check(body)
    assert [v.rule for v in result.violations] == ["max-body-bytes"]
    assert result.violations[0].limit == limit


def test_seed_page_bodies_are_valid_for_vidgate_too() -> None:
    for page in seeds.pages():
        for body in page.request_bodies():
            assert validator(page.gateway).check(body).valid, (page.path.name, body)


def test_a_float_is_not_an_integer() -> None:
    body = {"model": "happyhorse-1.0", "prompt": "p", "duration": 3.0}
    (violation,) = validator("apimart").check(body).violations
    assert (violation.path, violation.rule) == ("/duration", "type")
    assert "not 3.0" in violation.message
    ok = {"model": "kling/kling-v3", "prompt": "p", "extra_params": {"cfg_scale": 1.0}}
    assert validator("imini").check(ok).valid  # a number field takes 1.0


# ---------------------------------------------------------------------------- upstream parameters
UPSTREAM_EXTRAS: list[tuple[spec.Gateway, str, str]] = [
    ("imini", rules.HH, "text"),
    ("imini", rules.MC, "motion_control"),
]


def _extras_of(gateway: spec.Gateway, model: str) -> dict[str, Any]:
    return specvalues.prop(gateway, model, "extra_params")


def _wrong(schema: dict[str, Any]) -> Any:
    """A value of the wrong type or just past the limit, derived from the key's schema."""
    if "enum" in schema:
        return f"not-{schema['enum'][0]}"
    if "maximum" in schema:
        return schema["maximum"] + 1
    return "x" if schema["type"] != "string" else 1


@pytest.mark.parametrize(("gateway", "model", "mode"), UPSTREAM_EXTRAS)
def test_unknown_upstream_keys_pass_with_a_warning(
    gateway: spec.Gateway, model: str, mode: str
) -> None:
    extras = _extras_of(gateway, model)
    assert extras["x-vidgate-unknown-keys"] == "warn"
    body = copy.deepcopy(rules.BASES[(gateway, model)][mode])
    body.setdefault("extra_params", {})["not_yet_listed"] = 1
    result = validator(gateway).check(body)
    assert result.valid, result.violations
    [warning] = result.warnings
    assert (warning.path, warning.rule) == ("/extra_params/not_yet_listed", "unknown-extension-key")
    assert warning.limit == sorted(extras["properties"])


def _upstream_keys() -> list[tuple[spec.Gateway, str, str, str]]:
    return [
        (gateway, model, mode, key)
        for gateway, model, mode in UPSTREAM_EXTRAS
        for key, sub in _extras_of(gateway, model)["properties"].items()
        if sub["x-vidgate-source"] == "upstream"
    ]


@pytest.mark.parametrize(("gateway", "model", "mode", "key"), _upstream_keys())
def test_upstream_keys_are_quoted_and_checked(
    gateway: spec.Gateway, model: str, mode: str, key: str
) -> None:
    sub = _extras_of(gateway, model)["properties"][key]
    source = sub["x-vidgate-upstream"]
    assert source["url"].startswith("https://")
    assert source["quote"].strip()
    body = copy.deepcopy(rules.BASES[(gateway, model)][mode])
    body.setdefault("extra_params", {})[key] = _wrong(sub)
    result = validator(gateway).check(body)
    assert [v.path for v in result.violations] == [f"/extra_params/{key}"]
    assert not result.warnings


def test_the_upstream_happyhorse_watermark_can_be_turned_off() -> None:
    body = {"model": rules.HH, "prompt": "a cat", "extra_params": {"watermark": False, "seed": 7}}
    result = validator("imini").check(body)
    assert result.valid, result.violations
    assert not result.warnings
    assert _extras_of("imini", rules.HH)["properties"]["watermark"]["default"] is True


# ------------------------------------------------------------------------ warnings from upstream
def _warning_rule(gateway: spec.Gateway, model: str, rule_id: str) -> dict[str, Any]:
    schema = specvalues.schema(gateway, model)
    [found] = [r.schema for r in spec.iter_warnings(schema, "") if r.id == rule_id]
    return found


PROMPT_BUDGET = "happyhorse.prompt.upstream-truncation"
HAN, LATIN = "\u732b", "a"  # a CJK ideograph and a Latin letter


@pytest.mark.parametrize(("gateway", "model"), [("imini", rules.HH), ("apimart", rules.AH)])
def test_a_happyhorse_prompt_past_the_upstream_budget_is_a_warning(
    gateway: spec.Gateway, model: str
) -> None:
    rule = _warning_rule(gateway, model, PROMPT_BUDGET)
    budget, upstream = rule["x-vidgate-text-budget"], rule["x-vidgate-upstream"]
    cjk, other = budget["cjk_chars"], budget["other_chars"]
    assert f"{other} non-Chinese characters or {cjk} Chinese characters" in upstream["quote"]
    assert rule["x-vidgate-source"] == "upstream"
    max_length = specvalues.prop(gateway, model, "prompt")["maxLength"]

    def warned(prompt: str) -> bool:
        result = validator(gateway).check({"model": model, "prompt": prompt})
        found = [w for w in result.warnings if w.rule == PROMPT_BUDGET]
        assert all(w.path == "/prompt" for w in found)
        return bool(found)

    assert not warned(HAN * cjk)
    assert warned(HAN * (cjk + 1))
    half = HAN * (cjk // 2) + LATIN * (other // 2)  # half of each budget: all of it
    assert not warned(half[:max_length])
    if len(half) + 1 <= max_length:
        assert warned(half + LATIN)
    assert not warned(LATIN * min(other, max_length))


def test_the_budget_counts_cjk_as_the_spec_says() -> None:
    rule = _warning_rule("imini", rules.HH, PROMPT_BUDGET)
    cjk, other = (
        rule["x-vidgate-text-budget"]["cjk_chars"],
        rule["x-vidgate-text-budget"]["other_chars"],
    )
    for char in ("\u732b", "\u30ab", "\uac00", "\u3002"):  # ideograph, katakana, hangul, 。
        result = validator("imini").check({"model": rules.HH, "prompt": char * (cjk + 1)})
        [warning] = result.warnings
        assert warning.limit == {"cjk_chars": cjk, "other_chars": other}
        assert f"{cjk + 1} CJK and 0 other" in warning.message


def test_an_apimart_prompt_past_its_page_limit_is_refused_and_warned() -> None:
    rule = _warning_rule("apimart", rules.AH, PROMPT_BUDGET)
    cjk = rule["x-vidgate-text-budget"]["cjk_chars"]
    result = validator("apimart").check({"model": rules.AH, "prompt": HAN * (cjk + 1)})
    assert [v.rule for v in result.violations] == ["maxLength"]
    assert [w.rule for w in result.warnings] == [PROMPT_BUDGET]


GENERATE_AUDIO = "seedance.reference-audio.generate-audio"


@pytest.mark.parametrize(
    ("audio", "generate", "warned"),
    [(True, False, True), (True, True, False), (True, None, False), (False, False, False)],
)
def test_seedance_reference_audio_with_generate_audio_false_is_a_warning(
    audio: bool, generate: bool | None, warned: bool
) -> None:
    rule = _warning_rule("imini", rules.SD, GENERATE_AUDIO)
    assert rule["x-vidgate-source"] == "gap"
    assert rule["x-vidgate-note"]
    body: Body = {"model": rules.SD, "prompt": "p", "reference_images": [{"url": rules.IMG}]}
    if audio:
        body["reference_audios"] = [{"url": rules.AUD}]
    if generate is not None:
        body["generate_audio"] = generate
    result = validator("imini").check(body)
    assert result.valid, result.violations
    found = [(w.path, w.rule, w.source) for w in result.warnings]
    assert found == ([("/generate_audio", GENERATE_AUDIO, "gap")] if warned else [])


def test_every_warning_rule_of_the_specs_has_a_case_here() -> None:
    found = {
        rule.id
        for gateway in spec.GATEWAYS
        for model in spec.request_schema_names(spec.document(gateway))
        for rule in spec.iter_warnings(specvalues.schema(gateway, model), "")
    }
    assert found == {PROMPT_BUDGET, GENERATE_AUDIO}
