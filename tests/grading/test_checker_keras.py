"""Which grading runs' checker server goes without TensorFlow (mnistlib.grading.forkserver.checks_need_keras).

The run itself is tested in tests/grading/test_forkserver.py (slow); here the decision, from the
course's source notebooks and the checks modules, and the instructor guide's sentence naming them.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from mnistlib.course import assignment_ids
from mnistlib.grading import command, forkserver, sandbox

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "course" / "source"


def _source(assignment: str):
    return nbformat.read(SOURCE / assignment / f"{assignment}.ipynb", 4)


def _numbered(text: str) -> set[str]:
    """ "01-03, 06 and 08" -> {"01", "02", "03", "06", "08"}"""
    found = set()
    for first, last in re.findall(r"(\d\d)(?:-(\d\d))?", text):
        found |= {f"{n:02d}" for n in range(int(first), int(last or first) + 1)}
    return found


def test_a_notebook_whose_checks_import_no_keras_needs_none_in_its_checker():
    for assignment in assignment_ids():
        notebook = _source(assignment)
        tests = "\n".join(
            c.source
            for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
        )
        topics = set(re.findall(r"mnistlib\.checks\.(\w+)", tests))
        assert topics, f"{assignment}: no checks module named in its test cells"
        uses = {
            t
            for t in topics
            if re.search(
                r"^\s*(import|from)\s+(keras|tensorflow|\._keras)\b",
                (REPO / "mnistlib" / "checks" / f"{t}.py").read_text(),
                re.MULTILINE,
            )
        }
        assert forkserver.checks_need_keras(notebook) == bool(uses), (assignment, topics, uses)


def test_a_test_cell_importing_keras_itself_gets_it_preloaded():
    notebook = _source("02-reshaping")
    assert not forkserver.checks_need_keras(notebook)
    (cell,) = [
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_flatten_images"
    ]
    cell.source = "import keras\n" + cell.source
    assert forkserver.checks_need_keras(notebook)
    cell.source = "    from tensorflow import keras\n" + cell.source
    assert forkserver.checks_need_keras(notebook)


def test_a_checks_module_that_cannot_be_read_counts_as_needing_keras():
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("from mnistlib.checks.no_such_topic import check_it"))
    notebook.cells[0].metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    assert forkserver.checks_need_keras(notebook)


def test_a_run_preloads_keras_when_one_assignment_needs_it_and_for_unsandboxed_learners():
    course = REPO / "course"
    assert not command.server_needs_keras(course, ["01-loading-data", "02-reshaping"], sandbox=True)
    assert command.server_needs_keras(course, ["02-reshaping", "04-building-the-network"], sandbox=True)
    # without the sandbox the same server forks the learners' kernels: 02's notebook imports Keras
    assert sandbox.needs_keras(_source("02-reshaping"))
    assert command.server_needs_keras(course, ["02-reshaping"], sandbox=False)
    assert not command.server_needs_keras(
        course, ["01-loading-data", "08-gradient-descent-by-hand"], sandbox=False
    )
    assert command.server_needs_keras(
        course, ["no-such-assignment"], sandbox=True
    )  # unreadable: the safe side


def test_the_instructor_guide_names_the_notebooks_whose_checker_goes_without_tensorflow():
    guide = " ".join((REPO / "docs" / "instructor.md").read_text().split())
    found = re.search(r"whose checks are NumPy code, notebooks ([\d, and-]+), goes without", guide)
    assert found, "docs/instructor.md no longer names the notebooks whose checker server skips TensorFlow"
    numpy_only = {a[:2] for a in assignment_ids() if not forkserver.checks_need_keras(_source(a))}
    assert _numbered(found.group(1)) == numpy_only
