"""The documented rules, at their boundaries, refereed by Python `jsonschema` against the spec.

Field-level cases (ranges, lengths, item counts, enums, types, unknown keys) are derived from the
spec itself, so no limit is typed here: for each one a value on the boundary must be accepted in
at least one input mode of the model, and a value just past it must be refused in every mode,
with an error at that field. Cross-field rules have a hand-written valid and invalid body each,
and the invalid one must be refused by that very rule (found through the error's schema path).
Every rule in the specs must have a case here.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import specvalues
from conftest import referee

from vidgate import spec
from vidgate.validation import validator

Body = dict[str, Any]
Path = tuple[str | int, ...]

IMG = "https://example.com/image.png"
VID = "https://example.com/clip.mp4"
AUD = "https://example.com/voice.mp3"
HH, SD, KL, MC, AH = (
    "dashscope/happyhorse-1.0",
    "doubao/seedance-2.0",
    "kling/kling-v3",
    "kling/kling-v3-motion-control",
    "happyhorse-1.0",
)


EDIT_IMAGES = specvalues.rule("imini", HH, "happyhorse.edit.assets")["properties"][
    "reference_images"
]["maxItems"]
KL_IMAGES = specvalues.prop("imini", KL, "reference_images")["maxItems"]
KL_DURATION = specvalues.prop("imini", KL, "duration")  # a shot lasts no longer than the video


def _img(kind: str | None = None, n: int = 0) -> Body:
    item: Body = {"url": f"https://example.com/{n}.png"}
    if kind:
        item["reference_type"] = kind
    return item


# One valid body per input mode. Frame pairs list last_frame first, so that item 0 can be set to
# any reference_type by a derived case and still leave a valid body in some mode.
BASES: dict[tuple[spec.Gateway, str], dict[str, Body]] = {
    ("imini", HH): {
        "text": {"model": HH, "prompt": "a cat"},
        "first_frame": {"model": HH, "reference_images": [_img("first_frame")], "prompt": "go"},
        "reference": {"model": HH, "prompt": "character1 waves", "reference_images": [_img()]},
        "edit": {
            "model": HH,
            "prompt": "make it snow",
            "reference_videos": [{"url": VID}],
            "extra_params": {"audio_setting": "origin"},
        },
    },
    ("imini", SD): {
        "text": {"model": SD, "prompt": "a valley at dawn"},
        "first_frame": {"model": SD, "reference_images": [_img("first_frame")]},
        "first_last_frame": {
            "model": SD,
            "reference_images": [_img("last_frame", 1), _img("first_frame", 2)],
        },
        "reference": {
            "model": SD,
            "reference_images": [_img()],
            "reference_videos": [{"url": VID}],
            "reference_audios": [{"url": AUD}],
        },
    },
    ("imini", KL): {
        "text": {"model": KL, "prompt": "an orange cat"},
        "first_frame": {"model": KL, "prompt": "go", "reference_images": [_img("first_frame")]},
        "first_last_frame": {
            "model": KL,
            "prompt": "bloom",
            "reference_images": [_img("last_frame", 1), _img("first_frame", 2)],
        },
        "reference": {"model": KL, "prompt": "both meet", "reference_images": [_img()]},
        "multi_shot": {
            "model": KL,
            "duration": 3,
            "extra_params": {
                "multi_shot": True,
                "shot_type": "customize",
                "multi_prompt": [{"index": 1, "prompt": "a kettle", "duration": "3"}],
            },
        },
    },
    ("imini", MC): {
        "motion_control": {
            "model": MC,
            "reference_images": [{"url": IMG}],
            "reference_videos": [{"url": VID}],
            "extra_params": {"character_orientation": "video"},
        },
    },
    ("apimart", AH): {
        "text": {"model": AH, "prompt": "waves at sunset"},
        "first_frame": {"model": AH, "first_frame_image": IMG},
        "reference": {"model": AH, "prompt": "the hero runs", "image_urls": [IMG]},
        "edit": {"model": AH, "prompt": "cartoon style", "video_url": VID, "audio_setting": "auto"},
    },
}


def _spec_bases() -> dict[tuple[spec.Gateway, str], dict[str, Body]]:
    """Bases for every model the hand-written ones above do not cover (a model added to a spec,
    e.g. by ``vidgate scaffold``): one per input mode, from the spec's own request examples."""
    found: dict[tuple[spec.Gateway, str], dict[str, Body]] = {}
    for gateway in spec.GATEWAYS:
        _, op = spec.submit_operation(spec.document(gateway))
        examples = op["requestBody"]["content"]["application/json"].get("examples", {})
        for example in examples.values():
            body = example["value"]
            if (gateway, body["model"]) not in BASES:
                mode = validator(gateway).mode(body) or "text"
                found.setdefault((gateway, body["model"]), {}).setdefault(mode, copy.deepcopy(body))
    return found


BASES.update(_spec_bases())


def _shots(body: Body, n: int) -> Body:
    """n shots whose durations add up to the body's duration (so only the count is tested)."""
    duration = max(n, 3)
    body["duration"] = duration
    durations = [duration - (n - 1)] + [1] * (n - 1) if n else []
    body.setdefault("extra_params", {}).update(multi_shot=True, shot_type="customize")
    body["extra_params"]["multi_prompt"] = [
        {"index": i + 1, "prompt": "shot", "duration": str(d)} for i, d in enumerate(durations)
    ]
    return body


# How to fill an array with n items, per field path (default: n copies of the base's first item,
# or of a plain image/video/audio item).
ARRAYS: dict[Path, Callable[[Body, int], Body]] = {("extra_params", "multi_prompt"): _shots}
PLAIN_ITEMS: dict[str, Any] = {
    "reference_images": _img(),
    "reference_videos": {"url": VID},
    "reference_audios": {"url": AUD},
    "image_urls": IMG,
}

# Pattern samples: values the documented formats allow and refuse, per field name.
PATTERN_SAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "reference_images.url": (
        [IMG, "http://example.com/a.jpg", "data:image/png;base64,iVBORw0KGgo="],
        [
            "ftp://example.com/a.png",
            "example.com/a.png",
            "https://exa mple.com/a.png",
            "data:image/svg+xml;base64,PHN2Zz4=",
        ],
    ),
    "reference_videos.url": ([VID], ["data:video/mp4;base64,AAAA", "example.com/a.mp4"]),
    "reference_audios.url": (
        [AUD, "data:audio/mp3;base64,AAAA", "DATA:audio/WAV;base64,AAAA"],
        ["data:video/mp4;base64,AAAA", "example.com/a.mp3", "https:///a.mp3"],
    ),
    "first_frame_image": (
        [IMG, "data:image/jpeg;base64,/9j/4AAQ"],
        ["file:///tmp/a.png", "data:image/gif;base64,R0lGOD=="],
    ),
    "image_urls": ([IMG, "data:image/webp;base64,UklGRg=="], ["s3://bucket/a.png"]),
    "video_url": ([VID], ["data:video/mp4;base64,AAAA", "ftp://example.com/a.mp4"]),
    "duration": (
        [str(KL_DURATION["minimum"]), str(KL_DURATION["maximum"])],
        ["0", "03", "2.5", ""],
    ),
    "Idempotency-Key": (["a"], [""]),
}


def _consistent(body: Body) -> Body:
    """Keep a multi-shot body's duration equal to its shots' sum, so a case tests one rule."""
    shots = body.get("extra_params", {}).get("multi_prompt")
    if isinstance(shots, list) and shots:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            body["duration"] = sum(int(s["duration"]) for s in shots)
    return body


def _set(body: Body, path: Path, value: Any) -> Body:
    node: Any = body
    for step, nxt in itertools.pairwise(path):
        if isinstance(step, int):
            while len(node) <= step:
                node.append({})
            node = node[step]
        else:
            node = node.setdefault(step, [] if isinstance(nxt, int) else {})
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value
    return body


def _fill(body: Body, path: Path, n: int, items: Any = None) -> Body:
    if path in ARRAYS:
        return ARRAYS[path](body, n)
    current: Any = body
    for step in path:
        current = current.get(step) if isinstance(current, dict) else None
    plain = PLAIN_ITEMS.get(str(path[-1]))
    if plain is None:  # a field named nowhere above (a model new to the spec): by item type
        plain = IMG if isinstance(items, dict) and items.get("type") == "string" else {}
    item = current[0] if current else plain
    return _set(body, path, [copy.deepcopy(item) for _ in range(n)])


Case = tuple[str, Callable[[Body], Body], bool]  # label, how to change a base, accepted?


def _constraint_cases(path: Path, s: dict[str, Any]) -> Iterator[Case]:
    def setter(v: Any) -> Callable[[Body], Body]:
        return lambda b: _set(b, path, v)

    kind = s.get("type")
    if "enum" in s:
        for v in s["enum"]:
            yield f"enum {v!r}", setter(v), True
        yield "enum: undocumented value", setter("zz-not-an-option"), False
    if kind == "integer":
        yield "type: string for integer", setter("5"), False
        yield "type: float for integer", setter(5.5), False
    if kind == "boolean":
        yield "type: string for boolean", setter("true"), False
    if kind in ("integer", "number"):
        step = 1 if kind == "integer" else 0.001
        if "minimum" in s:
            yield f"minimum {s['minimum']}", setter(s["minimum"]), True
            yield f"below minimum {s['minimum']}", setter(s["minimum"] - step), False
        if "maximum" in s:
            yield f"maximum {s['maximum']}", setter(s["maximum"]), True
            yield f"above maximum {s['maximum']}", setter(s["maximum"] + step), False
    if kind == "string" and "enum" not in s and "const" not in s:
        yield "type: number for string", setter(1), False
        if "maxLength" in s:
            yield f"maxLength {s['maxLength']}", setter("x" * s["maxLength"]), True
            yield f"over maxLength {s['maxLength']}", setter("x" * (s["maxLength"] + 1)), False
        if s.get("minLength", 0) > 0:
            yield f"minLength {s['minLength']}", setter("1" * s["minLength"]), True
            yield f"under minLength {s['minLength']}", setter("1" * (s["minLength"] - 1)), False
        if "pattern" in s:
            names = [p for p in path if isinstance(p, str)]
            good, bad = PATTERN_SAMPLES.get(".".join(names[-2:])) or PATTERN_SAMPLES[names[-1]]
            for v in good:
                yield f"pattern accepts {v[:30]!r}", setter(v), True
            for v in bad:
                yield f"pattern refuses {v[:30]!r}", setter(v), False
    if kind == "array":
        yield "type: object for array", setter({}), False

        def filler(n: int) -> Callable[[Body], Body]:
            return lambda b: _fill(b, path, n, s.get("items"))

        if "maxItems" in s:
            yield f"maxItems {s['maxItems']}", filler(s["maxItems"]), True
            yield f"over maxItems {s['maxItems']}", filler(s["maxItems"] + 1), False
        if s.get("minItems", 0) > 0:
            yield f"minItems {s['minItems']}", filler(s["minItems"]), True
            yield f"under minItems {s['minItems']}", filler(s["minItems"] - 1), False
    if kind == "object" and s.get("additionalProperties") is False:
        yield "unknown key", _adds_unknown(path), False


def _adds_unknown(path: Path) -> Callable[[Body], Body]:
    return lambda b: _set(b, (*path, "zz_unknown"), 1)


def _field_cases(doc: Any, schema: Any, path: Path) -> Iterator[tuple[Path, Case]]:
    schema = spec.deref(doc, schema)
    for name, sub in schema.get("properties", {}).items():
        sub = spec.deref(doc, sub)
        here = (*path, name)
        if "const" in sub:
            continue
        for case in _constraint_cases(here, sub):
            yield here, case
        if sub.get("type") == "object":
            yield from _field_cases(doc, sub, here)
        items = spec.deref(doc, sub.get("items"))
        if isinstance(items, dict):
            if items.get("type") == "object":
                yield from _field_cases(doc, items, (*here, 0))
            if items.get("additionalProperties") is False:
                yield (*here, 0), ("unknown key in item", _adds_unknown((*here, 0)), False)
            if items.get("type") != "object":
                for case in _constraint_cases((*here, 0), items):
                    yield (*here, 0), case


def _all_field_cases() -> Iterator[Any]:
    for (gateway, model), bases in BASES.items():
        doc = spec.document(gateway)
        name = spec.request_schema_names(doc)[model]
        top: Case = ("unknown top-level key", lambda b: _set(b, ("zz_unknown",), 1), False)
        cases = [((), top), *_field_cases(doc, doc["components"]["schemas"][name], ())]
        for path, (label, change, ok) in cases:
            where = ".".join(map(str, path)) or "body"
            yield pytest.param(gateway, model, path, change, ok, id=f"{model}|{where}|{label}")
        del bases


@pytest.mark.parametrize(
    ("gateway", "model", "path", "change", "accepted"), list(_all_field_cases())
)
def test_field_boundary(
    gateway: spec.Gateway,
    model: str,
    path: Path,
    change: Callable[[Body], Body],
    accepted: bool,
) -> None:
    ref = referee(gateway)
    pointer = ref.model(model)
    outcomes = {}
    for mode, base in BASES[(gateway, model)].items():
        body = change(copy.deepcopy(base))
        if path[:2] == ("extra_params", "multi_prompt"):
            body = _consistent(body)
        outcomes[mode] = (body, ref.error_paths(pointer, body))
    if accepted:
        assert any(not errors for _, errors in outcomes.values()), (
            f"refused in every mode: { {m: e for m, (_, e) in outcomes.items()} }"
        )
    else:
        for mode, (body, errors) in outcomes.items():
            assert errors, f"accepted in mode {mode}: {body}"
            assert any(e[: len(path)] == path for e in errors), (
                f"mode {mode}: no error at {path}, only at {errors}"
            )


def test_bases_are_valid_and_cover_every_mode() -> None:
    models = {(g, m) for g in spec.GATEWAYS for m in spec.request_schema_names(spec.document(g))}
    assert set(BASES) == models
    for (gateway, model), bases in BASES.items():
        ref = referee(gateway)
        for mode, body in bases.items():
            assert ref.errors(ref.model(model), body) == [], (model, mode)
        doc = spec.document(gateway)
        name = spec.request_schema_names(doc)[model]
        schema = doc["components"]["schemas"][name]
        modes = {m for m in _chain_modes(doc, schema)}
        assert modes <= set(bases), f"{model}: no base body for modes {modes - set(bases)}"


def _chain_modes(doc: Any, schema: Any) -> Iterator[str]:
    def walk(node: Any) -> Iterator[str]:
        if not isinstance(node, dict):
            return
        if "x-vidgate-mode" in node:
            yield node["x-vidgate-mode"]
        for key in ("then", "else"):
            yield from walk(node.get(key))

    for rule in schema.get("allOf", []):
        yield from walk(rule)


# ---------------------------------------------------------------------------- cross-field rules
GATEWAY_OF: dict[str, spec.Gateway] = {model: gateway for gateway, model in BASES}


def _with(model: str, mode: str, **changes: Any) -> Body:
    """A copy of a model's base body for one mode, with fields set (or removed with None)."""
    body = copy.deepcopy(BASES[(GATEWAY_OF[model], model)][mode])
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


SHOTS_OFF = {"multi_shot": False}
# (model, rule id) -> (a valid body near the rule, a body that rule refuses)
RULES: dict[tuple[str, str], tuple[Body, Body]] = {
    (HH, "happyhorse.edit.assets"): (
        _with(HH, "edit", reference_images=[_img(n=i) for i in range(EDIT_IMAGES)]),
        _with(HH, "edit", reference_images=[_img(n=i) for i in range(EDIT_IMAGES + 1)]),
    ),
    (HH, "happyhorse.edit.no-duration"): (
        _with(HH, "edit"),
        _with(HH, "edit", duration=5),
    ),
    (HH, "happyhorse.edit.no-aspect-ratio"): (
        _with(HH, "edit"),
        _with(HH, "edit", aspect_ratio="16:9"),
    ),
    (HH, "happyhorse.edit.prompt-required"): (
        _with(HH, "edit"),
        _with(HH, "edit", prompt=None),
    ),
    (HH, "happyhorse.audio-setting-edit-only"): (
        _with(HH, "edit"),
        _with(HH, "text", extra_params={"audio_setting": "auto"}),
    ),
    (HH, "happyhorse.first-frame.single-image"): (
        _with(HH, "first_frame"),
        _with(HH, "first_frame", reference_images=[_img("first_frame"), _img(n=1)]),
    ),
    (HH, "happyhorse.first-frame.no-aspect-ratio"): (
        _with(HH, "first_frame", duration=specvalues.prop("imini", HH, "duration")["maximum"]),
        _with(HH, "first_frame", aspect_ratio="1:1"),
    ),
    (HH, "happyhorse.reference.assets-only"): (
        _with(HH, "reference", reference_images=[_img("asset"), _img()]),
        _with(HH, "reference", reference_images=[_img(), {"url": IMG, "reference_type": "x"}]),
    ),
    (HH, "happyhorse.reference.prompt-required"): (
        _with(HH, "reference"),
        _with(HH, "reference", prompt=""),
    ),
    (HH, "happyhorse.text.prompt-required"): (
        _with(HH, "text"),
        _with(HH, "text", prompt=None),
    ),
    (SD, "first-last-frame.pair"): (
        _with(SD, "first_last_frame"),
        _with(SD, "first_last_frame", reference_images=[_img("last_frame"), _img("last_frame")]),
    ),
    (SD, "seedance.first-frame.single-image"): (
        _with(SD, "first_frame"),
        _with(SD, "first_frame", reference_images=[_img("first_frame"), _img()]),
    ),
    (SD, "seedance.reference.assets-only"): (
        _with(SD, "reference"),
        _with(SD, "reference", reference_images=[_img(), {"url": IMG, "reference_type": "x"}]),
    ),
    (SD, "seedance.audio-not-alone"): (
        _with(SD, "reference", reference_images=None),
        _with(SD, "text", reference_audios=[{"url": AUD}]),
    ),
    (SD, "seedance.text.prompt-required"): (
        _with(SD, "text"),
        _with(SD, "text", prompt=""),
    ),
    (SD, "seedance.frames.no-other-media"): (
        _with(SD, "first_frame"),
        _with(SD, "first_frame", reference_videos=[{"url": VID}]),
    ),
    (KL, "first-last-frame.pair"): (
        _with(KL, "first_last_frame"),
        _with(KL, "first_last_frame", reference_images=[_img("last_frame"), _img()]),
    ),
    (KL, "kling-v3.first-frame.single-image"): (
        _with(KL, "first_frame"),
        _with(KL, "first_frame", reference_images=[_img("first_frame"), _img()]),
    ),
    (KL, "kling-v3.reference.assets-only"): (
        _with(KL, "reference", reference_images=[_img() for _ in range(KL_IMAGES)]),
        _with(KL, "reference", reference_images=[_img(), {"url": IMG, "reference_type": "x"}]),
    ),
    (KL, "kling-v3.prompt-unless-multi-shot"): (
        _with(KL, "multi_shot"),
        _with(KL, "text", prompt=None, extra_params=SHOTS_OFF),
    ),
    (KL, "kling-v3.multi-shot.intelligence-needs-prompt"): (
        _with(KL, "text", extra_params={"multi_shot": True, "shot_type": "intelligence"}),
        _with(
            KL, "text", prompt=None, extra_params={"multi_shot": True, "shot_type": "intelligence"}
        ),
    ),
    (KL, "kling-v3.multi-shot.no-frames"): (
        _with(KL, "multi_shot", reference_images=[_img()]),
        _with(KL, "multi_shot", reference_images=[_img("first_frame")]),
    ),
    (KL, "kling-v3.multi-shot.shot-durations-sum"): (
        _with(KL, "multi_shot"),
        _with(KL, "multi_shot", duration=4),
    ),
    (KL, "kling-v3.multi-shot.shot-type-required"): (
        _with(KL, "text", extra_params={"multi_shot": True, "shot_type": "intelligence"}),
        _with(KL, "text", extra_params={"multi_shot": True}),
    ),
    (KL, "kling-v3.multi-shot.customize-needs-shots"): (
        _with(KL, "multi_shot"),
        _with(KL, "text", extra_params={"multi_shot": True, "shot_type": "customize"}),
    ),
    (KL, "kling-v3.multi-shot.shots-need-customize"): (
        _with(KL, "multi_shot"),
        _with(
            KL,
            "text",
            duration=3,
            extra_params={"multi_prompt": [{"index": 1, "prompt": "a", "duration": "3"}]},
        ),
    ),
    (AH, "happyhorse.no-first-frame-with-images"): (
        _with(AH, "first_frame"),
        _with(AH, "first_frame", image_urls=[IMG], prompt="p"),
    ),
    (AH, "happyhorse.no-first-frame-with-video"): (
        _with(AH, "edit"),
        _with(AH, "edit", first_frame_image=IMG),
    ),
    (AH, "happyhorse.audio-setting-edit-only"): (
        _with(AH, "edit"),
        _with(AH, "text", audio_setting="origin"),
    ),
    (AH, "happyhorse.edit.max-style-images"): (
        _with(AH, "edit", image_urls=[IMG] * 5),
        _with(AH, "edit", image_urls=[IMG] * 6),
    ),
    (AH, "happyhorse.edit.prompt-required"): (
        _with(AH, "edit"),
        _with(AH, "edit", prompt=None),
    ),
    (AH, "happyhorse.reference.min-images"): (
        _with(AH, "reference"),
        _with(AH, "reference", image_urls=[]),
    ),
    (AH, "happyhorse.reference.prompt-required"): (
        _with(AH, "reference"),
        _with(AH, "reference", prompt=""),
    ),
    (AH, "happyhorse.text.prompt-required"): (
        _with(AH, "text"),
        _with(AH, "text", prompt=None),
    ),
}


@pytest.mark.parametrize(
    ("key", "valid", "invalid"),
    [pytest.param(k, v, i, id=f"{k[0]}|{k[1]}") for k, (v, i) in RULES.items()],
)
def test_cross_field_rule(key: tuple[str, str], valid: Body, invalid: Body) -> None:
    model, rule = key
    ref = referee(GATEWAY_OF[model])
    assert ref.errors(ref.model(model), valid) == []
    fired = ref.rule_ids(ref.model(model), invalid)
    assert rule in fired, f"{rule} did not refuse {invalid}; rules that did: {fired or 'none'}"


def test_every_rule_has_a_case() -> None:
    """A rule added to a spec without a case here fails this test (routing chains excepted:
    their modes are covered by BASES)."""
    missing = []
    for gateway in spec.GATEWAYS:
        doc = spec.document(gateway)
        for model, name in spec.request_schema_names(doc).items():
            schema = doc["components"]["schemas"][name]
            for rule in spec.iter_rules(doc, schema, f"/components/schemas/{name}"):
                if not spec.is_routing_chain(rule.schema) and (model, rule.id) not in RULES:
                    missing.append(f"{gateway} {model} {rule.id}")
    assert missing == []
