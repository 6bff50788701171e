"""One happyhorse-1.0 request for both gateways.

happyhorse-1.0 is on imini (``dashscope/happyhorse-1.0``) and on apimart (``happyhorse-1.0``)
with different field names. ``HappyHorse`` says what you want once and converts to either
body; a field one gateway cannot express is refused instead of dropped:

    req = HappyHorse(prompt="make it snow", source_video="https://…/clip.mp4", audio="origin")
    Imini().generate(req)      # or Apimart().generate(req): same request, other gateway
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vidgate import spec
from vidgate.errors import VidgateError

__all__ = ["HappyHorse", "UnsupportedFieldError"]


class UnsupportedFieldError(VidgateError, ValueError):
    """The neutral request uses a field the chosen gateway does not document."""


_SCHEMA = "HappyHorseRequest"  # the model schema of happyhorse-1.0 in each spec


def _model_id(gateway: spec.Gateway) -> str:
    """The gateway's id of happyhorse-1.0, from its spec (the model schema named HappyHorse…)."""
    doc = spec.document(gateway)
    names = spec.request_schema_names(doc)
    return next(model for model, name in names.items() if name == _SCHEMA)


def _fields(gateway: spec.Gateway) -> frozenset[str]:
    """The top-level fields of the gateway's happyhorse-1.0 body, as its spec lists them."""
    schema = spec.document(gateway)["components"]["schemas"].get(_SCHEMA, {})
    return frozenset(schema.get("properties", {}))


@dataclass(frozen=True)
class HappyHorse:
    """A gateway-neutral happyhorse-1.0 request (all fields optional, as on both gateways)."""

    prompt: str | None = None
    """The text describing the video."""
    first_frame: str | None = None  # image URL or data:image base64 URI (image to video)
    """URL or ``data:image/...;base64,`` URI of the image the video starts from (image to
    video)."""
    reference_images: Sequence[str] = field(default=())  # reference mode, or style refs for an edit
    """Image URLs (or data URIs) to draw on: reference mode, or style references for an edit of
    ``source_video``."""
    source_video: str | None = None  # video edit
    """URL of a video to edit (video edit mode)."""
    duration: int | None = None
    """Length of the video in seconds; the allowed values are each gateway spec's, checked when
    the body is submitted."""
    resolution: str | None = None
    """Output resolution as the specs spell it (``"720P"``...), checked when submitted."""
    aspect_ratio: str | None = None
    """Width to height of the output (``"16:9"``...); sent as imini's ``aspect_ratio`` or
    apimart's ``size``."""
    seed: int | None = None
    """Random seed for repeatable output; ``to_body`` raises UnsupportedFieldError for a gateway
    whose spec documents no seed for this model."""
    audio: str | None = None  # edit only: "auto" or "origin"
    """Sound of an edit (``source_video`` only), sent as ``audio_setting``; the allowed values
    are the spec's (``"origin"`` keeps the source video's sound)."""

    def to_body(self, gateway: spec.Gateway) -> dict[str, Any]:
        """The gateway's own body; validation happens when it is submitted. The body's shape
        follows the fields the gateway's spec lists: one field per image role (apimart), or
        one list of images with their roles (imini)."""
        if gateway not in spec.GATEWAYS:
            raise ValueError(f"unknown gateway {gateway!r}")
        fields = _fields(gateway)
        if "first_frame_image" in fields:
            return self._flat(gateway)
        if "reference_images" in fields:
            return self._listed(gateway)
        raise ValueError(f"{gateway} has no happyhorse-1.0 body vidgate can build")

    def _listed(self, gateway: spec.Gateway) -> dict[str, Any]:
        if self.seed is not None and "seed" not in _fields(gateway):
            others = [g for g in spec.GATEWAYS if "seed" in _fields(g)]
            raise UnsupportedFieldError(
                f"seed: {gateway} does not document a seed for {_model_id(gateway)}; "
                f"leave it out or use {' or '.join(others)}"
            )
        images = (
            [{"url": self.first_frame, "reference_type": "first_frame"}] if self.first_frame else []
        )
        images += [{"url": url} for url in self.reference_images]
        body: dict[str, Any] = {"model": _model_id(gateway)}
        body.update(self._common("aspect_ratio"))
        if images:
            body["reference_images"] = images
        if self.source_video:
            body["reference_videos"] = [{"url": self.source_video}]
        if self.audio is not None:
            body["extra_params"] = {"audio_setting": self.audio}
        return body

    def _flat(self, gateway: spec.Gateway) -> dict[str, Any]:
        body: dict[str, Any] = {"model": _model_id(gateway)}
        body.update(self._common("size"))
        optional = {
            "first_frame_image": self.first_frame,
            "video_url": self.source_video,
            "seed": self.seed,
            "audio_setting": self.audio,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if self.reference_images:
            body["image_urls"] = list(self.reference_images)
        return body

    def _common(self, aspect_field: str) -> dict[str, Any]:
        values = {
            "prompt": self.prompt,
            "duration": self.duration,
            "resolution": self.resolution,
            aspect_field: self.aspect_ratio,
        }
        return {k: v for k, v in values.items() if v is not None}
