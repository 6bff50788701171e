"""Typed request bodies and per-model call signatures, from a gateway's spec (make generate).

For each spec it writes ``vidgate_typed/<gateway>.py``:

- a ``TypedDict`` per object schema a submit body uses (``Required``/``NotRequired`` from the
  schema's ``required``, ``Literal`` for ``enum``/``const``), named after the schema + ``Param``;
- ``ModelName`` (the ``Literal`` of every model id) and ``RequestParam`` (the union of the
  per-model bodies);
- ``SyncMethods`` and ``AsyncMethods``: mixins for the gateway's clients whose ``generate``,
  ``generate_and_wait`` and ``validate`` are overloaded on the ``Literal`` model name, one
  overload per model with its fields as keyword arguments, plus one taking a whole body (a dict, a
  generated pydantic model, a ``vidgate.neutral.HappyHorse``). They exist only for type checkers
  (under ``TYPE_CHECKING``); at run time the client's own methods do the work.

Only ``type``, ``enum``, ``const``, ``$ref``, ``items``, ``properties``, ``required``,
``anyOf``/``oneOf`` shape the types; ranges, lengths and patterns stay with the runtime validator.
A schema this step cannot express stops it (never a silent ``Any``). The module has no
``from __future__ import annotations``: the TypedDicts' ``Required``/``NotRequired`` must be real
at run time (``__required_keys__``), so they are written dependencies first.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Json = dict[str, Any]
REF = "#/components/schemas/"
# keyword arguments the methods take besides the body's fields (see vidgate._options)
OPTIONS = {
    "idempotency_key",
    "extra_body",
    "extra_headers",
    "extra_query",
    "timeout",
    "max_retries",
    "request_timeout",
    "on_progress",
}
SIMPLE = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


class Unsupported(Exception):
    """A schema the typed surface cannot express."""


def submit_operation(doc: Json) -> Json:
    """The submit operation: the one with a JSON request body."""
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "requestBody" in op:
                return op
    raise Unsupported("no operation with a JSON request body")


def submit_mapping(doc: Json) -> dict[str, str]:
    """Model id -> schema name, from the discriminator of the submit operation's body."""
    schema = submit_operation(doc)["requestBody"]["content"]["application/json"]["schema"]
    target = doc["components"]["schemas"][schema["$ref"].removeprefix(REF)]
    mapping = target["discriminator"]["mapping"]
    return {model: ref.removeprefix(REF) for model, ref in mapping.items()}


def takes_idempotency_key(doc: Json) -> bool:
    """Whether the submit has an Idempotency-Key header (as vidgate.gateways reads it): without
    one the signatures leave ``idempotency_key`` out, so a type checker refuses it."""
    return any(
        param.get("in") == "header" and str(param.get("name", "")).lower() == "idempotency-key"
        for param in submit_operation(doc).get("parameters", [])
    )


class Writer:
    def __init__(self, doc: Json) -> None:
        # the spec's named schemas, plus a name for each inline object with properties
        # (its parent's name and its field's, e.g. ``Zephyr10RequestExtraParams``)
        self.schemas: Json = dict(doc["components"]["schemas"])
        self.inline: dict[int, str] = {}  # id() of an inline object schema -> its name
        self.order: list[str] = []  # TypedDicts to write, dependencies first

    def collect(self, name: str) -> None:
        if name in self.order:
            return
        for field, prop in self.schemas[name].get("properties", {}).items():
            for ref in refs(prop):
                self.collect(ref)
            for inline, suffix in inline_objects(prop, camel(field)):
                self.inline[id(inline)] = f"{name}{suffix}"
                self.schemas[f"{name}{suffix}"] = inline
                self.collect(f"{name}{suffix}")
        self.order.append(name)

    def annotation(self, schema: Json, where: str) -> str:
        if "$ref" in schema:
            name = schema["$ref"].removeprefix(REF)
            if self.schemas[name].get("type") != "object" or "properties" not in self.schemas[name]:
                return self.annotation(self.schemas[name], where)
            return f"{name}Param"
        if "const" in schema:
            return f"Literal[{schema['const']!r}]"
        if "enum" in schema:
            return "Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return " | ".join(self.annotation(s, where) for s in schema[key])
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self.annotation({**schema, "type": k}, where) for k in kind)
        if kind == "null":
            return "None"
        if kind in SIMPLE:
            return SIMPLE[kind]
        if kind == "array":
            return f"list[{self.annotation(schema.get('items', {}), where + '[]')}]"
        if kind == "object":
            if "properties" in schema:
                return f"{self.inline[id(schema)]}Param"
            return "Mapping[str, object]"
        raise Unsupported(f"{where}: cannot type {schema!r}")

    def fields(self, name: str) -> Iterator[tuple[str, str, bool]]:
        schema = self.schemas[name]
        required = set(schema.get("required", []))
        for field, prop in schema.get("properties", {}).items():
            if not field.isidentifier() or keyword.iskeyword(field):
                raise Unsupported(f"{name}.{field}: not a Python identifier")
            yield field, self.annotation(prop, f"{name}.{field}"), field in required

    def typed_dict(self, name: str) -> str:
        lines = [f"class {name}Param(TypedDict):", f"    {docstring(self.schemas[name])}", ""]
        for field, annotation, required in self.fields(name):
            wrap = "Required" if required else "NotRequired"
            lines.append(f"    {field}: {wrap}[{annotation}]")
        return "\n".join(lines) + "\n"


def camel(field: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in field.split("_"))


def inline_objects(schema: Any, suffix: str) -> Iterator[tuple[Json, str]]:
    """Inline object schemas with properties in a property (itself, or its array items)."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    if schema.get("type") == "object" and "properties" in schema:
        yield schema, suffix
    elif schema.get("type") == "array":
        yield from inline_objects(schema.get("items"), f"{suffix}Item")


def refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        if "$ref" in schema:
            yield schema["$ref"].removeprefix(REF)
        for key, value in schema.items():
            if key in ("items", "anyOf", "oneOf"):
                yield from refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from refs(item)


def docstring(schema: Json) -> str:
    text = " ".join(str(schema.get("description", "")).split()) or "A request object."
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"""{text}"""'


# the parts of each method's signature that are not the body (see vidgate._options)
METHODS: dict[str, tuple[str, list[str], str]] = {
    # name: (returns, keyword options, **options TypedDict)
    "generate": (
        "SubmittedTask",
        ["idempotency_key: str | None = None", "extra_body: Mapping[str, object] | None = None"],
        "RequestOptions",
    ),
    "generate_and_wait": (
        "Task",
        [
            "timeout: float | None = None",
            "on_progress: ProgressCallback | None = None",
            "idempotency_key: str | None = None",
            "extra_body: Mapping[str, object] | None = None",
        ],
        "WaitOptions",
    ),
    "validate": ("Result", [], ""),
}


def method(
    name: str, models: dict[str, str], writer: Writer, is_async: bool, keyed: bool = True
) -> str:
    returns, options, extra = METHODS[name]
    if not keyed:
        options = [o for o in options if not o.startswith("idempotency_key:")]
    prefix = "async def" if is_async and name != "validate" else "def"  # validate never awaits
    tail = [*options, *([f"**options: Unpack[{extra}]"] if extra else [])]
    out = []
    body_args = ["self", "body: RequestBody", "/", *(["*", *tail] if tail else [])]
    out.append(overload(prefix, name, body_args, returns))
    for model, schema in models.items():
        args = ["self", "*"]
        for field, annotation, required in writer.fields(schema):
            if field in OPTIONS:
                raise Unsupported(f"{schema}.{field}: clashes with a keyword option")
            if field == "model":
                args.append(f"model: Literal[{model!r}]")
            else:
                args.append(f"{field}: {annotation}" + ("" if required else " = ..."))
        out.append(overload(prefix, name, args + tail, returns))
    out.append(f"        {prefix} {name}(self, *args: Any, **kwargs: Any) -> {returns}: ...\n")
    return "\n".join(out)


def overload(prefix: str, name: str, args: list[str], returns: str) -> str:
    inner = "".join(f"            {a},\n" for a in args)
    return f"        @overload\n        {prefix} {name}(\n{inner}        ) -> {returns}: ...\n"


def module(gateway: str, doc: Json, header: str) -> str:
    models = submit_mapping(doc)
    keyed = takes_idempotency_key(doc)
    writer = Writer(doc)
    for schema in models.values():
        writer.collect(schema)
    names = [f"{n}Param" for n in writer.order]
    model_names = ", ".join(repr(m) for m in models)
    body_union = " | ".join(f"{s}Param" for s in models.values())
    pydantic_union = " | ".join(f"_models.{s}" for s in dict.fromkeys(models.values()))
    parts = [
        header,
        f'"""Typed request bodies and per-model signatures of specs/{gateway}.yaml.\n\n'
        "TypedDicts for the submit bodies, and the overloads a type checker sees on the "
        f"{gateway} clients' generate, generate_and_wait and validate (one per model, keyed on "
        'the Literal model name).\n"""\n',
        "from collections.abc import Mapping",
        "from typing import (\n    TYPE_CHECKING,\n    Any,\n    Literal,\n    NotRequired,\n"
        "    Required,\n    TypeAlias,\n    TypedDict,\n    overload,\n)\n",
        "if TYPE_CHECKING:",
        "    from typing import Unpack\n",
        f"    from vidgate_models import {gateway} as _models",
        "    from vidgate._options import RequestOptions, WaitOptions",
        "    from vidgate.neutral import HappyHorse",
        "    from vidgate._core import ProgressCallback",
        "    from vidgate.types import SubmittedTask, Task",
        "    from vidgate.validation import Result\n",
        "__all__ = [",
        *(
            f"    {n!r},"
            for n in sorted(
                [*names, "AsyncMethods", "ModelName", "RequestBody", "RequestParam", "SyncMethods"]
            )
        ),
        "]\n",
        f"ModelName = Literal[{model_names}]",
        '"""Every model id of the gateway."""\n\n',
    ]
    parts += [writer.typed_dict(name) + "\n" for name in writer.order]
    parts += [
        f'RequestParam: TypeAlias = "{body_union}"',
        '"""A submit body of any model, as a dict."""\n',
        'RequestBody: TypeAlias = (\n    "RequestParam | Mapping[str, object] | "\n'
        f'    "{pydantic_union} | HappyHorse"\n)',
        '"""What the body argument takes: a dict (checked against the TypedDicts when annotated '
        'so), a generated pydantic model, or a neutral HappyHorse request."""\n\n',
    ]
    for cls, is_async in (("SyncMethods", False), ("AsyncMethods", True)):
        kind = "async" if is_async else "sync"
        parts += [
            f"class {cls}:",
            f'    """The typed {kind} signatures (a type checker reads them; the client '
            'implements them)."""\n',
            "    if TYPE_CHECKING:",
            "\n".join(method(m, models, writer, is_async, keyed) for m in METHODS),
        ]
    return "\n".join(parts).rstrip("\n") + "\n"


def write(gateway: str, doc: Json, out: Path, header: str) -> Path:
    target = out / "vidgate_typed" / f"{gateway}.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(module(gateway, doc, header))
    return target
