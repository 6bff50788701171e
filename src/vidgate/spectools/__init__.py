"""Maintainer tools for the specs: read and check spec files, compare versions, follow docs pages.

``specfile`` loads and writes spec YAML safely; ``spec_diff`` and ``schema_diff`` classify what a
spec change means for users; ``docs_diff`` (with ``docs_prose`` and ``docs_shapes``) compares a
gateway's documentation page with its spec; ``scaffold`` drafts a spec section from a new model's
page. They need the ``tools`` extra (``pip install 'vidgate[tools]'``); the client never imports
them.
"""

__all__: list[str] = []
