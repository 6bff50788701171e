"""Polling efficiency on a simulated clock: a task that takes N seconds, polled by vidgate's real
wait loop (spec-driven backoff) or by a fixed-interval loop; requests made and detection delay."""

from __future__ import annotations

from typing import Any

import httpx

from vidgate import Imini


class SimulatedTask:
    """A transport whose task succeeds once the simulated clock reaches ``length``."""

    def __init__(self, length: float) -> None:
        self.length, self.now, self.requests = length, 0.0, 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        done = self.now >= self.length
        body: dict[str, Any] = {
            "task_id": "task_1",
            "status": "succeeded" if done else "processing",
        }
        if done:
            body["videos"] = [{"url": "https://cdn.example/v.mp4"}]
        return httpx.Response(200, json=body)


def simulate(length: float, policy: str, seed: int = 1) -> dict[str, float]:
    sim = SimulatedTask(length)
    if policy == "vidgate":
        client = Imini(
            "sk-bench",
            base_url="https://gw.example",
            clock=sim.clock,
            sleep=sim.sleep,
            transport=httpx.MockTransport(sim.handle),
            seed=seed,
        )
        client.wait("task_1", timeout=length * 10, poll_now=False)  # as generate_and_wait does
        client.close()
    else:
        interval = {"fixed-1s": 1.0, "fixed-2s": 2.0}[policy]
        with httpx.Client(transport=httpx.MockTransport(sim.handle)) as raw:
            sim.sleep(interval)  # nor does a fixed poller ask at t=0 right after submitting
            while raw.get("https://gw.example/t").json()["status"] != "succeeded":
                sim.sleep(interval)
    return {"requests": sim.requests, "detection_s": sim.now - length}
