"""No import circle between any two modules: an import-linter contract type, and the check itself.

import-linter's own ``acyclic_siblings`` compares siblings only, so a package's ``__init__`` and a
module inside it importing each other (``vidgate.cli`` registering ``vidgate.cli.batch``, which
takes helpers back from ``vidgate.cli``) passes it. ``cycles`` looks at every module as a node of
its own: imports inside functions and under TYPE_CHECKING count like any other (grimp's graph).
pyproject.toml registers the contract type as ``acyclic_modules``; tests/test_layers.py uses
``cycles`` on the same graph.
"""

from __future__ import annotations

from collections.abc import Iterable

import grimp
from importlinter.application import contract_utils, output
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck

__all__ = ["AcyclicModulesContract", "cycles"]


def cycles(graph: grimp.ImportGraph, modules: Iterable[str] | None = None) -> list[list[str]]:
    """Every import circle among ``modules`` (default: all of the graph's), each as the sorted
    modules of one strongly connected component; a module importing itself is not a circle."""
    nodes = sorted(graph.modules if modules is None else modules)
    inside = set(nodes)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in nodes:  # Tarjan's algorithm, iterative (no recursion limit to meet)
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & inside)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    targets = graph.find_modules_directly_imported_by(step) & inside
                    work.append((step, iter(sorted(targets))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _imports_within(graph: grimp.ImportGraph, component: list[str]) -> list[str]:
    """The imports that make up a circle, as ``importer -> imported (l.N)`` lines."""
    lines = []
    members = set(component)
    for importer in component:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            if imported == importer:
                continue
            details = graph.get_import_details(importer=importer, imported=imported)
            where = ", ".join(f"l.{d['line_number']}" for d in details)
            lines.append(f"{importer} -> {imported} ({where})")
    return lines


class AcyclicModulesContract(Contract):
    """No circle of imports between any modules of the root packages, parents included."""

    type_name = "acyclic_modules"

    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(AlertLevel, default=AlertLevel.ERROR)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=self.unmatched_ignore_imports_alerting,  # type: ignore[arg-type]
        )
        found = cycles(graph)
        return ContractCheck(
            kept=not found,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"cycles": [(c, _imports_within(graph, c)) for c in found]},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for component, lines in check.metadata["cycles"]:
            output.print_error(f"Import circle through {', '.join(component)}:")
            output.new_line()
            for line in lines:
                output.print_error(f"- {line}", bold=False)
            output.new_line()
