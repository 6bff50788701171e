"""Spec-conformant gateway replies, taken from the specs' own examples (for respx-based tests)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from vidgate import spec
from vidgate.types import Status, raw_status

__all__ = ["example_replies"]


def _example(content: dict[str, Any], name: str | None = None) -> Any:
    media = content["application/json"]
    if "example" in media:
        return media["example"]
    examples = media["examples"]
    return examples[name]["value"] if name else next(iter(examples.values()))["value"]


def example_replies() -> Iterator[tuple[str, str, str, str, Any, Any]]:
    """(gateway, base URL, submit path, task-path regex, submit reply, succeeded task reply)."""
    for gateway in spec.GATEWAYS:
        doc = spec.document(gateway)
        submit_path, submit_op = spec.submit_operation(doc)
        task_path, item = next((p, i) for p, i in doc["paths"].items() if "get" in i)
        # the examples are named by status: the one of the status that means succeeded
        succeeded = raw_status(gateway, Status.SUCCEEDED)
        task_reply = _example(item["get"]["responses"]["200"]["content"], succeeded)
        submit_reply = _example(submit_op["responses"]["200"]["content"])
        pattern = re.sub(
            r"\{[^}]+\}", "[^/]+", re.escape(task_path).replace(r"\{", "{").replace(r"\}", "}")
        )
        yield gateway, doc["servers"][0]["url"], submit_path, pattern, submit_reply, task_reply
