"""The static look at answers that name the answer key (mnistlib.grading.answer_key, issue 23)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from mnistlib.grading import answer_key
from mnistlib.grading.diagnose import scan_tampering

REPO = Path(__file__).resolve().parents[2]
ISSUE_CELL = (
    "def flatten_images(images):\n"
    "    from mnistlib.checks import reshaping as _r\n"
    "    return _r.reference(images)\n"
)


def notebook_02(answer: str, *extra: str):
    """Notebook 02's worked solution with the answer cell of flatten_images replaced, and cells added before it."""
    nb = nbformat.read(REPO / "solutions" / "02-reshaping.ipynb", as_version=4)
    index = next(
        i
        for i, c in enumerate(nb.cells)
        if c.metadata.get("nbgrader", {}).get("grade_id") == "flatten_images"
    )
    nb.cells[index].source = answer
    for code in reversed(extra):
        nb.cells.insert(index, nbformat.v4.new_code_cell(code))
    return nb


@pytest.mark.parametrize(
    "notebook", sorted(REPO.glob("solutions/*.ipynb")) + sorted(REPO.glob("course/release/*/*.ipynb"))
)
def test_no_honest_notebook_of_the_course_is_flagged(notebook):
    assert answer_key.scan(nbformat.read(notebook, as_version=4)) == {}


@pytest.mark.parametrize(
    ("code", "named"),
    [
        (ISSUE_CELL, "imports `mnistlib.checks`"),
        ("import mnistlib.checks.reshaping as r", "imports `mnistlib.checks.reshaping`"),
        ("from mnistlib import checks", "imports `mnistlib.checks`"),
        ("import mnistlib\nf = mnistlib.checks", "uses `mnistlib.checks`"),
        ("import importlib\nimportlib.import_module('mnistlib.checks.reshaping')", "names `mnistlib.checks`"),
        (
            "open('/x/site-packages/mnistlib/course_files/source/02-reshaping/02-reshaping.ipynb')",
            "names `source`",
        ),
        ("open('../solutions/02-reshaping.ipynb')", "names `solutions`"),
        ("text.split('### BEGIN SOLUTION')", "names `BEGIN SOLUTION`"),
        ("from mnistlib.course import COURSE", "imports `mnistlib.course`"),
    ],
)
def test_what_names_the_key(code, named):
    assert named in answer_key.reaches(code)


def test_honest_code_names_nothing():
    assert (
        answer_key.reaches(
            "import numpy as np\nx = np.zeros(3)\nprint('all checks pass', 'the source of truth')"
        )
        == []
    )


def test_the_issues_cell_scores_zero_with_a_note():
    nb = notebook_02(ISSUE_CELL)
    assert answer_key.scan(nb) == {
        "flatten_images": f"cell {_answer_index(nb) + 1} imports `mnistlib.checks`"
    }
    notes = [n["message"] for n in scan_tampering(nb, nb) if n["kind"] == "answer-key"]
    assert len(notes) == 1 and "`flatten_images`" in notes[0] and "scores 0" in notes[0]


def test_a_helper_bound_to_the_key_in_another_cell_taints_the_answer():
    nb = notebook_02(
        "def flatten_images(images):\n    return _ref(images)\n",
        "import importlib\n_ref = importlib.import_module('mnistlib.checks.reshaping').reference\n",
    )
    assert "uses `_ref`" in answer_key.scan(nb)["flatten_images"]


def test_a_scratch_cell_that_names_the_key_is_noted_but_spares_other_answers():
    """A cell that is not an answer and binds nothing an answer uses: the answers keep their points."""
    nb = notebook_02(
        nbformat.read(REPO / "solutions" / "02-reshaping.ipynb", as_version=4)
        .cells[_answer_index(notebook_02("x"))]
        .source,
        "from mnistlib.checks.reshaping import check_flatten_images\n",
    )
    assert answer_key.scan(nb) == {}
    (note,) = answer_key.notes(nb)
    assert (
        "imports `mnistlib.checks.reshaping`" in note["message"]
        and "no exercise lost points" in note["message"]
    )


def _answer_index(nb) -> int:
    return next(
        i
        for i, c in enumerate(nb.cells)
        if c.metadata.get("nbgrader", {}).get("grade_id") == "flatten_images"
    )
