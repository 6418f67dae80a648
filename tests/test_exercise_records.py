"""One record per exercise (mnistlib.exercises): every graded cell of every source notebook has
exactly one record, every record has exactly its two cells, and the record's facts are the notebook's."""

from __future__ import annotations

import importlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from mnistlib import course, exercises
from mnistlib.exercises import EXERCISES

REPO = Path(__file__).resolve().parent.parent


def nbgrader_cells(assignment: str) -> list[tuple[dict, str]]:
    """(nbgrader metadata, the ``## N. ...`` heading above it) of each nbgrader cell of the source."""
    path = REPO / "course" / "source" / assignment / f"{assignment}.ipynb"
    found, heading = [], None
    for cell in json.loads(path.read_text())["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            heading = next(iter(re.findall(r"^## (\d+\..*)$", text, re.MULTILINE)[-1:]), heading)
        meta = cell["metadata"].get("nbgrader")
        if meta and (meta.get("solution") or meta.get("grade")):
            found.append((meta, heading))
    return found


@pytest.mark.parametrize("assignment", course.assignment_ids())
def test_every_graded_cell_has_exactly_one_record_and_each_record_its_cells(assignment):
    cells = nbgrader_cells(assignment)
    answers = [m["grade_id"] for m, _ in cells if m.get("solution") and not m.get("grade")]
    tests = [m["grade_id"] for m, _ in cells if m.get("grade")]
    records = [e.name for e in exercises.of_notebook(assignment)]
    assert answers == records, "the answer cells and the records, in the notebook's order"
    assert tests == [f"test_{name}" for name in records], "one graded test cell test_<name> per record"
    assert not [m for m, _ in cells if m.get("solution") and m.get("grade")], "answer and test cells apart"
    for meta, heading in cells:
        if meta.get("grade"):
            assert meta.get("points", 0) > 0, f"{meta['grade_id']} is worth no points"
        else:
            record = EXERCISES[meta["grade_id"]]
            assert record.section == heading, (
                f"{record.name} stands in {heading!r}, its record says otherwise"
            )


def test_the_records_name_each_exercise_once_in_teaching_order():
    counted = Counter(e.name for e in EXERCISES.values())
    assert all(n == 1 for n in counted.values())
    assert exercises.notebooks() == [a for a in course.assignment_ids() if exercises.of_notebook(a)]
    assert [e.notebook for e in EXERCISES.values()] == sorted(e.notebook for e in EXERCISES.values())


@pytest.mark.parametrize("name", list(EXERCISES))
def test_each_record_finds_its_check_and_its_notebooks_checks_module(name):
    record = EXERCISES[name]
    check = record.check()
    assert check.__name__ == f"check_{name}" and check.__module__ == f"mnistlib.checks.{record.checks}"
    # one checks module per notebook, and one notebook per checks module
    assert {e.checks for e in exercises.of_notebook(record.notebook)} == {record.checks}
    assert {e.notebook for e in EXERCISES.values() if e.checks == record.checks} == {record.notebook}
    assert record.section_number == record.section.split(".")[0] and record.section_number.isdigit()


def test_no_module_keeps_a_list_of_exercises_of_its_own():
    """The registries the record replaced stay gone: no other module spells out the exercise names."""
    names = re.compile(r'"(get_digit|flatten_images|one_hot|relu_grad|train_sgd|build_convnet)"')
    package = REPO / "mnistlib"
    found = []
    for path in package.rglob("*.py"):
        if path.name == "exercises.py" or "checks" in path.parts:
            continue
        hits = names.findall(path.read_text())
        if len(set(hits)) >= 3:
            found.append(f"{path.relative_to(REPO)}: {hits}")
    assert found == []
    for module in ("progress", "prerequisites", "hints"):
        loaded = importlib.import_module(f"mnistlib.{module}")
        assert not {"COURSE_MAP", "NOTEBOOK_OF_MODULE", "SECTIONS", "RUNGS"} & set(vars(loaded))
