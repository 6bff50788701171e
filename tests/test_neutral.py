"""One happyhorse request, two gateways: same mode on both, refusals where one cannot follow."""

from __future__ import annotations

import pytest

from vidgate import HappyHorse, UnsupportedFieldError, validator

IMG, VID = "https://example.com/a.png", "https://example.com/a.mp4"

REQUESTS = {
    "text": HappyHorse(
        prompt="a lighthouse in fog", duration=8, resolution="720P", aspect_ratio="9:16"
    ),
    "first_frame": HappyHorse(prompt="bring it to life", first_frame=IMG, duration=5),
    "reference": HappyHorse(prompt="character1 dances", reference_images=[IMG, IMG]),
    "edit": HappyHorse(
        prompt="make it snow", source_video=VID, reference_images=[IMG], audio="origin"
    ),
}


@pytest.mark.parametrize("mode", REQUESTS)
def test_same_request_same_mode_on_both_gateways(mode: str) -> None:
    for gateway in ("imini", "apimart"):
        body = REQUESTS[mode].to_body(gateway)
        result = validator(gateway).check(body)
        assert result.valid, (gateway, result.violations)
        assert result.mode == mode


def test_field_names_follow_each_gateway() -> None:
    req = REQUESTS["text"]
    assert req.to_body("imini")["aspect_ratio"] == req.to_body("apimart")["size"] == "9:16"
    edit = REQUESTS["edit"]
    assert edit.to_body("imini")["extra_params"] == {"audio_setting": "origin"}
    assert edit.to_body("apimart")["audio_setting"] == "origin"
    assert edit.to_body("apimart")["video_url"] == VID


def test_what_a_gateway_cannot_express_is_refused() -> None:
    with pytest.raises(UnsupportedFieldError, match="seed"):
        HappyHorse(prompt="p", seed=42).to_body("imini")
    assert HappyHorse(prompt="p", seed=42).to_body("apimart")["seed"] == 42


def test_gateway_rules_still_apply_after_conversion() -> None:
    # imini refuses duration in edit mode; apimart ignores it
    req = HappyHorse(prompt="p", source_video=VID, duration=5)
    assert not validator("imini").check(req.to_body("imini")).valid
    assert validator("apimart").check(req.to_body("apimart")).valid
