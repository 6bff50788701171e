"""Readings of the documentation pages that a first reading got wrong, each checked against the
page words it rests on (read from VIDGATE_DOCS_DIR, never copied here: the words are the spec's
``x-vidgate-quote``) and against the behaviour it gives.

Limits are read from the spec; bodies just past a limit are built from it.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import seeds

from vidgate import spec, validator
from vidgate.gateways import gateway

pytestmark = pytest.mark.docs

HH, SD, KL, AH = (
    "dashscope/happyhorse-1.0",
    "doubao/seedance-2.0",
    "kling/kling-v3",
    "happyhorse-1.0",
)
IMG, VID = "https://example.com/a.png", "https://example.com/a.mp4"
Body = dict[str, Any]


def _flat(text: str) -> str:
    return " ".join(text.split())


def page_of(model: str) -> str:
    return _flat(next(p for p in seeds.pages() if p.model == model).text)


QUOTE_FROM = re.compile(r"^[\w.-]+/[\w.-]+:[\w./-]+$")  # owner/repo:path of a vendor file


def quotes(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every quote of a page (one with x-vidgate-quote-from is a vendor file's, not a page's)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "x-vidgate-quote":
                if "x-vidgate-quote-from" not in node:
                    yield where, value
            else:
                yield from quotes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from quotes(value, f"{where}/{i}")


def quote(gateway_name: spec.Gateway, *path: str) -> str:
    node: Any = spec.document(gateway_name)
    for step in path:
        node = node[step]
    return str(node["x-vidgate-quote"])


def says(model: str, words: str) -> bool:
    return _flat(words) in page_of(model)


def schema(gateway_name: spec.Gateway, name: str) -> Any:
    return spec.document(gateway_name)["components"]["schemas"][name]


@pytest.mark.parametrize("gateway_name", spec.GATEWAYS)
def test_every_quote_in_the_spec_is_on_a_page_of_its_gateway(gateway_name: spec.Gateway) -> None:
    pages = [_flat(p.text) for p in seeds.pages() if p.gateway == gateway_name]
    found = list(quotes(spec.document(gateway_name)))
    assert found
    for where, words in found:
        assert any(_flat(words) in page for page in pages), f"{where}: {words!r} is on no page"


def vendor_quotes(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "x-vidgate-quote-from" in node:
            yield where, node
        for key, value in node.items():
            yield from vendor_quotes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from vendor_quotes(value, f"{where}/{i}")


@pytest.mark.parametrize("gateway_name", spec.GATEWAYS)
def test_a_vendor_quote_names_its_file_and_a_source_that_is_not_a_page(
    gateway_name: spec.Gateway,
) -> None:
    """A quote from the vendor's own client or skill names the file (owner/repo:path) and
    carries a non-page source, so it cannot pass for a page's words."""
    for where, node in vendor_quotes(spec.document(gateway_name)):
        assert QUOTE_FROM.match(node["x-vidgate-quote-from"]), where
        assert node.get("x-vidgate-quote"), where
        given = [node.get("x-vidgate-source"), *node.get("x-vidgate-sources", {}).values()]
        assert any(s in ("skill", "3p", "upstream") for s in given), where


# ---------------------------------------------------------------------------- extension objects
@pytest.mark.parametrize(
    ("model", "name", "extra"),
    [
        (KL, "KlingV3ExtraParams", {"mode": "pro"}),
        (SD, "SeedanceExtraParams", {"camera_fixed": True}),
    ],
)
def test_promised_vendor_parameters_pass_with_a_warning(model: str, name: str, extra: Body) -> None:
    assert says(model, quote("imini", "components", "schemas", name))
    result = validator("imini").check({"model": model, "prompt": "a cat", "extra_params": extra})
    assert result.valid, result.violations
    [warning] = result.warnings
    assert warning.path == f"/extra_params/{next(iter(extra))}"
    assert warning.rule == "unknown-extension-key"
    assert warning.limit == sorted(schema("imini", name)["properties"])


def test_warnings_reach_the_log_when_a_body_is_sent(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="vidgate"):
        body = {"model": KL, "prompt": "a cat", "extra_params": {"mode": "pro"}}
        assert validator("imini").validate(body) == "text"
    assert "extra_params.mode" in caplog.text
    assert "unknown-extension-key" in caplog.text


def test_listed_extension_keys_keep_their_types_and_limits() -> None:
    seed = schema("imini", "SeedanceExtraParams")["properties"]["seed"]
    body = {"model": SD, "prompt": "p", "extra_params": {"seed": seed["maximum"] + 1, "x": 1}}
    result = validator("imini").check(body)
    assert [v.path for v in result.violations] == ["/extra_params/seed"]
    assert [w.path for w in result.warnings] == ["/extra_params/x"]


def test_closed_objects_are_marked_as_guesses() -> None:
    item = schema("imini", "HappyHorseReferenceImage")
    assert item["additionalProperties"] is False
    assert item["x-vidgate-sources"]["additionalProperties"] == "gap"
    images = [{"url": IMG, "x": 1}]
    result = validator("imini").check({"model": HH, "prompt": "p", "reference_images": images})
    assert not result.valid


# ---------------------------------------------------------------------------- nulls
NULLS = [
    ("imini", {"model": HH, "prompt": "a cat", "reference_videos": None}, "/reference_videos"),
    ("imini", {"model": KL, "prompt": "a cat", "reference_images": None}, "/reference_images"),
    ("imini", {"model": KL, "prompt": "a cat", "extra_params": None}, "/extra_params"),
    ("imini", {"model": SD, "prompt": "p", "extra_params": {"seed": None}}, "/extra_params/seed"),
    ("apimart", {"model": AH, "prompt": "a cat", "video_url": None}, "/video_url"),
    (
        "apimart",
        {"model": AH, "prompt": "a cat", "first_frame_image": None, "image_urls": [IMG]},
        "/first_frame_image",
    ),
]


def _drop(body: Any, pointer: str) -> Any:
    body = json.loads(json.dumps(body))
    *parents, last = pointer.strip("/").split("/")
    node = body
    for step in parents:
        node = node[step]
    del node[last]
    return body


@pytest.mark.parametrize(("gateway_name", "body", "pointer"), NULLS, ids=lambda v: str(v)[:40])
def test_a_null_is_one_error_and_routes_as_if_absent(
    gateway_name: spec.Gateway, body: Body, pointer: str
) -> None:
    reading = spec.document(gateway_name)["info"]["x-vidgate-null"]
    assert reading["reading"] == "refuse"
    ours = validator(gateway_name)
    result, absent = ours.check(body), ours.check(_drop(body, pointer))
    assert absent.valid
    assert [(v.path, v.rule, v.source) for v in result.violations] == [
        (pointer, "null", reading["x-vidgate-source"])
    ]
    assert result.mode == absent.mode == ours.mode(body)


def test_a_null_under_a_vendor_key_is_the_vendors() -> None:
    """An open extension object's unlisted keys are the vendor's: what they hold, nulls
    included, is sent as given (with the unknown-key warning)."""
    extra = {"new_option": None, "camera": {"preset": None}, "seed": 7}
    result = validator("imini").check({"model": SD, "prompt": "p", "extra_params": extra})
    assert result.valid, result.violations
    assert {w.path for w in result.warnings} == {"/extra_params/new_option", "/extra_params/camera"}


# ---------------------------------------------------------------------------- empty arrays
def test_imini_reads_an_empty_media_array_as_absent() -> None:
    declared = spec.document("imini")["info"]["x-vidgate-empty-arrays"]
    assert declared["reading"] == "absent"
    assert says(KL, declared["x-vidgate-quote"])
    for body in (
        {"model": KL, "prompt": "p", "reference_images": []},
        {"model": HH, "prompt": "p", "reference_videos": [], "duration": 5},
        {"model": SD, "prompt": "p", "reference_audios": [], "reference_videos": []},
    ):
        result = validator("imini").check(body)
        assert (result.valid, result.mode) == (True, "text"), result.violations


def test_apimart_reads_an_empty_image_list_as_passed() -> None:
    declared = spec.document("apimart")["info"]["x-vidgate-empty-arrays"]
    assert declared["reading"] == "present"
    assert says(AH, declared["x-vidgate-quote"])
    alone = validator("apimart").check({"model": AH, "prompt": "p", "image_urls": []})
    assert alone.mode == "reference"
    assert [v.rule for v in alone.violations] == ["happyhorse.reference.min-images"]
    mixed = validator("apimart").check({"model": AH, "first_frame_image": IMG, "image_urls": []})
    assert [v.code for v in mixed.violations] == ["mixed_media_not_allowed"]


# ---------------------------------------------------------------------------- inline media
def png(width: int, height: int, size: int = 0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    head = b"\x89PNG\r\n\x1a\n" + chunk
    return head + b"\0" * max(0, size - len(head))


def jpeg(width: int, height: int) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def webp(width: int, height: int) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0" * 4
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def data_url(kind: str, payload: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(payload).decode()}"


def _media(gateway_name: spec.Gateway, name: str, prop: str) -> Any:
    return schema(gateway_name, name)["properties"][prop]["x-vidgate-media"]


def test_an_inline_image_over_the_page_limit_is_refused() -> None:
    hh = _media("imini", "HappyHorseRequest", "reference_images")["first_frame"]
    sd = _media("imini", "SeedanceRequest", "reference_images")
    ah = _media("apimart", "HappyHorseRequest", "first_frame_image")
    assert says(HH, hh["x-vidgate-quote"])
    assert says(SD, sd["x-vidgate-quote"])
    assert says(AH, ah["x-vidgate-quote"])
    cases: list[tuple[spec.Gateway, str, Any, Callable[[str], Body]]] = [
        ("imini", HH, hh, lambda u: _image_body(HH, u, "first_frame")),
        ("imini", SD, sd, lambda u: _image_body(SD, u)),
        ("apimart", AH, ah, lambda u: {"model": AH, "prompt": "p", "first_frame_image": u}),
    ]
    for gateway_name, model, media, place in cases:
        limit = media["max_bytes"]
        for size, ok in ((limit, True), (limit + 1, False)):
            body = place(data_url("image/png", png(800, 800, size)))
            found = [(v.rule, v.limit) for v in validator(gateway_name).check(body).violations]
            assert found == ([] if ok else [("media.max-bytes", limit)]), (model, size, found)


def test_the_body_limit_reads_mb_as_the_spec_declares() -> None:
    mb = spec.document("imini")["info"]["x-vidgate-mb"]["bytes"]
    said = re.search(r"total request body ≤ (\d+) MB", page_of(SD))
    assert said
    assert schema("imini", "SeedanceRequest")["x-vidgate-max-body-bytes"] == int(said[1]) * mb


def _image_body(model: str, url: str, kind: str | None = None) -> Body:
    item = {"url": url} if kind is None else {"url": url, "reference_type": kind}
    return {"model": model, "prompt": "p", "reference_images": [item]}


@pytest.mark.parametrize(
    ("maker", "mime", "model", "kind"),
    [
        (png, "image/png", KL, None),
        (jpeg, "image/jpeg", KL, None),
        (webp, "image/webp", HH, "first_frame"),  # kling takes jpg/png only
    ],
    ids=["png", "jpeg", "webp"],
)
def test_inline_image_sides_and_ratio_are_read_from_the_header(
    maker: Callable[[int, int], bytes], mime: str, model: str, kind: str | None
) -> None:
    name = spec.request_schema_names(spec.document("imini"))[model]
    media = _media("imini", name, "reference_images")
    media = media.get(kind, media) if kind else media
    low, ratio = media["min_side_px"], media["aspect_ratio"]
    most = float(ratio[1].split(":")[0]) / float(ratio[1].split(":")[1])
    check = validator("imini").check

    def rules(width: int, height: int) -> list[str]:
        found = check(_image_body(model, data_url(mime, maker(width, height)), kind)).violations
        return [v.rule for v in found]

    assert rules(low, low) == []
    assert rules(low - 1, low) == ["media.side-px"]
    assert rules(int(low * most) + low, low) == ["media.aspect-ratio"]


def test_a_recommended_size_is_a_warning() -> None:
    advised = _media("apimart", "HappyHorseRequest", "image_urls")["min_short_side_px_recommended"]
    image = data_url("image/png", png(advised - 1, advised))
    result = validator("apimart").check({"model": AH, "prompt": "p", "image_urls": [image]})
    assert result.valid
    assert [(w.rule, w.limit) for w in result.warnings] == [("media.recommended-side-px", advised)]


def test_seedance_audio_may_be_inline_within_its_limit() -> None:
    item = schema("imini", "AudioReference")["properties"]["url"]
    assert says(SD, item["x-vidgate-quote"])
    media = _media("imini", "SeedanceRequest", "reference_audios")
    assert says(SD, media["x-vidgate-quote"])
    base = {"model": SD, "prompt": "p", "reference_images": [{"url": IMG}]}
    ok = {**base, "reference_audios": [{"url": data_url("audio/mpeg", b"ID3" + b"\0" * 64)}]}
    assert validator("imini").check(ok).valid
    big = data_url("audio/wav", b"\0" * (media["max_bytes"] + 1))
    found = validator("imini").check({**base, "reference_audios": [{"url": big}]}).violations
    assert [v.rule for v in found] == ["media.max-bytes"]


# ---------------------------------------------------------------------------- other readings
def test_the_frames_rule_of_seedance_is_marked_a_guess() -> None:
    [rule] = [
        r
        for r in schema("imini", "SeedanceRequest")["allOf"]
        if r.get("x-vidgate-rule") == "seedance.frames.no-other-media"
    ]
    assert says(SD, rule["x-vidgate-quote"])
    assert rule["x-vidgate-source"] == "gap"


def test_intelligence_shots_need_a_top_level_prompt() -> None:
    [rule] = [
        r
        for r in schema("imini", "KlingV3Request")["allOf"]
        if r.get("x-vidgate-rule") == "kling-v3.multi-shot.intelligence-needs-prompt"
    ]
    assert says(KL, rule["x-vidgate-quote"])
    extra = {"multi_shot": True, "shot_type": "intelligence"}
    check = validator("imini").check
    assert [v.rule for v in check({"model": KL, "extra_params": extra}).violations] == [
        rule["x-vidgate-rule"]
    ]
    assert [
        v.rule for v in check({"model": KL, "prompt": " \n", "extra_params": extra}).violations
    ] == [rule["x-vidgate-rule"]]
    assert check({"model": KL, "prompt": "a day at sea", "extra_params": extra}).valid


@pytest.mark.parametrize(("duration", "ok"), [("3", True), (3, False), ("0", False)])
def test_a_shot_duration_is_whole_seconds_as_the_page_writes_it(duration: Any, ok: bool) -> None:
    shot = schema("imini", "KlingShot")
    assert shot["x-vidgate-sources"]["required"] == "gap"  # the three fields of one example
    assert says(KL, shot["properties"]["duration"]["x-vidgate-quote"])
    extra = {
        "multi_shot": True,
        "shot_type": "customize",
        "multi_prompt": [{"index": 1, "prompt": "a kettle", "duration": duration}],
    }
    result = validator("imini").check({"model": KL, "duration": 3, "extra_params": extra})
    assert result.valid is ok
    if not ok:
        assert "/extra_params/multi_prompt/0/duration" in [v.path for v in result.violations]


URLS = [
    ("HTTPS://EXAMPLE.COM/A.PNG", True),
    ("data:image/PNG;base64,iVBORw0KGgo=", True),
    ("http://[::1]:8080/a.png", True),
    ("https:///a.png", False),
    ("http://[::1", False),
    ("https://<script>", False),
    ("not a url", False),
    ("https://example.com/a b.png", False),
]


@pytest.mark.parametrize(("url", "ok"), URLS)
def test_urls_are_read_case_insensitively_and_need_a_host(url: str, ok: bool) -> None:
    assert says(
        HH, quote("imini", "components", "schemas", "HappyHorseReferenceImage", "properties", "url")
    )
    imini = validator("imini").check(
        {"model": HH, "prompt": "p", "reference_images": [{"url": url}]}
    )
    apimart = validator("apimart").check({"model": AH, "prompt": "p", "image_urls": [url]})
    assert (imini.valid, apimart.valid) == (ok, ok), (imini.violations, apimart.violations)


@pytest.mark.parametrize(
    ("gateway_name", "body"),
    [
        ("imini", {"model": HH, "prompt": " \t"}),
        ("imini", {"model": SD, "prompt": "\n"}),
        ("imini", {"model": KL, "prompt": "   "}),
        ("apimart", {"model": AH, "prompt": "  "}),
        ("apimart", {"model": AH, "prompt": " ", "video_url": VID}),
    ],
)
def test_a_whitespace_prompt_is_not_a_prompt(gateway_name: spec.Gateway, body: Body) -> None:
    [violation] = validator(gateway_name).check(body).violations
    assert violation.path == "/prompt"
    assert "must not be blank" in violation.message


# ---------------------------------------------------------------------------- replies
def test_plausible_replies_parse() -> None:
    apimart, imini = gateway("apimart"), gateway("imini")
    data = {"id": "t", "status": "processing", "progress": 42.5, "result": None, "error": None}
    reply = {"code": 200, "data": data}
    task = apimart.parse_task(reply, 200)
    assert (task.progress, task.error, task.videos) == (42, None, ())
    apimart.typed("TaskEnvelope", reply)  # the generated model accepts it too
    failed = {"task_id": "t", "status": "failed", "error": {"code": 1201, "message": "no"}}
    assert imini.parse_task(failed, 200).error == {"code": 1201, "message": "no"}
    imini.typed("VideoTask", failed)
    assert imini.parse_error({"error": {"code": 1201}})[0] == 1201
    imini.typed("ErrorResponse", {"error": {"code": 1201}})
