"""Inline (data: URL) media judged by what its bytes are: the format against the MIME type, and
the length of audio clips against the page's per-clip and total limits.

Every clip is real bytes built here (WAV through the standard library's ``wave``, MP3 as a run of
MPEG-1 layer III frame headers) and every boundary is derived from the spec's numbers.
"""

from __future__ import annotations

import base64
import io
import math
import struct
import wave
import zlib
from typing import Any

import pytest
import seeds

from vidgate import spec, validator
from vidgate.media_content import audio_seconds, canonical, sniff

SD, HH, AH = "doubao/seedance-2.0", "dashscope/happyhorse-1.0", "happyhorse-1.0"
IMG = "https://example.com/a.png"
Body = dict[str, Any]

WAV_RATE = 8000
# MPEG-1 layer III, 128 kbit/s, 48 kHz, mono, no padding: 384 bytes and 1152 samples (24 ms) a
# frame, so a run of n frames lasts n * 24 ms exactly, by its headers and by its byte count.
MP3_HEADER = bytes([0xFF, 0xFB, 0x94, 0xC0])
MP3_FRAME_S = 1152 / 48000


def wav(seconds: float, rate: int = WAV_RATE) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(b"\0\0" * round(seconds * rate))
    return out.getvalue()


def mp3(frames: int) -> bytes:
    return (MP3_HEADER + bytes(384 - len(MP3_HEADER))) * frames


def gif() -> bytes:
    return b"GIF89a" + (800).to_bytes(2, "little") * 2 + b"\0" * 16


def png_head() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\0" * 24


def data_url(kind: str, payload: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(payload).decode()}"


def audios_media() -> Any:
    doc = spec.document("imini")
    return doc["components"]["schemas"]["SeedanceRequest"]["properties"]["reference_audios"]


def body(*clips: bytes, kind: str = "audio/wav") -> Body:
    return {
        "model": SD,
        "prompt": "p",
        "reference_images": [{"url": IMG}],
        "reference_audios": [{"url": data_url(kind, c)} for c in clips],
    }


def rules_of(payload: Body, gateway: spec.Gateway = "imini") -> tuple[list[str], list[str]]:
    result = validator(gateway).check(payload)
    return [v.rule for v in result.violations], [w.rule for w in result.warnings]


def _page(model: str) -> str:
    return " ".join(next(p for p in seeds.pages() if p.model == model).text.split())


# ---------------------------------------------------------------------------- the spec says it
def test_the_audio_limits_are_the_pages_words() -> None:
    prop = audios_media()
    media = prop["x-vidgate-media"]
    low, high = media["duration_s"]
    assert f"{low}\N{EN DASH}{high} seconds per clip" in media["x-vidgate-quote"]
    assert f"≤ {media['total_duration_max_s']} seconds" in prop["x-vidgate-quote"]
    for words in (media["x-vidgate-quote"], prop["x-vidgate-quote"]):
        assert " ".join(words.split()) in _page(SD)


# ---------------------------------------------------------------------------- per clip
def test_wav_clip_length_at_each_end_of_the_range() -> None:
    low, high = audios_media()["x-vidgate-media"]["duration_s"]
    step = 1 / WAV_RATE
    assert rules_of(body(wav(low))) == ([], [])
    assert rules_of(body(wav(high))) == ([], [])
    assert rules_of(body(wav(low - step)))[0] == ["media.duration"]
    assert rules_of(body(wav(high + step)))[0] == ["media.duration"]


def test_the_clips_of_the_issue_are_refused() -> None:
    low, high = audios_media()["x-vidgate-media"]["duration_s"]
    for seconds in (low / 2, high + 0.1):
        result = validator("imini").check(body(wav(seconds)))
        assert [(v.path, v.rule, v.limit) for v in result.violations] == [
            ("/reference_audios/0/url", "media.duration", [low, high])
        ]
        assert f"{low}-{high} s" in result.violations[0].message


def test_mp3_clip_length_at_each_end_of_the_range() -> None:
    low, high = audios_media()["x-vidgate-media"]["duration_s"]
    shortest, longest = math.ceil(low / MP3_FRAME_S), math.floor(high / MP3_FRAME_S)
    assert audio_seconds(mp3(longest), "mp3") == pytest.approx(longest * MP3_FRAME_S)
    for frames, ok in (
        (shortest - 1, False),
        (shortest, True),
        (longest, True),
        (longest + 1, False),
    ):
        found = rules_of(body(mp3(frames), kind="audio/mpeg"))
        assert found == (([], []) if ok else (["media.duration"], [])), (frames, found)


def test_an_id3_tag_before_the_frames_is_read_past() -> None:
    low, _ = audios_media()["x-vidgate-media"]["duration_s"]
    frames = math.ceil(low / MP3_FRAME_S)
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 10]) + b"\0" * 10
    assert audio_seconds(tag + mp3(frames), sniff(tag)) == pytest.approx(frames * MP3_FRAME_S)
    assert rules_of(body(tag + mp3(frames - 1), kind="audio/mp3"))[0] == ["media.duration"]


# ---------------------------------------------------------------------------- all clips together
def test_the_total_of_all_clips_is_held_to_the_page() -> None:
    prop = audios_media()
    total, most = prop["x-vidgate-media"]["total_duration_max_s"], prop["maxItems"]
    share = total / most
    assert rules_of(body(*[wav(share)] * most)) == ([], [])
    over = validator("imini").check(body(*[wav(share + 0.1)] * most))
    assert [(v.path, v.rule, v.limit) for v in over.violations] == [
        ("/reference_audios", "media.total-duration", total)
    ]


def test_one_long_clip_is_refused_once() -> None:
    _, high = audios_media()["x-vidgate-media"]["duration_s"]
    assert rules_of(body(wav(high + 1)))[0] == ["media.duration"]


# ---------------------------------------------------------------------------- unreadable clips
@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b"RIFF\x10\x00\x00\x00WAVEjunkjunk", "audio/wav"),
        (b"ID3" + b"\0" * 64, "audio/mpeg"),
        (b"\0" * 64, "audio/mpeg"),
    ],
    ids=["broken-wav", "tag-without-frames", "no-signature"],
)
def test_a_clip_whose_length_cannot_be_read_is_a_warning(payload: bytes, kind: str) -> None:
    result = validator("imini").check(body(payload, kind=kind))
    assert result.valid, result.violations
    assert [(w.path, w.rule) for w in result.warnings] == [
        ("/reference_audios/0/url", "media.duration-unreadable")
    ]


# ---------------------------------------------------------------------------- format and label
def test_gif_bytes_labelled_png_are_refused_where_the_page_lists_formats() -> None:
    images = [{"url": data_url("image/png", gif()), "reference_type": "first_frame"}]
    result = validator("imini").check({"model": HH, "prompt": "p", "reference_images": images})
    [found] = [v for v in result.violations if v.rule == "media.format"]
    assert found.path == "/reference_images/0/url"
    doc = spec.document("imini")
    media = doc["components"]["schemas"]["HappyHorseRequest"]["properties"]["reference_images"]
    assert found.limit == media["x-vidgate-media"]["formats"]
    assert "GIF" in found.message
    assert "image/png" in found.message


def test_a_listed_format_under_another_label_is_refused_too() -> None:
    """Seedance lists GIF, but bytes that are a GIF must not say they are a PNG."""
    images = [{"url": data_url("image/png", gif())}]
    found = rules_of({"model": SD, "prompt": "p", "reference_images": images})[0]
    assert found == ["media.format"]
    assert rules_of({"model": SD, "prompt": "p", "reference_images": [{"url": IMG}]}) == ([], [])


@pytest.mark.parametrize(
    ("kind", "payload", "rule"),
    [
        ("image/png", png_head(), None),
        ("image/jpg", b"\xff\xd8\xff\xe0" + b"\0" * 16, None),
        ("image/png", b"\0" * 32, None),  # no known signature: not judged
        ("image/webp", png_head(), "media.format"),
    ],
    ids=["png-as-png", "jpeg-as-jpg", "unknown", "png-as-webp"],
)
def test_apimart_images_are_judged_by_their_bytes(
    kind: str, payload: bytes, rule: str | None
) -> None:
    found = rules_of({"model": AH, "first_frame_image": data_url(kind, payload)}, "apimart")[0]
    assert ("media.format" in found) == (rule is not None), found


def test_wav_bytes_labelled_mpeg_are_refused() -> None:
    low, _ = audios_media()["x-vidgate-media"]["duration_s"]
    assert rules_of(body(wav(low), kind="audio/mpeg"))[0] == ["media.format"]
    assert rules_of(body(wav(low), kind="audio/x-wav")) == ([], [])


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (png_head(), "png"),
        (b"\xff\xd8\xff\xdb", "jpeg"),
        (b"GIF87a", "gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
        (b"RIFF\0\0\0\0WAVEfmt ", "wav"),
        (b"BM\0\0\0\0\0\0\0\0", "bmp"),
        (b"II*\0", "tiff"),
        (b"MM\0*", "tiff"),
        (MP3_HEADER, "mp3"),
        (b"ID3\x04", "mp3"),
        (b"\xff\xf1\x50\x80", None),  # AAC (ADTS): MPEG sync, layer bits 00
        (b"BMP is a word", None),
        (b"", None),
    ],
)
def test_signatures(head: bytes, name: str | None) -> None:
    assert sniff(head) == name


def test_labels_and_listed_formats_share_names() -> None:
    assert {canonical(n) for n in ("jpg", "JPEG", "pjpeg")} == {"jpeg"}
    assert {canonical(n) for n in ("wav", "wave", "x-wav")} == {"wav"}
    assert {canonical(n) for n in ("mpeg", "mp3")} == {"mp3"}


# ---------------------------------------------------------------------------- recommended size
def test_a_small_happyhorse_reference_image_is_a_warning_on_imini_as_on_apimart() -> None:
    doc = spec.document("imini")
    media = doc["components"]["schemas"]["HappyHorseRequest"]["properties"]["reference_images"]
    asset = media["x-vidgate-media"]["asset"]
    advised = asset["min_short_side_px_recommended"]
    assert " ".join(asset["x-vidgate-quote"].split()) in _page(HH)
    assert f"{advised}P" in asset["x-vidgate-quote"]

    def image(width: int, height: int) -> str:
        ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
        return data_url("image/png", png_head()[:8] + struct.pack(">I", 13) + b"IHDR" + ihdr + crc)

    for side, warned in ((advised - 1, True), (advised, False)):
        images = [{"url": image(side * 2, side)}]
        result = validator("imini").check({"model": HH, "prompt": "p", "reference_images": images})
        assert result.valid, result.violations
        expected = [("media.recommended-side-px", advised)] if warned else []
        assert [(w.rule, w.limit) for w in result.warnings] == expected


# ---------------------------------------------------------------------------- sizes the bytes lack
def _declare(clip: bytes, riff: int, data: int) -> bytes:
    """The clip with its RIFF and data chunk sizes overwritten (the data header is at 36 in what
    ``wave`` writes)."""
    assert clip[36:40] == b"data"
    return (
        clip[:4] + riff.to_bytes(4, "little") + clip[8:40] + data.to_bytes(4, "little") + clip[44:]
    )


def test_a_streamed_wav_is_as_long_as_its_frames() -> None:
    """ffmpeg writing into a pipe cannot seek back and leaves both sizes at 0xFFFFFFFF; the
    length is the frames the bytes hold, so a clip within the limits passes."""
    low, high = audios_media()["x-vidgate-media"]["duration_s"]
    seconds = (low + high) / 2
    streamed = _declare(wav(seconds), 0xFFFFFFFF, 0xFFFFFFFF)
    assert audio_seconds(streamed, "wav") == pytest.approx(seconds)
    assert rules_of(body(streamed)) == ([], [])
    too_long = _declare(wav(high + 1), 0xFFFFFFFF, 0xFFFFFFFF)
    assert rules_of(body(too_long))[0] == ["media.duration"]


def test_a_data_size_past_the_bytes_counts_only_the_bytes() -> None:
    low, high = audios_media()["x-vidgate-media"]["duration_s"]
    clip = wav(low)
    claims_more = _declare(clip, len(clip) - 8, (high + 1) * WAV_RATE * 2)
    assert audio_seconds(claims_more, "wav") == pytest.approx(low)
    assert rules_of(body(claims_more)) == ([], [])


def test_a_wav_without_a_data_chunk_has_no_length() -> None:
    clip = wav(1)
    assert audio_seconds(clip[:36] + b"junk" + clip[40:], "wav") is None
