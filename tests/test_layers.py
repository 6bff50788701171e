"""The package's layers (issue 23): no import circle between any two vidgate modules, every
package says its purpose in one line, the CLI uses only the library's public API, and
import-linter's contracts in pyproject.toml (which `make check` runs) hold, and each of them
breaks when its rule is broken."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest
from import_cycles import cycles

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "vidgate"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]


def _graph() -> grimp.ImportGraph:
    """vidgate's import graph (imports in functions and under TYPE_CHECKING included), less the
    imports the acyclic-modules contract ignores (each one a circle another branch breaks)."""
    graph = grimp.build_graph("vidgate", cache_dir=None)
    (contract,) = (c for c in CONFIG["contracts"] if c["id"] == "acyclic-modules")
    for line in contract.get("ignore_imports", []):
        importer, imported = (part.strip() for part in line.split("->"))
        graph.remove_import(importer=importer, imported=imported)
    return graph


def test_no_import_circle_between_any_two_vidgate_modules() -> None:
    assert cycles(_graph()) == []


def test_the_circle_check_finds_circles_through_a_package_and_between_modules() -> None:
    graph = _graph()
    graph.add_import(importer="vidgate.cli.batch", imported="vidgate.cli")  # back to its package
    graph.add_import(importer="vidgate.errors", imported="vidgate.aio")  # the old lazy re-export
    found = cycles(graph)
    assert ["vidgate.cli", "vidgate.cli.batch"] in found
    assert any({"vidgate.errors", "vidgate.aio"} <= set(circle) for circle in found)
    assert cycles(graph, ["vidgate.errors", "vidgate.types"]) == []  # only among those given


def _purpose_problem(source: str) -> str | None:
    """What is wrong with a package's docstring as a statement of its purpose, if anything: it
    must open with one line that is a whole sentence (the rest, if any, after a blank line)."""
    doc = ast.get_docstring(ast.parse(source), clean=False)
    if not doc or not doc.strip():
        return "no docstring"
    first, _, rest = doc.partition("\n")
    if not first.strip().endswith("."):
        return f"the first line is not a whole sentence: {first!r}"
    if rest and rest.split("\n", 1)[0].strip():
        return "the purpose runs past its first line (a blank line must follow it)"
    return None


PACKAGES = sorted(path.relative_to(PACKAGE.parent) for path in PACKAGE.rglob("__init__.py"))


@pytest.mark.parametrize("init", PACKAGES, ids=str)
def test_every_package_says_its_purpose_in_one_line(init: Path) -> None:
    assert _purpose_problem((PACKAGE.parent / init).read_text(encoding="utf-8")) is None


def test_the_purpose_check_refuses_what_is_not_one_line() -> None:
    assert len(PACKAGES) >= 6  # vidgate, batch, batch.journal, cli, mock, spectools
    assert _purpose_problem('"""Batch runs: many jobs, resumable."""\n') is None
    assert _purpose_problem('"""Batch runs.\n\nMore words.\n"""\n') is None
    assert _purpose_problem("x = 1\n") == "no docstring"
    assert "first line" in str(_purpose_problem('"""Batch runs that\ngo on here.\n"""\n'))
    assert "past its first line" in str(_purpose_problem('"""Batch runs.\nMore.\n"""\n'))


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the project's contracts on the vidgate found first in ``cwd``."""
    command = [sys.executable, "-m", "importlinter.cli", "--no-cache", "--no-logo"]
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint:
        command = [lint, "--no-cache", "--no-logo"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_lint_imports_keeps_every_contract() -> None:
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(CONFIG['contracts'])} kept, 0 broken." in done.stdout


def _add_lines(path: Path, *lines: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + "\n".join(lines) + "\n")


def test_each_contract_breaks_on_its_own_violation(tmp_path: Path) -> None:
    """A copy of the package with one violation per contract: lint-imports fails and names each
    contract broken (imports inside functions count)."""
    shutil.copytree(PACKAGE, tmp_path / "vidgate", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "import_cycles.py", tmp_path / "scripts")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    copy = tmp_path / "vidgate"
    # the core reaching up into the CLI (layers)
    _add_lines(copy / "errors.py", "def _up() -> None:", "    from vidgate.cli import app")
    # the CLI using a private module of the library (cli-public-api)
    _add_lines(copy / "cli" / "_common.py", "def _private() -> None:", "    import vidgate._core")
    # two core modules importing each other (acyclic-packages, and acyclic-modules)
    _add_lines(copy / "spec.py", "def _back() -> None:", "    import vidgate.validation")
    # a command module importing the package that registers it (acyclic-modules only)
    _add_lines(copy / "cli" / "specs.py", "def _parent() -> None:", "    import vidgate.cli")
    done = _lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = "".join(done.stdout.split("\n\n")[:4])
    for contract in CONFIG["contracts"]:
        assert f"{contract['name']} BROKEN" in " ".join(summary.split()), contract["id"]
    assert "vidgate.errors is not allowed to import vidgate.cli" in done.stdout
    assert "vidgate.cli._common -> vidgate._core (l." in done.stdout
    assert "vidgate.cli.specs -> vidgate.cli (l." in done.stdout
    assert "- .spec -> .validation" in done.stdout


def _library_names(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every library name a CLI module uses: ``from vidgate.x import name``,
    and ``x.name`` where ``x`` is a library module it imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used: list[tuple[str, str]] = []
    modules: dict[str, str] = {}  # local name -> library module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vidgate"):
            module = str(node.module)
            if module == "vidgate.cli" or module.startswith("vidgate.cli."):
                continue
            for alias in node.names:
                full = f"{module}.{alias.name}"
                if _is_package(module) and importlib.util.find_spec(full) is not None:
                    modules[alias.asname or alias.name] = full  # its names: checked where used
                    used.append((full, ""))
                else:
                    used.append((module, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vidgate") and not alias.name.startswith("vidgate.cli"):
                    used.append((alias.name, ""))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            used.append((modules[node.value.id], node.attr))
    return used


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


def _private_use(module: str, name: str) -> str | None:
    """Why using ``module.name`` is not using the public API, if it is not: a module or a name
    with a leading underscore, or a name its module's ``__all__`` does not list."""
    if any(part.startswith("_") for part in module.split(".")):
        return f"{module} is a private module"
    if not name:
        return None
    exported = getattr(importlib.import_module(module), "__all__", ())
    return None if name in exported else f"{module}.{name} is not in its __all__"


CLI_MODULES = sorted((PACKAGE / "cli").glob("*.py"))


@pytest.mark.parametrize("path", CLI_MODULES, ids=lambda p: p.name)
def test_the_cli_uses_only_the_public_api_of_the_library(path: Path) -> None:
    problems = [_private_use(module, name) for module, name in _library_names(path)]
    assert [p for p in problems if p] == []


def test_the_public_api_check_refuses_private_names(tmp_path: Path) -> None:
    module = tmp_path / "cmd.py"
    module.write_text(
        "from vidgate import errors\n"
        "from vidgate._files import place\n"
        "from vidgate.batch import run_batch, _prepare\n"
        "def f() -> None:\n"
        "    errors.NotFoundError\n"
        "    errors._BY_STATUS\n"
    )
    problems = [_private_use(m, n) for m, n in _library_names(module)]
    assert [p for p in problems if p] == [
        "vidgate._files is a private module",
        "vidgate.batch._prepare is not in its __all__",
        "vidgate.errors._BY_STATUS is not in its __all__",
    ]
