"""Write (or check) the docs page section that lists, per model, which rules live where.

python scripts/rules_table.py          # rewrite the section between the markers in docs/rules.md
python scripts/rules_table.py --check  # fail if docs/rules.md is out of date with the specs
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vidgate import spec

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "rules.md"
BEGIN, END = "<!-- rules:begin (scripts/rules_table.py) -->", "<!-- rules:end -->"
FIELD_CHECKERS = "pydantic + JSON Schema"
FIELD_KEYWORDS: dict[str, Callable[[Any], str]] = {
    "enum": lambda v: "one of " + ", ".join(map(str, v)),
    "minimum": lambda v: f"≥ {v}",
    "maximum": lambda v: f"≤ {v}",
    "minLength": lambda v: f"≥ {v} chars",
    "maxLength": lambda v: f"≤ {v} chars",
    "minItems": lambda v: f"≥ {v} items",
    "maxItems": lambda v: f"≤ {v} items",
    "pattern": lambda v: "pattern",
    "default": lambda v: f"default {v}",
}

# x-vidgate-media keys vidgate.inline_media enforces on inline data: URLs
MEDIA_KEYWORDS: dict[str, Callable[[Any], str]] = {
    "max_bytes": lambda v: f"≤ {v} bytes decoded",
    "side_px": lambda v: f"width and height {v[0]}-{v[1]} px",
    "min_side_px": lambda v: f"width and height ≥ {v} px",
    "min_short_side_px": lambda v: f"short side ≥ {v} px",
    "aspect_ratio": lambda v: f"aspect ratio {v[0]} to {v[1]}",
    "short_over_long_min": lambda v: f"short / long ≥ {v}",
    "min_short_side_px_recommended": lambda v: f"short side ≥ {v} px advised (warning)",
    "formats": lambda v: f"bytes are the labelled format, one of {', '.join(v)}",
    "duration_s": lambda v: (
        f"each clip {v[0]}-{v[1]} s, read from WAV/MP3 bytes (unreadable: warning)"
    ),
    "total_duration_max_s": lambda v: f"inline clips ≤ {v} s together",
}


def _takes_inline(doc: Any, prop: Any) -> bool:
    """Whether the field's URL pattern admits a data: URL (videos do not)."""
    sub = spec.deref(doc, prop)
    items = spec.deref(doc, sub.get("items", {}))
    url = spec.deref(doc, items.get("properties", {}).get("url", {}))
    return any("[Dd][Aa][Tt][Aa]:" in str(s.get("pattern", "")) for s in (sub, items, url))


def _media(doc: Any, schema: Any) -> Iterator[tuple[str, str, str]]:
    for name, prop in schema.get("properties", {}).items():
        media = prop.get("x-vidgate-media") or spec.deref(doc, prop).get("x-vidgate-media")
        if not media or not _takes_inline(doc, prop):
            continue
        blocks = [("", media)] + [(f" ({k})", v) for k, v in media.items() if isinstance(v, dict)]
        for label, block in blocks:
            facts = [f(block[k]) for k, f in MEDIA_KEYWORDS.items() if k in block]
            if facts:
                yield f"{name}{label}", "; ".join(facts), prop.get("x-vidgate-source", "")


def _fields(doc: Any, schema: Any, prefix: str) -> Iterator[tuple[str, str, str]]:
    schema = spec.deref(doc, schema)
    required = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        sub = spec.deref(doc, sub)
        where = f"{prefix}{name}"
        facts = [f(sub[k]) for k, f in FIELD_KEYWORDS.items() if k in sub]
        if "const" in sub:
            facts = [f"= {sub['const']}"]
        if name in required:
            facts.insert(0, "required")
        if facts:
            yield where, "; ".join(facts), sub.get("x-vidgate-source", "")
        items = spec.deref(doc, sub.get("items"))
        if sub.get("type") == "object":
            if sub.get("x-vidgate-unknown-keys") == "warn":
                text = "keys not listed pass, with a warning"
                yield f"{where}", text, sub.get("x-vidgate-source", "")
            yield from _fields(doc, sub, f"{where}.")
        elif isinstance(items, dict) and items.get("type") == "object":
            yield from _fields(doc, items, f"{where}[].")


def _modes(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "x-vidgate-mode" in node:
            yield node["x-vidgate-mode"]
        yield from _modes(node.get("then"))
        yield from _modes(node.get("else"))


def section() -> str:
    out = [BEGIN, ""]
    for gateway in spec.GATEWAYS:
        doc = spec.document(gateway)
        for model, name in spec.request_schema_names(doc).items():
            schema = doc["components"]["schemas"][name]
            modes = [m for rule in schema.get("allOf", []) for m in _modes(rule)]
            out += [
                f"## {gateway} · `{model}` (`specs/{gateway}.yaml#/components/schemas/{name}`)",
                "",
                f"Modes, in routing order: {', '.join(f'`{m}`' for m in modes)}.",
                "",
                "| where | rule | enforced by | source |",
                "|---|---|---|---|",
            ]
            for where, facts, source in _fields(doc, schema, ""):
                out.append(f"| `{where}` | {facts} | field schema: {FIELD_CHECKERS} | {source} |")
            for where, facts, source in _media(doc, schema):
                row = f"| `{where}` inline `data:` | {facts} | inline media: vidgate | {source} |"
                out.append(row)
            for rule in spec.iter_rules(doc, schema, f"/components/schemas/{name}"):
                how = "x-vidgate-sum (vidgate)" if "x-vidgate-sum" in rule.schema else "JSON Schema"
                code = f" → `{rule.error_code}`" if rule.error_code else ""
                text = f"{rule.description}{code}"
                out.append(f"| `{rule.id}` | {text} | cross-field: {how} | {rule.source} |")
            for rule in spec.iter_warnings(schema, f"/components/schemas/{name}"):
                budget = rule.schema.get("x-vidgate-text-budget")
                text = rule.description
                if budget:
                    text += (
                        f" `{budget['field']}` over {budget['cjk_chars']} CJK or "
                        f"{budget['other_chars']} other characters."
                    )
                out.append(f"| `{rule.id}` | {text} | warning: vidgate | {rule.source} |")
            out.append("")
    out.append(END)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = PAGE.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    updated = text[:start] + section() + text[end:]
    if args.check:
        if updated != text:
            print("docs/rules.md is stale: run make generate", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
