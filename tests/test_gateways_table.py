"""Gateway knowledge lives in one table (vidgate.gateways): no other module of src/ compares
a gateway's name, keys a dict by it or lists the names by hand; each entry agrees with its spec."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vidgate import aio, client, spec
from vidgate.gateways import _GATEWAYS, Gateway, gateway

SRC = Path(__file__).resolve().parent.parent / "src"
TABLE = SRC / "vidgate" / "gateways.py"
NAMES = frozenset(_GATEWAYS)


def _is_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in NAMES


def _holds_name(node: ast.AST) -> bool:
    """A gateway name, or a tuple/list/set literal holding one."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_name(item) for item in node.elts)
    return _is_name(node)


def _literal_types(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``Literal[...]``: a type names the gateways, it does not decide."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            target = node.value
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name == "Literal":
                inside.update(id(child) for child in ast.walk(node.slice))
    return inside


def gateway_knowledge(source: str, filename: str = "<src>") -> list[str]:
    """Where ``source`` decides by a gateway's name: a comparison (==, !=, in, is, match case),
    a dict keyed by it, or a hand-written list of two or more names (line: what)."""
    tree = ast.parse(source, filename)
    in_types = _literal_types(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            _holds_name(side) for side in (node.left, *node.comparators)
        ):
            found.append(f"{node.lineno}: compares a gateway name")
        elif isinstance(node, ast.Dict) and any(k is not None and _is_name(k) for k in node.keys):
            found.append(f"{node.lineno}: dict keyed by a gateway name")
        elif isinstance(node, ast.MatchValue) and _is_name(node.value):
            found.append(f"{node.lineno}: match case on a gateway name")
        elif (
            isinstance(node, ast.Tuple | ast.List | ast.Set)
            and id(node) not in in_types
            and sum(_is_name(item) for item in node.elts) >= 2
        ):
            found.append(f"{node.lineno}: lists the gateway names by hand")
    return sorted(set(found), key=lambda line: int(line.split(":")[0]))


def _sources() -> Iterator[Path]:
    for path in sorted(SRC.rglob("*.py")):
        if path != TABLE:
            yield path


def test_no_gateway_knowledge_outside_the_table() -> None:
    problems = [
        f"{path.relative_to(SRC)}:{line}"
        for path in _sources()
        for line in gateway_knowledge(path.read_text(encoding="utf-8"), str(path))
    ]
    assert problems == [], "ask vidgate.gateways.gateway(name) for the fact instead"


@pytest.mark.parametrize(
    "source",
    [
        'if name == "imini":\n    pass',
        'ok = "apimart" != name',
        'ok = name in ("imini", "other")',
        'ok = "imini" in names',
        'ok = name is "apimart"',
        'CODES = {"imini": "INVALID_PARAMETER"}',
        'x = "VideoTask" if gw == "imini" else "Task"',
        'for name in ("imini", "apimart"):\n    pass',
        'NAMES = ["apimart", "imini"]',
        'match name:\n    case "imini":\n        pass',
    ],
)
def test_the_check_finds_a_decision_by_name(source: str) -> None:
    assert gateway_knowledge(source)


@pytest.mark.parametrize(
    "source",
    [
        '# if name == "imini": comments do not count',
        '"""Docstrings do not count: name == "imini"."""',
        'client = mock.client("imini")',  # naming one gateway to use it is not deciding by it
        'gateway_name = "apimart"',
        'Gateway = Literal["imini", "apimart"]',
        "GATEWAYS = get_args(Gateway)",
        "ok = name == other",
    ],
)
def test_the_check_leaves_the_rest(source: str) -> None:
    assert gateway_knowledge(source) == []


# ---------------------------------------------------------------------------- the table itself


def test_one_entry_per_spec() -> None:
    assert set(_GATEWAYS) == set(spec.GATEWAYS)
    assert all(name == entry.name for name, entry in _GATEWAYS.items())
    with pytest.raises(ValueError, match="unknown gateway"):
        gateway("veo")


def test_the_cli_offers_every_gateway() -> None:
    """typer needs the choices as an enum written out (mypy cannot type a computed one)."""
    from vidgate.cli import _common as cli

    assert set(cli.GATEWAY_NAMES) == set(spec.GATEWAYS)


ENTRIES = [gateway(name) for name in spec.GATEWAYS]


def _follow(doc: dict[str, Any], node: Any, key: str) -> Any:
    """The schema of property ``key`` of ``node`` (through $ref and anyOf branches)."""
    node = spec.deref(doc, node)
    for option in [node, *(spec.deref(doc, o) for o in node.get("anyOf", []))]:
        if key in option.get("properties", {}):
            return spec.deref(doc, option["properties"][key])
    raise AssertionError(f"the spec lists no {key!r} here")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_reply_fields_are_the_specs(entry: Gateway) -> None:
    """The fields the table names (where the spec lists fields, not their meaning) are there."""
    doc = entry.doc
    task = doc["components"]["schemas"][entry.task_schema]
    assert {entry.task_id_field, entry.created_field, entry.completed_field} <= entry.task_fields
    node: Any = task
    for key in entry.videos_at:
        node = _follow(doc, node, key)
    assert "items" in node  # a list of videos
    reply = doc["components"]["schemas"][entry.task_reply_schema]
    if entry.envelope is not None:
        assert reply["properties"][entry.envelope]["$ref"].endswith(f"/{entry.task_schema}")
    else:
        assert entry.task_reply_schema == entry.task_schema


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_clients_are_the_entrys(entry: Gateway) -> None:
    assert client.client_for(entry.name).gateway_name == entry.name
    assert aio.client_for(entry.name).gateway_name == entry.name


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_error_codes_the_spec_shows_are_read_not_typed(entry: Gateway) -> None:
    """A status whose one error example the spec shows answers with that example's code, and
    the table does not type that code again."""
    shown: dict[int, str] = {}
    for item in entry.doc["paths"].values():
        for op in (o for o in item.values() if isinstance(o, dict)):
            for status, reply in op["responses"].items():
                media = spec.deref(entry.doc, reply).get("content", {}).get("application/json", {})
                code = media.get("example", {}).get("error", {}).get("code")
                if code is not None:
                    shown[int(status)] = code
    assert {status: entry.error_codes[status] for status in shown} == shown
    assert not set(shown) & set(entry.mock_error_codes)
