"""The real gateways, opt-in: VIDGATE_LIVE=1 plus IMINI_API_KEY / APIMART_API_KEY. Never in CI.

The default calls cost nothing (an invalid request, a wrong key, an unknown task); a real
generation also needs VIDGATE_LIVE_GENERATE=1 (the cheapest settings: 720P, 3 s). Every reply is
checked against the spec and recorded in $VIDGATE_LIVE_RECORD (default .live-recordings/) for
test_replay.py to check again offline.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest
from conftest import referee

import vidgate
from vidgate import spec

pytestmark = pytest.mark.live
RECORD = Path(os.environ.get("VIDGATE_LIVE_RECORD", ".live-recordings"))
FORBIDDEN = {  # bodies the spec refuses, sent raw to see the gateway refuse them too
    "imini": {"model": "kling/kling-v3", "prompt": "p", "duration": 99},
    "apimart": {
        "model": "happyhorse-1.0",
        "prompt": "p",
        "first_frame_image": "https://example.com/a.png",
        "image_urls": ["https://example.com/b.png"],
    },
}
CHEAPEST = {
    "imini": {
        "model": "dashscope/happyhorse-1.0",
        "prompt": "a paper boat on a pond",
        "resolution": "720P",
        "duration": 3,
    },
    "apimart": {
        "model": "happyhorse-1.0",
        "prompt": "a paper boat on a pond",
        "resolution": "720P",
        "duration": 3,
    },
}


def _key(gateway: str) -> str:
    if os.environ.get("VIDGATE_LIVE") != "1":
        pytest.skip("live tests are opt-in: set VIDGATE_LIVE=1 and the gateway's API key")
    key = os.environ.get(f"{gateway.upper()}_API_KEY")
    if not key:
        pytest.skip(f"set {gateway.upper()}_API_KEY to test {gateway} live")
    return key


def _base(gateway: spec.Gateway) -> str:
    default = str(spec.document(gateway)["servers"][0]["url"])
    return os.environ.get(f"{gateway.upper()}_BASE_URL", default).rstrip("/")


def _conforms(gateway: spec.Gateway, operation: str, response: httpx.Response) -> None:
    """The reply's status is documented for the operation and its body fits that schema."""
    doc = spec.document(gateway)
    op = next(
        o
        for item in doc["paths"].values()
        for o in item.values()
        if isinstance(o, dict) and o.get("operationId") == operation
    )
    documented = op["responses"].get(str(response.status_code))
    RECORD.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"\W+", "-", f"{gateway}-{operation}-{response.status_code}")
    (RECORD / f"{name}.json").write_text(
        json.dumps(
            {
                "gateway": gateway,
                "operation": operation,
                "status": response.status_code,
                "body": response.json() if response.content else None,
            },
            indent=1,
            ensure_ascii=False,
        )
    )
    assert documented is not None, f"undocumented status {response.status_code}: {response.text}"
    content = spec.resolve(doc, documented["$ref"]) if "$ref" in documented else documented
    pointer = content["content"]["application/json"]["schema"]["$ref"][1:]
    assert referee(gateway).errors(pointer, response.json()) == []


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_a_forbidden_body_is_refused_as_documented(gateway: spec.Gateway) -> None:
    key = _key(gateway)
    submit, _ = spec.submit_operation(spec.document(gateway))
    assert not vidgate.validator(gateway).check(FORBIDDEN[gateway]).valid
    response = httpx.post(
        _base(gateway) + submit,
        json=FORBIDDEN[gateway],
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 400
    _conforms(gateway, vidgate.gateways.gateway(gateway).submit_operation_id, response)
    if gateway == "apimart":
        assert response.json()["error"]["code"] == "mixed_media_not_allowed"


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_a_wrong_key_is_refused_as_documented(gateway: spec.Gateway) -> None:
    _key(gateway)
    submit, _ = spec.submit_operation(spec.document(gateway))
    response = httpx.post(
        _base(gateway) + submit,
        json=CHEAPEST[gateway],
        headers={"Authorization": "Bearer sk-not-a-real-key"},
        timeout=30,
    )
    assert response.status_code == 401
    _conforms(gateway, vidgate.gateways.gateway(gateway).submit_operation_id, response)


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_an_unknown_task_is_reported_as_documented(gateway: spec.Gateway) -> None:
    key = _key(gateway)
    gw = vidgate.gateways.gateway(gateway)
    request = gw.task_request("task_0000000000000000000")
    response = httpx.request(
        request["method"],
        _base(gateway) + request["url"],
        params=request.get("params"),
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    _conforms(gateway, gw.task_operation_id, response)


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_a_real_generation(gateway: spec.Gateway, tmp_path: Path) -> None:
    _key(gateway)
    if os.environ.get("VIDGATE_LIVE_GENERATE") != "1":
        pytest.skip("a real generation costs money: set VIDGATE_LIVE_GENERATE=1 as well")
    cls = vidgate.Imini if gateway == "imini" else vidgate.Apimart
    with cls() as client:
        task = client.generate_and_wait(CHEAPEST[gateway], timeout=1800)
        schema = "VideoTask" if gateway == "imini" else "TaskEnvelope"
        assert referee(gateway).errors(f"/components/schemas/{schema}", task.raw) == []
        path = client.download(task, tmp_path)
    assert path.stat().st_size > 0
