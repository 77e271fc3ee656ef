"""The packages form the one-way graph of coord/PLAN.md (issue 12), and no module imports
itself back through others. Read from the source with `ast`: an import inside a function
counts as much as one at the top; one under `if TYPE_CHECKING:` never runs and does not."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "config", "bots", "runtime", "jobs", "web", "commands")
ALLOWED = {
    "core": set(),
    "config": {"core"},
    "bots": {"core", "config"},
    "runtime": {"config", "core", "bots"},
    "jobs": {"runtime", "core", "bots", "config"},
    "web": {"runtime", "jobs", "core", "bots", "config"},
    "commands": {"core", "config", "bots", "runtime", "jobs", "web"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except what sits under `if TYPE_CHECKING:` (types only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _imported(name: str, tree: ast.AST) -> set[str]:
    """Our modules that importing `name` runs: each one named, and the packages above it
    (their __init__ runs first), unless `name` itself is inside that package already."""
    targets: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                targets.add(full if full in MODULES else node.module)
    ran = set()
    for target in targets:
        if target.split(".")[0] not in PACKAGES:
            continue
        parts = target.split(".")
        for depth in range(1, len(parts) + 1):
            ancestor = ".".join(parts[:depth])
            inside = name == ancestor or name.startswith(ancestor + ".")
            if ancestor in MODULES and ancestor != name and (depth == len(parts) or not inside):
                ran.add(ancestor)
    return ran


GRAPH = {name: _imported(name, ast.parse(path.read_text())) for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_every_package_is_read():
    assert {name.split(".")[0] for name in MODULES} == set(PACKAGES)


def test_packages_import_only_what_the_plan_allows():
    wrong = sorted(f"{name} imports {target}" for name, targets in GRAPH.items()
                   for target in targets
                   if target.split(".")[0] != name.split(".")[0]
                   and target.split(".")[0] not in ALLOWED[name.split(".")[0]])
    assert wrong == []


def test_the_package_graph_is_acyclic():
    packages: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for name, targets in GRAPH.items():
        packages[name.split(".")[0]].update(t.split(".")[0] for t in targets)
    for package, targets in packages.items():
        targets.discard(package)
    assert _cycle(packages) is None


def test_no_module_imports_itself_back():
    assert _cycle(GRAPH) is None


@pytest.mark.parametrize(("graph", "expected"), [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _cycle(graph) == expected


def test_lazy_imports_count_and_type_only_ones_do_not():
    tree = ast.parse("from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from web import app\n"
                     "def later():\n    from jobs import poll\n")
    assert _imported("core.example", tree) == {"jobs", "jobs.poll"}
