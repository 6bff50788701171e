"""The documentation pages in ../shared/seeds (or $VIDGATE_DOCS_DIR), read as tests need them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from vidgate import spec
from vidgate.spectools import docs_shapes

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_NAMES: dict[str, spec.Gateway] = {"imini router": "imini", "apimart": "apimart"}


class SeedsMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Page:
    path: Path
    gateway: spec.Gateway
    endpoint: str
    model: str

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def json_objects(self) -> list[dict[str, Any]]:
        """Every JSON object written on the page (request bodies, replies, use cases), in order."""
        return docs_shapes.json_objects(self.text)

    def request_bodies(self) -> list[dict[str, Any]]:
        return [o for o in self.json_objects() if "model" in o and "task_id" not in o]

    def submit_replies(self) -> list[dict[str, Any]]:
        return [o for o in self.json_objects() if "task_id" in o or "code" in o]


def docs_dir() -> Path:
    folder = Path(os.environ.get("VIDGATE_DOCS_DIR", ROOT.parent / "shared" / "seeds"))
    if not (folder / "README.md").is_file():
        raise SeedsMissing(
            f"documentation pages not found in {folder}: set VIDGATE_DOCS_DIR to the folder "
            "that holds the seed pages and their README.md"
        )
    return folder


@cache
def pages() -> tuple[Page, ...]:
    """The pages listed in the folder's README table (file | gateway | endpoint | model)."""
    folder = docs_dir()
    found = []
    for line in (folder / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].endswith(".txt"):
            name, gateway, endpoint, model = cells
            found.append(Page(folder / name, GATEWAY_NAMES[gateway], endpoint, model))
    if not found:
        raise SeedsMissing(f"{folder}/README.md lists no pages")
    return tuple(found)
