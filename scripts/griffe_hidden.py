"""A Griffe extension for the docs site (mkdocs.yml loads it, as does
tests/test_reference_docstrings.py): class members that are implementation hooks, which no
caller uses or reads, are left out of the API reference. Griffe counts every dunder as public,
and a ``public = False`` would not reach the names a package re-exports (each alias of a class
makes new aliases of its members), so the hooks are dropped from the loaded data instead."""

from __future__ import annotations

import ast
from typing import Any

import griffe

__all__ = ["HIDDEN", "HideHooks"]

HIDDEN = frozenset({"__slots__", "__post_init__"})


class HideHooks(griffe.Extension):
    """Drop the members named in ``HIDDEN`` from every class Griffe loads."""

    def on_class_members(
        self,
        *,
        node: ast.AST | griffe.ObjectNode,
        cls: griffe.Class,
        agent: griffe.Visitor | griffe.Inspector,
        **kwargs: Any,
    ) -> None:
        """Called by Griffe once a class's members are loaded."""
        for name in sorted(HIDDEN & cls.members.keys()):
            cls.del_member(name)
