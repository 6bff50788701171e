"""Every change between two versions of a spec, classified for the people who call the gateway
through vidgate.

    vidgate spec-diff OLD.yaml NEW.yaml
    vidgate spec-diff --from HEAD specs/imini.yaml       # a git revision against the working tree

**breaking**: a request that was valid is now refused (a range, length or item count tightened, an
enum value, field, model or input mode removed, a field newly required, a new or changed cross-field
rule, a changed error code), or a reply field removed, retyped, no longer always present or now
nullable.
**compatible**: loosened limits, added values, models, modes and optional fields, a changed
default, new reply fields. **note**: provenance and prose (``x-vidgate-source``, descriptions).
Each change names the rule id, the input mode and the gateway error code where the spec gives
them, and the JSON pointer in the new spec. The suggested bump follows semver (before 1.0, a
breaking change bumps the minor version and anything else the patch).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from vidgate import spec
from vidgate.spectools import specfile

__all__ = [
    "Change",
    "Report",
    "bump_version",
    "changelog_entry",
    "compare_files",
    "diff_request",
    "diff_specs",
    "overall_bump",
    "read_revision",
    "render",
]

LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems")  # raising these refuses more
UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")  # lowering these refuses more
PROSE = ("description", "summary", "x-vidgate-note", "examples", "example", "externalDocs")
ORDER = {"breaking": 0, "compatible": 1, "note": 2}


@dataclass(frozen=True)
class Change:
    level: str  # breaking | compatible | note
    where: str  # "kling/kling-v3 duration", "reply TaskEnvelope.data.status", "model x"
    what: str  # "maximum lowered", "enum value removed", ...
    old: Any = None
    new: Any = None
    pointer: str = ""
    rule: str | None = None
    mode: str | None = None
    error_code: str | None = None

    def __str__(self) -> str:
        both = self.old is None and self.new is None
        change = "" if both else f" {_show(self.old)} → {_show(self.new)}"
        extra = [f"rule {self.rule}" if self.rule else "", f"mode {self.mode}" if self.mode else ""]
        extra.append(f"error {self.error_code}" if self.error_code else "")
        tags = ", ".join(e for e in extra if e)
        return f"{self.where}: {self.what}{change}" + (f" [{tags}]" if tags else "")


@dataclass(frozen=True)
class Report:
    old_version: str
    new_version: str
    changes: list[Change]

    @property
    def bump(self) -> str:
        levels = {c.level for c in self.changes}
        for level, bump in (("breaking", "major"), ("compatible", "minor"), ("note", "patch")):
            if level in levels:
                return bump
        return "none"

    def count(self, level: str) -> int:
        return sum(c.level == level for c in self.changes)

    def as_json(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "bump": self.bump,
            "breaking": self.count("breaking"),
            "compatible": self.count("compatible"),
            "note": self.count("note"),
            "changes": [asdict(c) for c in self.changes],
        }


def _show(value: Any) -> str:
    import json

    return "-" if value is None else json.dumps(value, ensure_ascii=False, default=str)


def bump_version(version: str, bump: str) -> str:
    """``0.1.0`` + ``major`` → ``0.2.0`` (before 1.0); ``1.2.3`` + ``minor`` → ``1.3.0``."""
    parts = [int(p) for p in version.split(".")[:3]]
    major, minor, patch = [*parts, 0, 0, 0][:3]
    if bump == "none":
        return version
    if major == 0:
        bump = {"major": "minor", "minor": "patch"}.get(bump, bump)
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


# ---------------------------------------------------------------------------- files, output
def read_revision(rev: str, path: Path) -> str:
    """The text of ``path`` (a file in a git work tree) at revision ``rev``."""
    where = path.resolve().parent
    try:
        done = subprocess.run(
            ["git", "show", f"{rev}:./{path.name}"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise specfile.SpecUnreadable(f"cannot run git for {path}: {exc}") from None
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or ["git show failed"]
        raise specfile.SpecUnreadable(f"cannot read {path} at {rev}: {reason[0]}")
    return done.stdout


def compare_files(files: list[Path], from_rev: str | None) -> list[tuple[str, Report]]:
    """``[OLD, NEW]``, or each file against its text at ``from_rev``; raises SpecUnreadable."""
    if from_rev is None:
        if len(files) != 2:
            raise specfile.SpecToolError.naming(
                "give two spec files (OLD NEW), or {0} and the files", "from_rev="
            )
        old, new = (specfile.load(f).doc for f in files)
        return [(f"{files[0]} → {files[1]}", diff_specs(old, new))]
    pairs = []
    for path in files:
        old = specfile.loads(read_revision(from_rev, path), Path(f"{from_rev}:{path}")).doc
        pairs.append(
            (f"{path} ({from_rev} → working tree)", diff_specs(old, specfile.load(path).doc))
        )
    return pairs


def overall_bump(pairs: list[tuple[str, Report]]) -> str:
    bumps = [r.bump for _, r in pairs]
    return next((b for b in ("major", "minor", "patch") if b in bumps), "none")


def render(pairs: list[tuple[str, Report]], version: str | None = None) -> list[str]:
    lines = []
    for label, report in pairs:
        lines.append(f"{label}: info.version {report.old_version} → {report.new_version}")
        for change in report.changes:
            level = change.level.upper() if change.level == "breaking" else change.level
            lines.append(f"  {level:>10}  {change}")
        if not report.changes:
            lines.append("  no contract change")
    bump = overall_bump(pairs)
    counts = {level: sum(r.count(level) for _, r in pairs) for level in ORDER}
    summary = ", ".join(f"{n} {level}" for level, n in counts.items())
    target = f" (package {version} → {bump_version(version, bump)})" if version else ""
    lines.append(f"{summary}; suggested bump: {bump}{target}")
    return lines


def changelog_entry(pairs: list[tuple[str, Report]], version: str, date: str) -> str:
    """A CHANGELOG.md section for ``version``: breaking changes first, then the rest."""
    out = [f"## {version} ({date})", ""]
    titles = {"breaking": "Breaking", "compatible": "Compatible", "note": "Notes"}
    for level, title in titles.items():
        items = [(label, c) for label, r in pairs for c in r.changes if c.level == level]
        if items:
            out += [f"### {title}", ""]
            out += [f"- `{label.split(' ')[0]}` {c}" for label, c in items]
            out.append("")
    if len(out) == 2:
        out += ["No contract change.", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------- comparing
def diff_specs(old: Any, new: Any) -> Report:
    """Every contract change from ``old`` to ``new`` (OpenAPI documents as dicts)."""
    out: list[Change] = []
    old_models, new_models = spec.request_schema_names(old), spec.request_schema_names(new)
    for model in sorted(old_models.keys() - new_models.keys()):
        out.append(Change("breaking", f"model {model}", "model removed", model, None))
    for model in sorted(new_models.keys() - old_models.keys()):
        ptr = f"/components/schemas/{specfile.escape(new_models[model])}"
        out.append(Change("compatible", f"model {model}", "model added", None, model, ptr))
    for model in sorted(old_models.keys() & new_models.keys()):
        o_ptr = f"/components/schemas/{specfile.escape(old_models[model])}"
        n_ptr = f"/components/schemas/{specfile.escape(new_models[model])}"
        o_schema, n_schema = spec.resolve(old, "#" + o_ptr), spec.resolve(new, "#" + n_ptr)
        out += _request(old, new, o_schema, n_schema, model, "", n_ptr)
        out += _rules(old, new, o_schema, n_schema, model, o_ptr, n_ptr)
        out += _modes(old, new, o_schema, n_schema, model, n_ptr)
    out += _replies(old, new)
    out.sort(key=lambda c: (ORDER[c.level], c.where, c.what))
    return Report(str(old["info"].get("version")), str(new["info"].get("version")), out)


def _deref(doc: Any, node: Any, ptr: str) -> tuple[Any, str]:
    while isinstance(node, dict) and "$ref" in node:
        ptr = node["$ref"].removeprefix("#")
        node = spec.resolve(doc, node["$ref"])
    return (node if isinstance(node, dict) else {}), ptr


def _types(node: Any) -> set[str]:
    kind = node.get("type")
    return set(kind) if isinstance(kind, list) else ({kind} if kind else set())


def _request(
    old_doc: Any, new_doc: Any, old: Any, new: Any, model: str, path: str, ptr: str
) -> list[Change]:
    """A request schema: what was valid and is now refused is breaking."""
    old, _ = _deref(old_doc, old, ptr)
    new, ptr = _deref(new_doc, new, ptr)
    where = f"{model} {path or '(body)'}"
    out: list[Change] = []

    def add(level: str, what: str, o: Any, n: Any, key: str = "") -> None:
        out.append(Change(level, where, what, o, n, ptr + (f"/{key}" if key else "")))

    if _types(old) and _types(new) and not _types(old) <= _types(new):
        add("breaking", "type changed", old.get("type"), new.get("type"), "type")
    elif _types(old) != _types(new) and _types(new):
        add("compatible", "type widened", old.get("type"), new.get("type"), "type")
    for key in LOWER + UPPER:
        o, n = old.get(key), new.get(key)
        if o == n:
            continue
        tighter = n is not None and (o is None or (n > o if key in LOWER else n < o))
        verb = (
            "added" if o is None else "removed" if n is None else "raised" if n > o else "lowered"
        )
        add("breaking" if tighter else "compatible", f"{key} {verb}", o, n, key)
    o_enum, n_enum = old.get("enum"), new.get("enum")
    if o_enum is not None or n_enum is not None:
        if n_enum is not None and o_enum is None:
            add("breaking", "enum added", None, n_enum, "enum")
        elif n_enum is None:
            add("compatible", "enum removed", o_enum, None, "enum")
        else:
            gone = [v for v in o_enum if v not in n_enum]
            added = [v for v in n_enum if v not in o_enum]
            if gone:
                add("breaking", "enum value removed", gone, None, "enum")
            if added:
                add("compatible", "enum value added", None, added, "enum")
    for key in ("const", "pattern", "format"):
        if old.get(key) != new.get(key):
            level = "compatible" if new.get(key) is None else "breaking"
            add(level, f"{key} changed", old.get(key), new.get(key), key)
    if old.get("default") != new.get("default"):
        add("compatible", "default changed", old.get("default"), new.get("default"), "default")
    if old.get("additionalProperties") != new.get("additionalProperties"):
        closed = new.get("additionalProperties") is False
        level = "breaking" if closed else "compatible"
        o, n = old.get("additionalProperties"), new.get("additionalProperties")
        add(level, "additionalProperties changed", o, n, "additionalProperties")
    if old.get("x-vidgate-source") != new.get("x-vidgate-source") and path:
        o, n = old.get("x-vidgate-source"), new.get("x-vidgate-source")
        add("note", "source changed", o, n, "x-vidgate-source")
    if any(old.get(k) != new.get(k) for k in PROSE):
        add("note", "prose changed", None, None)
    o_req, n_req = set(old.get("required", [])), set(new.get("required", []))
    o_props, n_props = old.get("properties", {}), new.get("properties", {})
    for name in sorted(n_req - o_req):
        add("breaking", f"{name} now required", None, name, "required")
    for name in sorted(o_req - n_req):
        add("compatible", f"{name} no longer required", name, None, "required")
    for name in o_props.keys() - n_props.keys():
        add("breaking", f"field {name} removed", name, None, "properties")
    for name in n_props.keys() - o_props.keys():
        level = "breaking" if name in n_req else "compatible"
        add(level, f"field {name} added", None, name, f"properties/{specfile.escape(name)}")
    for name in o_props.keys() & n_props.keys():
        sub = f"{path}.{name}" if path else name
        at = f"{ptr}/properties/{specfile.escape(name)}"
        out += _request(old_doc, new_doc, o_props[name], n_props[name], model, sub, at)
    if "items" in old and "items" in new:
        out += _request(
            old_doc, new_doc, old["items"], new["items"], model, f"{path}[]", f"{ptr}/items"
        )
    return out


def diff_request(
    old: Any, new: Any, model: str, pointer: str, old_doc: Any = None, new_doc: Any = None
) -> list[Change]:
    """The changes from one request schema of ``model`` to another, classified as above
    (``$ref`` resolved in ``old_doc`` / ``new_doc``); pointers start at ``pointer``."""
    return _request(old_doc or {}, new_doc or {}, old, new, model, "", pointer)


def _mode_of(doc: Any, pointer: str) -> str | None:
    """The input mode a rule belongs to: the nearest enclosing branch's ``x-vidgate-mode``."""
    parts = specfile.pointer_parts(pointer)
    for end in range(len(parts), 0, -1):
        node = spec.resolve(doc, "#/" + "/".join(map(specfile.escape, parts[:end])))
        if isinstance(node, dict) and "x-vidgate-mode" in node:
            return str(node["x-vidgate-mode"])
    return None


def _rule_body(node: Any, root: bool = True) -> Any:
    """What a rule checks: its keywords without prose, and nested rules by id only (a change
    inside a nested rule is that rule's change, not its parent's)."""
    if isinstance(node, list):
        return [_rule_body(item, False) for item in node]
    if not isinstance(node, dict):
        return node
    if not root and "x-vidgate-rule" in node:
        return {"x-vidgate-rule": node["x-vidgate-rule"]}
    skip = (*PROSE, "x-vidgate-source", "x-vidgate-mode")
    return {k: _rule_body(v, False) for k, v in node.items() if k not in skip}


def _rule_limits(old: Any, new: Any) -> list[tuple[str, str, Any, Any]]:
    """A rule whose only changes are numeric limits (``maxItems: 5`` → ``4``) is tightened or
    loosened by each; any other change to what it checks counts as breaking."""
    found: list[tuple[str, str, Any, Any]] = []

    def walk(o: Any, n: Any, path: str) -> bool:
        if isinstance(o, dict) and isinstance(n, dict) and o.keys() == n.keys():
            return all(walk(o[k], n[k], f"{path}/{k}") for k in o)
        if isinstance(o, list) and isinstance(n, list) and len(o) == len(n):
            return all(walk(a, b, f"{path}/{i}") for i, (a, b) in enumerate(zip(o, n, strict=True)))
        if o == n:
            return True
        key = path.rsplit("/", 1)[-1]
        if key in LOWER + UPPER and isinstance(o, int | float) and isinstance(n, int | float):
            tighter = n > o if key in LOWER else n < o
            verb = "raised" if n > o else "lowered"
            found.append(("breaking" if tighter else "compatible", f"{path[1:]} {verb}", o, n))
            return True
        return False

    if walk(old, new, ""):
        return found
    return [("breaking", "rule changed", None, None)]


def _rules(
    old_doc: Any, new_doc: Any, old: Any, new: Any, model: str, o_ptr: str, n_ptr: str
) -> list[Change]:
    olds = {r.id: r for r in spec.iter_rules(old_doc, old, o_ptr)}
    news = {r.id: r for r in spec.iter_rules(new_doc, new, n_ptr)}
    out: list[Change] = []
    for rid in sorted(olds.keys() | news.keys()):
        o, n = olds.get(rid), news.get(rid)
        found: list[tuple[str, str, Any, Any]] = []
        if o is None:
            found.append(("breaking", "rule added", None, news[rid].description or None))
        elif n is None:
            found.append(("compatible", "rule removed", o.description, None))
        else:
            if o.error_code != n.error_code:
                found.append(("breaking", "error code changed", o.error_code, n.error_code))
            elif _rule_body(o.schema) != _rule_body(n.schema):
                found += _rule_limits(_rule_body(o.schema), _rule_body(n.schema))
            if o.source != n.source:
                found.append(("note", "source changed", o.source, n.source))
        r = n or olds[rid]
        mode = _mode_of(new_doc if n else old_doc, r.pointer)
        for level, what, before, after in found:
            change = Change(level, f"{model} rule {rid}", what, before, after, r.pointer)
            out.append(replace(change, rule=rid, mode=mode, error_code=r.error_code))
    return out


def _mode_list(doc: Any, node: Any, seen: set[str] | None = None) -> Iterator[str]:
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"] not in seen:
            seen.add(node["$ref"])
            yield from _mode_list(doc, spec.resolve(doc, node["$ref"]), seen)
        if "x-vidgate-mode" in node:
            yield str(node["x-vidgate-mode"])
        for key in ("allOf", "then", "else"):
            child = node.get(key)
            for item in child if isinstance(child, list) else [child]:
                yield from _mode_list(doc, item, seen)


def _modes(old_doc: Any, new_doc: Any, old: Any, new: Any, model: str, ptr: str) -> list[Change]:
    o, n = list(_mode_list(old_doc, old)), list(_mode_list(new_doc, new))
    out = [
        Change("breaking", f"{model} mode {m}", "input mode removed", m, None, ptr, mode=m)
        for m in o
        if m not in n
    ]
    out += [
        Change("compatible", f"{model} mode {m}", "input mode added", None, m, ptr, mode=m)
        for m in n
        if m not in o
    ]
    kept_o, kept_n = [m for m in o if m in n], [m for m in n if m in o]
    if kept_o != kept_n:  # the same body may now route to another mode
        out.append(Change("breaking", f"{model} routing", "mode priority changed", o, n, ptr))
    return out


# ---------------------------------------------------------------------------- replies
def _reply_roots(doc: Any) -> dict[str, Any]:
    """Every reply schema, by operation and status."""
    roots: dict[str, Any] = {}
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            for status, response in op.get("responses", {}).items():
                response = spec.deref(doc, response)
                for media in response.get("content", {}).values():
                    if "schema" in media:
                        roots[f"{method.upper()} {path} {status}"] = media["schema"]
    return roots


def _replies(old: Any, new: Any) -> list[Change]:
    o_roots, n_roots = _reply_roots(old), _reply_roots(new)
    out = [
        Change("breaking", f"reply {k}", "response removed", k, None)
        for k in o_roots.keys() - n_roots.keys()
    ]
    out += [
        Change("compatible", f"reply {k}", "response added", None, k)
        for k in n_roots.keys() - o_roots.keys()
    ]
    for key in sorted(o_roots.keys() & n_roots.keys()):
        out += _reply(old, new, o_roots[key], n_roots[key], f"reply {key}", "", set())
    return out


def _choices(doc: Any, node: Any) -> tuple[Any, bool, list[Any] | None]:
    """A reply schema as (the schema a non-null value follows, may it be null, the non-null
    alternatives when there are several). ``anyOf``/``oneOf`` of one schema and ``{type: null}``
    (how the specs write "this object, or null") is read as that schema, nullable."""
    branches = node.get("anyOf", node.get("oneOf"))
    if not isinstance(branches, list):
        return node, "null" in _types(node), None
    rest = [b for b in branches if _types(_deref(doc, b, "")[0]) != {"null"}]
    nullable = len(rest) < len(branches)
    if len(rest) != 1:
        return node, nullable, rest
    one, _ = _deref(doc, rest[0], "")
    outer = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
    return {**outer, **one}, nullable or "null" in _types(one), None


def _reply(
    old_doc: Any, new_doc: Any, old: Any, new: Any, where: str, path: str, seen: set[str]
) -> list[Change]:
    """A reply schema: what a client could rely on and no longer can is breaking."""
    ref = new.get("$ref") if isinstance(new, dict) else None
    if ref in seen:
        return []
    if ref:
        seen = seen | {ref}
    old, _ = _deref(old_doc, old, "")
    new, ptr = _deref(new_doc, new, "")
    at = f"{where} {path or '(body)'}"
    out: list[Change] = []
    (old, o_null, o_alts), (new, n_null, n_alts) = _choices(old_doc, old), _choices(new_doc, new)
    if n_null and not o_null:
        out.append(Change("breaking", at, "may now be null", None, "null", ptr))
    elif o_null and not n_null:
        out.append(Change("compatible", at, "no longer null", "null", None, ptr))
    if o_alts is not None or n_alts is not None:  # several shapes: compared in their order
        o_list, n_list = o_alts or [old], n_alts or [new]
        if len(n_list) != len(o_list):
            more = len(n_list) > len(o_list)
            what = "alternative added" if more else "alternative removed"
            out.append(Change("breaking" if more else "compatible", at, what, None, None, ptr))
        for i, (o_alt, n_alt) in enumerate(zip(o_list, n_list, strict=False), 1):
            sub = f"{path or '(body)'} (alternative {i})"
            out += _reply(old_doc, new_doc, o_alt, n_alt, where, sub, seen)
        return out
    o_types, n_types = _types(old) - {"null"}, _types(new) - {"null"}
    if o_types and n_types and not o_types >= n_types:
        out.append(Change("breaking", at, "type changed", old.get("type"), new.get("type"), ptr))
    o_req, n_req = set(old.get("required", [])), set(new.get("required", []))
    o_props, n_props = old.get("properties", {}), new.get("properties", {})
    for name in sorted(o_req - n_req - (o_props.keys() - n_props.keys())):
        out.append(Change("breaking", at, f"{name} no longer always present", name, None, ptr))
    for name in sorted(o_props.keys() - n_props.keys()):
        out.append(Change("breaking", at, f"field {name} removed", name, None, ptr))
    for name in sorted(n_props.keys() - o_props.keys()):
        out.append(Change("compatible", at, f"field {name} added", None, name, ptr))
    for name in sorted(o_props.keys() & n_props.keys()):
        sub = f"{path}.{name}" if path else name
        out += _reply(old_doc, new_doc, o_props[name], n_props[name], where, sub, seen)
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        out += _reply(old_doc, new_doc, old["items"], new["items"], where, f"{path}[]", seen)
    return out
