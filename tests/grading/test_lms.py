"""Canvas's gradebook CSV (`--lms canvas`): columns that target existing assignments, no false 0.

Canvas's import matches a column to an existing assignment by the id its own export writes in the
header, ``Title (123456)``; ``--canvas-assignment`` names it per notebook. A notebook the grader
could not grade (a result with ``error``, as a kernel that never answered leaves) must stay blank,
be named on stderr and make the command fail: a 0 there would fail a learner for the grader's
fault. `mnistlib grade merge` is run for real on a shard results file (the format
`--shard` writes, built with :func:`shards.shard_payload`); grading itself is tested in
test_shards.py, whose merge block writes the guide's Canvas CSV.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from mnistlib.grading import lms
from mnistlib.grading import shards as grading_shards

A, B = "01-loading-data", "02-reshaping"


def result(student: str, assignment: str, score: float, max_score: float, error: str | None = None) -> dict:
    return {
        "student": student,
        "assignment": assignment,
        "path": f"submitted/{student}/{assignment}/{assignment}.ipynb",
        "score": score if not error else 0.0,
        "max_score": max_score if not error else 0.0,
        "exercises": [],
        "notes": [],
        "error": error,
    }


RESULTS = [
    result("ada", A, 3.0, 3.0),
    result("ada", B, 1.0, 2.0),
    result("bob", A, 0.0, 3.0, error="the kernel never answered: gave up after 2 kernels"),
    result("bob", B, 2.0, 2.0),
    result("cy", A, 0.0, 3.0),  # a real 0: graded, every test failed
    result("=HYPERLINK(evil)", A, 3.0, 3.0),  # a student id a spreadsheet would run
]


def shard_file(folder: Path, results: list[dict]) -> Path:
    jobs = [{k: r[k] for k in ("student", "assignment", "path")} for r in results]
    payload = grading_shards.shard_payload(1, 1, jobs, jobs, results, [A, B])
    path = folder / "mnistlib-shard-1-of-1.json"
    grading_shards.write_json_atomic(path, payload)
    return path


def merge(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mnistlib", "grade", "merge", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def read(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_named_columns_target_canvas_assignments_and_ungraded_cells_stay_blank():
    columns = lms.canvas_columns([f"{A}=Loading data (123456)", f'{B}= "Reshaping" (654321)'], [A, B])
    rows = lms.canvas_rows(RESULTS, [A, B], columns)
    assert rows[0] == [*lms.CANVAS_IDENTITY, "Loading data (123456)", '"Reshaping" (654321)']
    assert rows[1] == [lms.CANVAS_POINTS_ROW, "", "", "", "", "3", "2"]
    by_login = {row[3]: row[5:] for row in rows[2:]}
    assert by_login["ada"] == ["3", "1"]
    assert by_login["bob"] == ["", "2"], "not graded: blank, never 0"
    assert by_login["cy"] == ["0", "0"], "a real 0, and work not handed in, are 0"
    assert by_login["'=HYPERLINK(evil)"] == ["3", "0"], "a formula is neutralised"
    assert lms.ungraded(RESULTS) == [
        f"bob: {A} could not be graded (the kernel never answered: gave up after 2 kernels); "
        "its Canvas cell is left blank, not 0: grade it again"
    ]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_would_start_a_formula_are_neutralised(value):
    assert lms.csv_cell(value) == "'" + value
    assert lms.csv_cell("ada") == "ada" and lms.csv_cell("    Points Possible") == "    Points Possible"


@pytest.mark.parametrize(
    "pairs, words",
    [
        (["Reshaping (123456)"], 'write it as ASSIGNMENT="Canvas title (id)"'),
        ([f"{A}="], 'write it as ASSIGNMENT="Canvas title (id)"'),
        (["10-transformers=T (1)"], "no assignment 10-transformers in the course"),
        ([f"{A}=X (1)", f"{A}=Y (2)"], f"names {A} twice"),
        ([f"{A}=X (1)", f"{B}=X (1)"], "the column 'X (1)' is already taken"),
        ([f"{A}=Student"], "the column 'Student' is already taken"),
    ],
)
def test_a_wrong_canvas_assignment_is_named(pairs, words):
    with pytest.raises(lms.LmsError) as caught:
        lms.canvas_columns(pairs, [A, B])
    assert words in str(caught.value)


def test_merge_writes_named_columns_leaves_ungraded_blank_and_fails(tmp_path):
    shard = shard_file(tmp_path, RESULTS)
    done = merge(
        shard,
        "--lms",
        "canvas",
        "--csv",
        "canvas-grades.csv",
        "--canvas-assignment",
        f"{A}=Loading data (123456)",
        "--canvas-assignment",
        f"{B}=Reshaping",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert f"error: bob: {A} could not be graded (the kernel never answered" in done.stderr
    assert "note: the Canvas column 'Reshaping' has no assignment id" in done.stderr
    rows = read(tmp_path / "canvas-grades.csv")
    assert rows[0][5:] == ["Loading data (123456)", "Reshaping"]
    assert {row[3]: row[5] for row in rows[2:]}["bob"] == ""
    graded = [r for r in RESULTS if not r["error"]]
    (tmp_path / "all-graded").mkdir()
    done = merge(shard_file(tmp_path / "all-graded", graded), "--lms", "canvas", cwd=tmp_path / "all-graded")
    assert done.returncode == 0 and done.stderr == ""
    assert read(tmp_path / "all-graded" / "mnistlib-grades.csv")[0][5:] == [A, B]


def test_merge_refuses_a_wrong_mapping_before_writing(tmp_path):
    shard = shard_file(tmp_path, RESULTS)
    done = merge(shard, "--lms", "canvas", "--canvas-assignment", "02-reshaping", cwd=tmp_path)
    assert done.returncode == 2 and "write it as ASSIGNMENT=" in done.stderr
    done = merge(shard, "--canvas-assignment", f"{A}=Loading data (123456)", cwd=tmp_path)
    assert done.returncode == 2 and "use it with --lms canvas" in done.stderr
    assert not (tmp_path / "mnistlib-grades.csv").exists()


def grade_class(tmp_path: Path, *args) -> subprocess.CompletedProcess:
    solution = Path(__file__).resolve().parents[2] / "solutions" / f"{A}.ipynb"
    target = tmp_path / "submitted" / "ada" / A / f"{A}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(solution.read_bytes())
    return subprocess.run(
        [sys.executable, "-m", "mnistlib", "grade", "submitted", "--lms", "canvas", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_grading_a_class_refuses_a_wrong_mapping_before_grading(tmp_path):
    done = grade_class(tmp_path, "--canvas-assignment", "01-loading-data:Loading data (123456)")
    assert done.returncode == 2 and "write it as ASSIGNMENT=" in done.stderr
    assert "TOTAL" not in done.stdout and not (tmp_path / "mnistlib-grades.csv").exists()


@pytest.mark.slow
def test_grading_a_class_writes_the_named_canvas_column(tmp_path):
    if grading_sandbox_problem():
        pytest.skip(f"a class is graded only in the sandbox: {grading_sandbox_problem()}")
    done = grade_class(
        tmp_path, "--csv", "canvas-grades.csv", "--canvas-assignment", f"{A}=Loading data (123456)"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = read(tmp_path / "canvas-grades.csv")
    assert rows[0][5:] == ["Loading data (123456)"] and rows[1][5:] == ["3"]
    assert rows[2] == ["ada", "", "", "ada", "", "3"]


def grading_sandbox_problem() -> str | None:
    from mnistlib.grading import sandbox

    return sandbox.problem()
