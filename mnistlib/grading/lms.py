"""Grades files an LMS imports as they are: ``mnistlib grade ... --lms canvas``.

Canvas's gradebook import (Grades > Import) reads a CSV shaped like its own gradebook export:
the identity columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then
one column per assignment, and optionally a ``Points Possible`` row under the header. Canvas's
export heads an assignment's column ``Title (123456)``, its name and its id, and the import
matches a column to an existing assignment by that id; a column without one becomes a new
assignment. So each notebook's column is the Canvas column the instructor names
(``--canvas-assignment 02-reshaping="Reshaping (123456)"``), or the notebook's id, which Canvas
creates as a new assignment the first time.

Canvas matches each row to a learner by one of ``Student``, ``ID`` or ``SIS User ID``, plus the
``SIS Login ID``; we know learners by their nbgrader student id, which on a JupyterHub is their
login, so it goes into ``Student`` and ``SIS Login ID`` and the columns Canvas fills itself stay
empty. Work not handed in scores 0, as in ``nbgrader export``; a notebook the grader could not
grade is left blank (Canvas then leaves that grade as it was) and named by :func:`write`'s caller,
never written as 0. Cells that a spreadsheet would read as a formula are neutralised
(:func:`csv_cell`).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ..files import atomic_open

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
#: Canvas's export writes this (with leading spaces) in the first column of the row under the header.
CANVAS_POINTS_ROW = "    Points Possible"
#: A Canvas column as its export heads it: the assignment's title, then its id in parentheses.
CANVAS_COLUMN = re.compile(r".*\S \((\d+)\)")

LMS_CHOICES = ("canvas",)
#: What a spreadsheet reads as the start of a formula (or a formula after a tab or line break).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class LmsError(ValueError):
    """A wrong ``--canvas-assignment``: one line saying which and why."""


def csv_cell(value):
    """``value`` as a grades-file cell no spreadsheet runs as a formula: text starting with
    ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP's advice for CSV
    injection); numbers are kept as they are. Every grades CSV the course writes goes through it.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def canvas_columns(pairs: list[str], assignments: list[str]) -> dict[str, str]:
    """``{assignment: Canvas column}`` from ``--canvas-assignment ID="Title (123456)"`` values."""
    columns: dict[str, str] = {}
    for pair in pairs:
        assignment, sep, column = pair.partition("=")
        assignment, column = assignment.strip(), column.strip()
        if not sep or not assignment or not column:
            raise LmsError(
                f'--canvas-assignment {pair!r}: write it as ASSIGNMENT="Canvas title (id)", for example '
                '02-reshaping="Reshaping (123456)"'
            )
        if assignment not in assignments:
            raise LmsError(
                f"--canvas-assignment {pair!r}: no assignment {assignment} in the course; it has "
                + ", ".join(assignments)
            )
        if assignment in columns:
            raise LmsError(f"--canvas-assignment names {assignment} twice")
        if column in columns.values() or column in CANVAS_IDENTITY:
            raise LmsError(f"--canvas-assignment {pair!r}: the column {column!r} is already taken")
        columns[assignment] = column
    return columns


def untargeted(columns: dict[str, str]) -> list[str]:
    """The chosen columns without a Canvas id: Canvas makes a new assignment of each."""
    return [column for column in columns.values() if not CANVAS_COLUMN.fullmatch(column)]


def canvas_rows(
    results: list[dict], assignments: list[str], columns: dict[str, str] | None = None
) -> list[list[str]]:
    """Header, points row and one row per learner (sorted by id) for Canvas's gradebook import."""
    columns = columns or {}
    graded = {(r["student"], r["assignment"]): r for r in results}
    maxima = {r["assignment"]: r["max_score"] for r in results if not r.get("error")}
    rows = [CANVAS_IDENTITY + [columns.get(a, a) for a in assignments]]
    rows.append([CANVAS_POINTS_ROW, "", "", "", ""] + [f"{maxima.get(a, 0.0):g}" for a in assignments])
    for student in sorted({r["student"] for r in results}):
        cells = []
        for assignment in assignments:
            result = graded.get((student, assignment))
            if result is not None and result.get("error"):
                cells.append("")  # not graded: blank, so Canvas keeps what it had (never a false 0)
            else:
                cells.append(f"{result['score'] if result else 0.0:g}")
        rows.append([student, "", "", student, ""] + cells)
    return [[csv_cell(cell) for cell in row] for row in rows]


def ungraded(results: list[dict]) -> list[str]:
    """One line per notebook the grader could not grade: left blank in the Canvas CSV."""
    return [
        f"{r['student']}: {r['assignment']} could not be graded ({r['error']}); its Canvas cell is left "
        "blank, not 0: grade it again"
        for r in results
        if r.get("error")
    ]


def write(
    lms: str, results: list[dict], path: Path, assignments: list[str], columns: dict[str, str] | None = None
) -> list[str]:
    """Write the grades file ``lms`` imports to ``path`` (atomically); the notebooks left blank.

    The caller prints those lines on stderr and exits non-zero when there are any.
    """
    if lms != "canvas":
        raise ValueError(f"unknown LMS {lms!r}; known: {', '.join(LMS_CHOICES)}")
    with atomic_open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(canvas_rows(results, assignments, columns))
    return ungraded(results)
