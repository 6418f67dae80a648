"""The house drawn from the code: mnistlib's import graph has no circle.

Every ``import`` and ``from ... import`` of every module of mnistlib is read with :mod:`ast`,
including the ones inside functions (an import moved into a function to break a circle at run
time still ties the two modules together), and the graph of module -> module it imports must be
acyclic. docs/architecture.md draws the layers this leaves.
"""

from __future__ import annotations

import ast
import functools
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import mnistlib

PACKAGE = Path(mnistlib.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for p in sorted(PACKAGE.rglob("*.py"))
        if "course_files" not in p.parts and not p.relative_to(PACKAGE).parts[0].startswith(".")
    }


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The mnistlib modules ``name`` imports (a name imported from a package counts as its module
    when it is one, else as the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names] + [source]
            targets = [t for t in targets if t in known] or [source]
            if len(targets) > 1:  # `from . import a, b`: the submodules, not the package as well
                targets = [t for t in targets if t != source]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


@functools.cache
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def test_the_import_graph_has_no_circle():
    try:
        order = list(TopologicalSorter(graph()).static_order())
    except CycleError as error:
        raise AssertionError(f"an import circle: {' -> '.join(error.args[1])}") from None
    assert "mnistlib" in order


def test_the_graph_reader_sees_imports_inside_functions_and_relative_ones():
    edges = graph()
    assert "mnistlib.grading.worker" in edges["mnistlib.grading.command"]  # imported inside run_jobs
    assert "mnistlib.files" in edges["mnistlib.progress"]
    assert "mnistlib.exercises" in edges["mnistlib.checks"]


def test_docs_architecture_names_every_module():
    """docs/architecture.md draws the house: it names every module (``grading.sandbox`` for
    mnistlib.grading.sandbox; ``checks.<topic>`` for the topic modules of a package), so a new
    module is placed in the drawing when it is added."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()

    def placed(name: str) -> bool:
        short = name.removeprefix("mnistlib.")
        package = short.rpartition(".")[0]
        return short in text or bool(package and f"{package}.<topic>" in text)

    missing = [name for name in modules() if name != "mnistlib" and not placed(name)]
    assert missing == [], f"docs/architecture.md does not place {missing}"
