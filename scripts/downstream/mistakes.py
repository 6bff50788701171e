"""Deliberate mistakes: mypy --strict must report every line marked ``# E: <code>`` (the code in
brackets at the end of mypy's message) and nothing else. scripts/downstream.py checks it from the
installed wheel; tests/test_typed_surface.py from the source tree."""

from __future__ import annotations

from vidgate_typed.imini import KlingV3RequestParam

from vidgate import Apimart, AsyncApimart, AsyncImini, Imini, Task, TaskFailedError


def sync_mistakes(imini: Imini, apimart: Apimart) -> None:
    imini.generate(model="kling/kling-v3", promt="a cat")  # E: call-overload
    imini.generate(model="kling/kling-v3", prompt="a cat", duration="five")  # E: call-overload
    imini.generate(model="kling/kling-v3", aspect_ratio="4:3")  # E: call-overload
    imini.generate(model="kling/kling-v3", reference_audios=[{"url": "u"}])  # E: call-overload
    imini.generate(model="kling/kling-v4", prompt="a cat")  # E: call-overload
    imini.generate(model="kling/kling-v3-motion-control", prompt="x")  # E: call-overload
    imini.generate_and_wait(model="doubao/seedance-2.0", resolution="1080P")  # E: call-overload
    imini.validate(model="dashscope/happyhorse-1.0", duration=5.5)  # E: call-overload
    imini.generate(model="kling/kling-v3", prompt="a cat", timeout="soon")  # E: call-overload
    imini.generate(model="kling/kling-v3", extra_headers={"X-A": 1})  # E: call-overload
    imini.generate(model="kling/kling-v3", prompt="a cat", idempotency_key="k")  # E: call-overload
    apimart.generate(model="happyhorse-1.0", size="21:9")  # E: call-overload
    apimart.generate(model="happyhorse-1.0", image_urls="https://x/a.png")  # E: call-overload
    apimart.generate(model="kling/kling-v3", prompt="a cat")  # E: call-overload
    body: KlingV3RequestParam = {"model": "x", "promt": "x"}  # E: typeddict-unknown-key
    shot: KlingV3RequestParam = {"model": "kling/kling-v3", "duration": "5"}  # E: typeddict-item
    imini.download("task_1", what="thumbnail")  # E: arg-type
    print(body, shot)


async def async_mistakes(imini: AsyncImini, apimart: AsyncApimart) -> None:
    await imini.generate(model="kling/kling-v3", promt="a cat")  # E: call-overload
    await imini.generate_and_wait(model="kling/kling-v3", idempotency_key="k")  # E: call-overload
    await imini.generate_and_wait(model="kling/kling-v3", generate_audio="yes")  # E: call-overload
    await apimart.generate(model="happyhorse-1.0", reference_images=[])  # E: call-overload
    apimart.validate(model="happyhorse-1.0", watermark=1)  # E: call-overload


def no_any_where_the_shape_is_known(task: Task, failed: TaskFailedError) -> None:
    print(failed.task.progres)  # E: attr-defined
    print(failed.code.upper())  # E: union-attr
    print(task.raw["data"])  # E: index
    print(task.typed().data)  # E: union-attr


def misspelt_import() -> None:
    from vidgate import RawResponce  # E: attr-defined

    print(RawResponce)
