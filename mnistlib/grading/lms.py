"""Grades files an LMS imports as they are: ``mnistlib grade ... --lms canvas``.

Canvas's gradebook import (Grades > Import) reads a CSV shaped like its own gradebook export:
the identity columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then
one column per assignment, headed by the assignment's name (a name Canvas does not know yet
becomes a new assignment), and optionally a ``Points Possible`` row under the header. Canvas
matches each row to a learner by one of ``Student``, ``ID`` or ``SIS User ID``, plus the
``SIS Login ID``; we know learners by their nbgrader student id, which on a JupyterHub is their
login, so it goes into ``Student`` and ``SIS Login ID`` and the columns Canvas fills itself stay
empty. Work not handed in scores 0, as in ``nbgrader export``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..files import atomic_open

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
#: Canvas's export writes this (with leading spaces) in the first column of the row under the header.
CANVAS_POINTS_ROW = "    Points Possible"

LMS_CHOICES = ("canvas",)


def canvas_rows(results: list[dict], assignments: list[str]) -> list[list[str]]:
    """Header, points row and one row per learner (sorted by id) for Canvas's gradebook import."""
    scores = {(r["student"], r["assignment"]): r["score"] for r in results}
    maxima = {r["assignment"]: r["max_score"] for r in results if not r.get("error")}
    rows = [CANVAS_IDENTITY + list(assignments)]
    rows.append([CANVAS_POINTS_ROW, "", "", "", ""] + [f"{maxima.get(a, 0.0):g}" for a in assignments])
    for student in sorted({r["student"] for r in results}):
        rows.append(
            [student, "", "", student, ""] + [f"{scores.get((student, a), 0.0):g}" for a in assignments]
        )
    return rows


def write(lms: str, results: list[dict], path: Path, assignments: list[str]) -> None:
    """Write the grades file ``lms`` imports to ``path`` (atomically: a reader never sees half of it)."""
    if lms != "canvas":
        raise ValueError(f"unknown LMS {lms!r}; known: {', '.join(LMS_CHOICES)}")
    with atomic_open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(canvas_rows(results, assignments))
