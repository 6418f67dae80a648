"""`mnistlib grade` on the real course: solutions full marks, releases zero, planted bugs cost exactly their points.

Uses the committed generated files (``solutions/<id>.ipynb``, ``course/release/<id>/<id>.ipynb``;
a drift test keeps them equal to the sources). One class run of the command grades,
for every assignment, three "students": the solution, the untouched release, and
the solution with a planted bug in every other exercise (the function returns None
while its own test runs, and is put back right after it, so later cells are not
affected). The planted notebook must lose exactly the bugged exercises' points.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import nbformat
import pytest
from grading.runs import mnistlib_grade, results_of

from mnistlib.grading import diagnose

REPO = Path(__file__).resolve().parents[2]
# MNISTLIB_GENERATED=DIR grades DIR/solutions and DIR/release (e.g. from mnistlib.course.build) instead
GENERATED = os.environ.get("MNISTLIB_GENERATED")
SOLUTIONS = Path(GENERATED) / "solutions" if GENERATED else REPO / "solutions"
RELEASE = Path(GENERATED) / "release" if GENERATED else REPO / "course" / "release"
IDS = sorted(p.stem for p in SOLUTIONS.glob("*.ipynb")) if SOLUTIONS.is_dir() else []
IDS = [a for a in IDS if (RELEASE / a / f"{a}.ipynb").is_file()]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not IDS, reason="no generated solutions/ and course/release/ yet (mnistlib course build)"
    ),
]


def plant_bugs(notebook, every: int = 2) -> list[str]:
    """Bug every ``every``-th exercise (1st, 3rd, ...) of ``notebook`` for its test only; return their names."""
    planted = []
    tests = [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    for number, test in enumerate(tests):
        if number % every:
            continue
        function = diagnose.exercise_name(test.metadata["nbgrader"]["grade_id"])
        index = notebook.cells.index(test)
        before = nbformat.v4.new_code_cell(
            f"_planted_{function} = {function}\n\n\ndef {function}(*args, **kwargs):  # planted bug\n    return None"
        )
        after = nbformat.v4.new_code_cell(f"{function} = _planted_{function}")
        notebook.cells[index + 1 : index + 1] = [after]
        notebook.cells[index:index] = [before]
        planted.append(function)
    return planted


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course-class")
    planted = {}
    for assignment in IDS:
        for student, source in (
            ("solution", SOLUTIONS / f"{assignment}.ipynb"),
            ("release", RELEASE / assignment / f"{assignment}.ipynb"),
        ):
            target = tmp / "submitted" / student / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
        notebook = nbformat.read(SOLUTIONS / f"{assignment}.ipynb", as_version=4)
        planted[assignment] = plant_bugs(notebook)
        target = tmp / "submitted" / "planted" / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
    done = mnistlib_grade(
        tmp / "submitted", "--jobs", "2", "--json", "--csv", tmp / "grades.csv", timeout=1800
    )
    return done, {(r["student"], r["assignment"]): r for r in results_of(done)}, planted, tmp


def test_the_class_command_fails_because_not_everyone_has_full_marks(graded):
    done, results, _, _ = graded
    assert done.returncode == 1
    assert len(results) == 3 * len(IDS)


@pytest.mark.parametrize("assignment", IDS)
def test_solution_gets_full_marks_without_notes(graded, assignment):
    _, results, _, _ = graded
    result = results["solution", assignment]
    assert result["error"] is None and result["max_score"] > 0
    assert result["score"] == result["max_score"], result["exercises"]
    assert result["notes"] == []


@pytest.mark.parametrize("assignment", IDS)
def test_untouched_release_gets_zero_with_a_message_per_exercise(graded, assignment):
    _, results, _, _ = graded
    result = results["release", assignment]
    assert result["error"] is None and result["score"] == 0 and result["max_score"] > 0
    assert all(e["score"] == 0 and e["message"] for e in result["exercises"]), result["exercises"]


@pytest.mark.parametrize("assignment", IDS)
def test_a_planted_bug_loses_exactly_its_exercise(graded, assignment):
    _, results, planted, _ = graded
    result = results["planted", assignment]
    lost = {e["name"] for e in result["exercises"] if e["score"] < e["max_score"]}
    assert lost == set(planted[assignment]), result["exercises"]
    for e in result["exercises"]:
        assert e["score"] in (0, e["max_score"])


def test_the_csv_has_a_row_per_student_and_assignment(graded):
    _, results, _, tmp = graded
    rows = list(csv.DictReader((tmp / "grades.csv").open()))
    got = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    assert got == {key: r["score"] for key, r in results.items()}
