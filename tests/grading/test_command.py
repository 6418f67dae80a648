"""Fast tests of the grader's pieces (no kernel): finding submissions, diagnosing them, reporting."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from mnistlib.grading import command as grading
from mnistlib.grading import diagnose
from mnistlib.grading.preprocessors import HIDDEN_NOTE, hide_hidden_region

FIXTURES = Path(__file__).parent / "fixtures"
COURSE = FIXTURES / "course"
SUBMITTED = FIXTURES / "class" / "submitted"
SOURCE = diagnose.read_notebook(COURSE / "source" / "toy" / "toy.ipynb")


def submission(student: str) -> Path:
    return SUBMITTED / student / "toy" / "toy.ipynb"


def kinds(notes: list[dict]) -> list[str]:
    return [n["kind"] for n in notes]


def test_hidden_region_is_replaced_by_a_note_and_visible_code_is_kept():
    source = "check(f)\n### BEGIN HIDDEN TESTS\nsecret(f, 42)\n### END HIDDEN TESTS\nprint('done')"
    hidden = hide_hidden_region(source)
    assert "secret" not in hidden and "BEGIN" not in hidden
    assert hidden.splitlines() == ["check(f)", HIDDEN_NOTE, "print('done')"]


@pytest.mark.parametrize(
    ("student", "says"),
    [("empty-file", "is empty"), ("not-json", "not valid JSON (line 1")],
)
def test_unreadable_submissions_get_a_reason_not_a_crash(student, says):
    notebook, problem = diagnose.read_submission(submission(student))
    assert notebook is None
    assert problem["kind"] == "unreadable" and says in problem["message"]


def test_json_that_is_not_a_notebook_is_named(tmp_path):
    path = tmp_path / "toy.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "nope"}))
    notebook, problem = diagnose.read_submission(path)
    assert notebook is None and "not a valid Jupyter notebook" in problem["message"]


def test_empty_notebook_keeps_the_kernelspec_so_nbgrader_can_run_it():
    empty = diagnose.empty_like(SOURCE)
    assert empty["cells"] == [] and empty["metadata"]["kernelspec"]["name"] == "python3"


def test_source_structure_lists_exercises_in_order_with_points():
    assert diagnose.test_ids(SOURCE) == ["test_add_one", "test_scale_pixels", "test_count_label"]
    assert diagnose.points(SOURCE) == {"test_add_one": 1.0, "test_scale_pixels": 2.0, "test_count_label": 1.0}
    assert diagnose.exercise_name("test_scale_pixels") == "scale_pixels"


@pytest.mark.parametrize(
    ("student", "expected"),
    [
        ("solution", []),
        ("deleted-answer", ["deleted-answer"]),
        ("deleted-test", ["deleted-test"]),
        ("deleted-both", ["deleted-answer", "deleted-test"]),
        ("edited-test", ["edited-test"]),
    ],
)
def test_comparison_with_the_source_names_deleted_and_edited_cells(student, expected):
    notebook, _ = diagnose.read_submission(submission(student))
    assert kinds(diagnose.compare_with_source(notebook, SOURCE)) == expected


def test_a_test_cell_as_the_solutions_show_it_is_not_called_edited():
    notebook, _ = diagnose.read_submission(submission("solution"))
    for cell, original in zip(notebook.cells, SOURCE.cells, strict=True):
        if original.metadata.get("nbgrader", {}).get("grade"):  # hidden tests in, marker lines out
            cell.source = "\n".join(
                line for line in original.source.splitlines() if "HIDDEN TESTS" not in line
            )
    assert diagnose.compare_with_source(notebook, SOURCE) == []


def test_monkeypatching_a_check_helper_is_reported():
    notebook, _ = diagnose.read_submission(submission("monkeypatch"))
    notes = diagnose.scan_tampering(notebook, SOURCE)
    # patching mnistlib.checks names the answer key's module too: both are said
    assert set(kinds(notes)) == {"tampering", "answer-key"}
    text = " ".join(n["message"] for n in notes if n["kind"] == "tampering")
    assert "checks.expect_equal" in text and "setattr" in text


def test_shadowing_a_name_the_tests_import_is_reported():
    notebook, _ = diagnose.read_submission(submission("solution"))
    notebook.cells.append(nbformat.v4.new_code_cell("def expect_equal(*args, **kwargs):\n    pass"))
    notes = diagnose.scan_tampering(notebook, SOURCE)
    assert kinds(notes) == ["tampering"] and "`expect_equal`" in notes[0]["message"]


def test_redefinition_after_the_test_is_reported_and_ordinary_code_is_not():
    redefined, _ = diagnose.read_submission(submission("redefined"))
    notes = diagnose.scan_tampering(redefined, SOURCE)
    assert kinds(notes) == ["redefined"] and "`add_one` is defined again" in notes[0]["message"]
    clean, _ = diagnose.read_submission(submission("solution"))
    assert diagnose.scan_tampering(clean, SOURCE) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [("toy.ipynb", "toy"), ("my homework (1).ipynb", "toy")],
)
def test_a_notebook_is_matched_to_its_assignment_by_name_or_by_its_test_cells(tmp_path, name, expected):
    path = tmp_path / name
    path.write_bytes(submission("solution").read_bytes())
    assert grading.identify(path, grading.course_assignments(COURSE)) == expected


def test_a_notebook_of_no_assignment_gives_a_clear_problem(tmp_path):
    stranger = tmp_path / "holiday-photos.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), stranger)
    jobs, problems, is_class = grading.find_jobs([stranger], grading.course_assignments(COURSE))
    assert jobs == [] and not is_class
    assert "cannot tell which assignment" in problems[0] and "toy.ipynb" in problems[0]


def test_a_class_folder_gives_one_job_per_student():
    jobs, problems, is_class = grading.find_jobs([SUBMITTED.parent], grading.course_assignments(COURSE))
    assert is_class and problems == []
    assert {j["student"] for j in jobs} == {p.name for p in SUBMITTED.iterdir()}
    assert {j["assignment"] for j in jobs} == {"toy"}


def test_the_slowest_assignments_are_taken_first_and_kept_together():
    assignments = grading.course_assignments(grading.COURSE)
    cost = {a: grading.grading_cost(grading.COURSE, a) for a in assignments}
    assert cost["01-loading-data"] == cost["08-gradient-descent-by-hand"] == 2  # estimated: no Keras training
    assert cost["06-diagnosing-overfitting"] > 2 and cost["09-going-further"] > 2
    jobs = [{"student": s, "assignment": a, "path": "x"} for a in sorted(assignments) for s in ("bo", "ada")]
    ordered = grading.order_jobs(jobs, cost.get)
    assert sorted(map(str, ordered)) == sorted(map(str, jobs))  # nothing lost, nothing doubled
    costs = [cost[j["assignment"]] for j in ordered]
    assert costs == sorted(costs, reverse=True)
    names = [j["assignment"] for j in ordered]
    assert all(names.count(a) == 2 and names[names.index(a) + 1] == a for a in assignments)


def test_the_order_follows_how_long_each_assignment_took_last_time(tmp_path):
    timings = tmp_path / "cache" / grading.TIMINGS_FILE
    assert grading.remembered_seconds(timings) == {}, "nothing remembered yet"
    results = [
        {"student": "ada", "assignment": "08-gradient-descent-by-hand", "seconds": 30.0, "error": None},
        {"student": "bo", "assignment": "08-gradient-descent-by-hand", "seconds": 20.0, "error": None},
        {"student": "cy", "assignment": "08-gradient-descent-by-hand", "seconds": 99.0, "error": None},
        {"student": "ada", "assignment": "01-loading-data", "error": "the grading worker failed"},
    ]
    grading.remember_seconds(results, timings)
    remembered = grading.remembered_seconds(timings)
    assert remembered == {"08-gradient-descent-by-hand": 30.0}, "the median; a failed job teaches nothing"
    assert [p.name for p in timings.parent.iterdir()] == [grading.TIMINGS_FILE], "no partial file left"
    cost = {
        a: grading.grading_cost(grading.COURSE, a, remembered)
        for a in grading.course_assignments(grading.COURSE)
    }
    assert cost["08-gradient-descent-by-hand"] == 30.0
    assert max(cost, key=cost.get) == "08-gradient-descent-by-hand", "remembered time beats the estimate"
    grading.remember_seconds([{"assignment": "01-loading-data", "seconds": 2.5, "error": None}], timings)
    assert grading.remembered_seconds(timings) == {
        "08-gradient-descent-by-hand": 30.0,
        "01-loading-data": 2.5,
    }
    timings.write_text("{not json")
    assert grading.remembered_seconds(timings) == {}, "a damaged file is only a lost hint"


def test_each_kernel_gets_its_share_of_the_cores_unless_told_otherwise():
    env = grading.worker_env({"PATH": "/bin"}, workers=2, cores=2)
    assert env["TF_NUM_INTRAOP_THREADS"] == env["TF_NUM_INTEROP_THREADS"] == "1"
    assert env["PATH"] == "/bin"
    assert grading.worker_env({}, workers=2, cores=8)["TF_NUM_INTRAOP_THREADS"] == "4"
    assert grading.worker_env({}, workers=3, cores=2)["TF_NUM_INTRAOP_THREADS"] == "1", "never 0"
    assert (
        grading.worker_env({"TF_NUM_INTRAOP_THREADS": "6"}, workers=2, cores=2)["TF_NUM_INTRAOP_THREADS"]
        == "6"
    )


RESULT = {
    "student": "ada",
    "assignment": "toy",
    "path": "/x/toy.ipynb",
    "score": 1.0,
    "max_score": 3.0,
    "error": None,
    "exercises": [
        {"name": "add_one", "grade_id": "test_add_one", "score": 1.0, "max_score": 1.0, "message": None},
        {
            "name": "scale_pixels",
            "grade_id": "t",
            "score": 0.0,
            "max_score": 2.0,
            "message": "\n  expected: 1.0\n  got:      0.9\n  hint:     divide by 255",
        },
    ],
    "notes": ["cell 6 ran out of memory"],
}


def test_table_shows_points_first_failure_and_notes():
    table = grading.format_table(RESULT)
    assert "add_one" in table and "1 / 1" in table
    row = next(line for line in table.splitlines() if "scale_pixels" in line)
    assert "0 / 2" in row and "expected: 1.0" in row
    assert "hint:     divide by 255" in table and "total" in table and "1 / 3" in table
    assert "note: cell 6 ran out of memory" in table


def test_csv_has_nbgrader_export_columns_and_zero_for_missing_work(tmp_path):
    other = {**RESULT, "student": "bo", "assignment": "other", "score": 2.0, "max_score": 2.0}
    grading.write_csv([RESULT, other], tmp_path / "grades.csv", ["toy", "other"])
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert list(rows[0]) == grading.CSV_COLUMNS
    got = {(r["assignment"], r["student_id"]): (float(r["score"]), float(r["max_score"])) for r in rows}
    assert got == {
        ("toy", "ada"): (1.0, 3.0),
        ("toy", "bo"): (0.0, 3.0),
        ("other", "ada"): (0.0, 2.0),
        ("other", "bo"): (2.0, 2.0),
    }


def test_csv_is_written_like_nbgrader_export_lf_and_hand_in_times(tmp_path):
    handed = {**RESULT, "timestamp": "2026-12-02 05:23:21.162918"}
    path = tmp_path / "grades.csv"
    path.write_text("an older file\n")
    grading.write_csv([handed], path, ["toy"])
    raw = path.read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    (row,) = csv.DictReader(path.open())
    assert row["timestamp"] == "2026-12-02 05:23:21.162918"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]  # no partial file left behind


def test_submission_timestamp_reads_nbgrader_collects_file(tmp_path):
    notebook = tmp_path / "ada" / "toy" / "toy.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text("{}")
    assert grading.submission_timestamp(notebook) == ""
    (notebook.parent / "timestamp.txt").write_text("2026-12-02 05:23:21.162918 UTC\n")
    assert grading.submission_timestamp(notebook) == "2026-12-02 05:23:21.162918"


def test_kernel_argv_runs_the_limited_kernel():
    from mnistlib.grading.kernel import limited_kernel_argv

    argv = limited_kernel_argv("/py", 700, 64)
    assert argv[:5] == ["/py", "-m", "mnistlib.grading.kernel", "--memory-mb", "700"]
    assert argv[-2:] == ["-f", "{connection_file}"]
