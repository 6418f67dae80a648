"""Run a source notebook's nbgrader cells against any implementation, from a test.

The autograded test cells of the instructor notebooks (``course/source``) are
code in JSON. These helpers find a cell by its nbgrader ``grade_id``, drop the
``### BEGIN/END SOLUTION`` and ``### BEGIN/END HIDDEN TESTS`` marker lines and
execute it in a fresh namespace, so a test can check that the cell passes on the
solution and fails on each wrong version a learner might write::

    from notebook_cells import run_test_cell, run_hidden_tests

    run_test_cell(NOTEBOOK, "test_get_digit", get_digit=reference_get_digit)   # passes
    with pytest.raises(CheckFailed, match="count from 1"):
        run_hidden_tests(NOTEBOOK, "test_get_digit", get_digit=off_by_one)   # hidden part alone

``run_answer_cell`` executes an answer cell (the solution) and returns its
namespace, ``same_function`` tells whether a function in a test file is the
notebook's solution, compared as code (formatting and comments ignored), and
``docstring_sentences`` splits an exercise's docstring (its contract) into sentences.

(Import the functions by name freely: they are marked ``__test__ = False`` so
pytest does not collect ``test_cell_source`` as a test.)
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import textwrap
from pathlib import Path

from mnistlib.markers import hidden_region, strip_marker_lines


def cell_by_grade_id(notebook_path, grade_id: str) -> dict:
    """The cell (a dict from the notebook JSON) whose nbgrader metadata has this ``grade_id``."""
    notebook = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    found = [
        cell
        for cell in notebook["cells"]
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id
    ]
    if len(found) != 1:
        raise LookupError(
            f"{notebook_path}: expected one cell with grade_id {grade_id!r}, found {len(found)}"
        )
    return found[0]


def raw_source(notebook_path, grade_id: str) -> str:
    """The cell's source exactly as stored, markers included."""
    source = cell_by_grade_id(notebook_path, grade_id)["source"]
    return "".join(source) if isinstance(source, list) else source


def strip_markers(source: str) -> str:
    """The source without nbgrader's solution and hidden-test marker lines (what they enclose stays)."""
    return strip_marker_lines(source)


def test_cell_source(notebook_path, grade_id: str) -> str:
    """The whole source of the cell ``grade_id`` (visible and hidden parts), markers stripped."""
    return strip_markers(raw_source(notebook_path, grade_id))


def hidden_tests_source(notebook_path, grade_id: str) -> str:
    """Only the code between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` of the cell."""
    hidden = hidden_region(raw_source(notebook_path, grade_id))
    if hidden is None:
        raise LookupError(f"{notebook_path}: cell {grade_id!r} has no hidden tests")
    return textwrap.dedent(hidden)


def _run(source: str, label: str, namespace: dict) -> dict:
    scope = {"__name__": "__notebook_cell__", **namespace}
    exec(compile(source, label, "exec"), scope)  # running the course's own cells is the point
    return scope


def run_test_cell(notebook_path, grade_id: str, **namespace) -> dict:
    """Execute the whole cell ``grade_id`` with ``namespace`` bound (e.g. ``get_digit=my_version``).

    Returns the namespace after execution; exceptions from the cell (e.g.
    ``CheckFailed``) propagate to the caller.
    """
    label = f"<{Path(notebook_path).name}:{grade_id}>"
    return _run(test_cell_source(notebook_path, grade_id), label, namespace)


def run_hidden_tests(notebook_path, grade_id: str, **namespace) -> dict:
    """Execute only the hidden tests of cell ``grade_id`` (they must import what they use themselves)."""
    label = f"<{Path(notebook_path).name}:{grade_id}:hidden>"
    return _run(hidden_tests_source(notebook_path, grade_id), label, namespace)


def run_answer_cell(notebook_path, grade_id: str, **namespace) -> dict:
    """Execute the answer cell ``grade_id`` (the solution, markers stripped); return its namespace."""
    label = f"<{Path(notebook_path).name}:{grade_id}:answer>"
    return _run(test_cell_source(notebook_path, grade_id), label, namespace)


def _function_def(source: str, name: str) -> str:
    tree = ast.parse(textwrap.dedent(source))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.dump(node, include_attributes=False)
    raise LookupError(f"no function {name!r} in the given source")


SENTENCE_END = re.compile(r"(?<!e\.g\.)(?<!i\.e\.)(?<=\.)\s+")


def docstring_sentences(notebook_path, grade_id: str) -> list[str]:
    """The sentences of the docstring of function ``grade_id`` in its answer cell, whitespace collapsed.

    A sentence ends at a full stop followed by white space (not after "e.g." or "i.e."), so a parameter's
    line such as ``rate: the probability of dropping each entry, 0 <= rate < 1.`` is one sentence.
    """
    tree = ast.parse(textwrap.dedent(test_cell_source(notebook_path, grade_id)))
    functions = [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == grade_id
    ]
    if len(functions) != 1:
        raise LookupError(f"{notebook_path}: no function {grade_id!r} in its answer cell")
    text = " ".join((ast.get_docstring(functions[0]) or "").split())
    return [sentence for sentence in SENTENCE_END.split(text) if sentence]


def same_function(fn, notebook_path, grade_id: str | None = None) -> bool:
    """Whether ``fn`` has the same code as the function of that name in the notebook's answer cell."""
    name = fn.__name__
    notebook_def = _function_def(test_cell_source(notebook_path, grade_id or name), name)
    return _function_def(inspect.getsource(fn), name) == notebook_def


for _helper in (test_cell_source, run_test_cell, run_hidden_tests, run_answer_cell, same_function):
    _helper.__test__ = False
