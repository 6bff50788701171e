"""Optional features and the extras that install them; a missing one is a one-line error.

pip install 'vidgate[cli]'      # the vidgate command
pip install 'vidgate[tools]'    # maintainer tools: docs-diff, spec-diff, releases (spec files)
pip install 'vidgate[mock]'     # the mock gateway: vidgate.mock, vidgate mock, vidgate demo
pip install 'vidgate[testing]'  # the pytest fixtures (the mock, plus respx)
"""

from __future__ import annotations

from importlib.util import find_spec

from vidgate.errors import ConfigurationError

__all__ = ["EXTRAS", "MissingExtraError", "require"]

# extra -> the modules it installs (the distributions are listed in pyproject.toml)
EXTRAS: dict[str, tuple[str, ...]] = {
    "cli": ("typer", "rich"),
    "tools": ("ruamel.yaml", "yaml"),
    "mock": ("starlette", "uvicorn", "av"),
    "testing": ("starlette", "uvicorn", "av", "respx"),
}


class MissingExtraError(ConfigurationError, ImportError):
    """A feature whose optional dependencies are not installed; the message names the extra."""

    def __init__(self, feature: str, extra: str, missing: list[str]) -> None:
        self.feature, self.extra, self.missing = feature, extra, missing
        super().__init__(
            f"{feature} needs the {extra!r} extra ({', '.join(missing)} not installed): "
            f"pip install 'vidgate[{extra}]'"
        )


def require(extra: str, feature: str) -> None:
    """Raise MissingExtraError unless every module of ``extra`` can be imported."""
    missing = [name for name in EXTRAS[extra] if not _installed(name)]
    if missing:
        raise MissingExtraError(feature, extra, missing)


def _installed(name: str) -> bool:
    """Whether a module can be imported (a dotted name whose parent is missing cannot)."""
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:
        return False
