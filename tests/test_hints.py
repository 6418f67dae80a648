"""Hints that deepen: every exercise has two more rungs, shown in order, and none gives the answer."""

from __future__ import annotations

import importlib
import inspect
import re

import nbformat
import pytest
from checks.exercises import EXERCISES as RECORDS

import mnistlib
from mnistlib import hints, progress
from mnistlib.checks import CheckFailed
from mnistlib.exercises import EXERCISES
from mnistlib.hints import hint, rung_text
from mnistlib.markers import regions


def text(exercise: str, level: int) -> str:
    return rung_text(EXERCISES[exercise], level)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _check(exercise: str):
    return EXERCISES[exercise].check()


def _source(exercise: str) -> nbformat.NotebookNode:
    return nbformat.read(RECORDS[exercise].notebook, as_version=4)


def solution_lines(exercise: str) -> list[str]:
    """The answer cell's solution lines, without comments, whitespace removed; trivial ones dropped."""
    for cell in _source(exercise).cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == exercise:
            found = regions(cell.source)
            assert found, f"{exercise}: no solution markers in its answer cell"
            lines = [re.sub(r"\s+#.*$", "", line) for line in found[0].splitlines()]
            lines = ["".join(line.split()) for line in lines]
            return [line for line in lines if len(line) >= 8 and re.search(r"[A-Za-z0-9]", line)]
    raise AssertionError(f"{exercise}: no answer cell in {RECORDS[exercise].notebook}")


def leaks(rung: str, solution: list[str]) -> list[str]:
    compact = "".join(rung.split())
    return [line for line in solution if line in compact]


def test_every_exercise_has_rungs_and_every_check_is_guided():
    checks = {
        name.removeprefix("check_")
        for module in {e.checks for e in EXERCISES.values()}
        for name, _ in inspect.getmembers(importlib.import_module(f"mnistlib.checks.{module}"))
        if name.startswith("check_")
    }
    assert checks == set(RECORDS) == set(EXERCISES)
    assert len(EXERCISES) == 24
    for exercise in EXERCISES:
        assert hasattr(_check(exercise), "__wrapped__"), f"check_{exercise} is not wrapped by @guided"
        assert EXERCISES[exercise].notebook == RECORDS[exercise].notebook.stem
        assert EXERCISES[exercise].concept and EXERCISES[exercise].nudge


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_rung_one_names_a_section_of_its_notebook(exercise):
    headings = {
        line.lstrip("#").strip()
        for cell in _source(exercise).cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if re.match(r"#{2,3} ", line)
    }
    assert EXERCISES[exercise].explained_in in headings
    assert EXERCISES[exercise].explained_in in text(exercise, 1)


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_no_rung_contains_the_solutions_code(exercise):
    solution = solution_lines(exercise)
    assert solution, f"{exercise}: no solution lines found"
    for level in (1, 2):
        assert leaks(text(exercise, level), solution) == []


def test_the_leak_test_can_fail():
    solution = solution_lines("flatten_images")
    assert leaks("then: return  flat.astype(np.float32)/255 ", solution)
    assert leaks("flat = images.reshape(len(images), 28 * 28)", solution)
    assert not leaks(EXERCISES["flatten_images"].nudge, solution)


def _failing_answer(exercise, check):
    """The first of the exercise's named wrong answers (tests/checks/exercises/) that the visible check rejects."""
    for name, (wrong, _) in RECORDS[exercise].mistakes.items():
        try:
            check(wrong)
        except CheckFailed:
            hints.reset()
            return name, wrong
    pytest.fail(f"none of {exercise}'s wrong answers fails its visible check")


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_rungs_appear_after_the_second_and_fourth_failure(exercise, capsys):
    check = _check(exercise)
    name, wrong = _failing_answer(exercise, check)
    first, second = _flat(text(exercise, 1)), _flat(text(exercise, 2))
    messages = []
    for _ in range(4):
        with pytest.raises(CheckFailed) as failure:
            check(wrong)
        messages.append(_flat(str(failure.value)))
    one, two, three, four = messages
    assert first not in one and second not in one, f"{exercise} / {name}: a rung after the 1st failure"
    assert first in two and second not in two, f"{exercise} / {name}: rung 1 must come after the 2nd failure"
    assert first in three and second not in three
    assert first in four and second in four, f"{exercise} / {name}: rung 2 must come after the 4th failure"
    assert four.index(first) < four.index(second)
    assert four.startswith(one), "the check's own message comes first, unchanged"


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_hint_steps_through_the_rungs(exercise, capsys):
    first, second = _flat(text(exercise, 1)), _flat(text(exercise, 2))
    hint(exercise)
    out = _flat(capsys.readouterr().out)
    assert first in out and second not in out
    hint(f"check_{exercise}")
    out = _flat(capsys.readouterr().out)
    assert second in out and first not in out
    hint(exercise)
    out = _flat(capsys.readouterr().out)
    assert "all the help" in out and first in out and second in out


def test_hint_is_importable_from_mnistlib_and_takes_the_function(capsys):
    from mnistlib import hint as top_level

    assert top_level is hint and mnistlib.hint is hint

    def flatten_images(images):
        raise NotImplementedError

    top_level(flatten_images)
    assert _flat(text("flatten_images", 1)) in _flat(capsys.readouterr().out)
    top_level("no_such_exercise")
    assert "no hints for 'no_such_exercise'" in capsys.readouterr().out


def test_an_exception_from_the_learners_code_counts_as_a_failure_too():
    from mnistlib.checks.training import check_batches_per_epoch

    def broken(n_samples, batch_size, validation_split=0.0):
        raise ZeroDivisionError("oops")

    for _ in range(2):
        with pytest.raises(ZeroDivisionError) as error:
            check_batches_per_epoch(broken)
    assert any(EXERCISES["batches_per_epoch"].explained_in in _flat(note) for note in error.value.__notes__)
    progress_entry = progress.load(progress.progress_path()).get("exercises", {}).get("batches_per_epoch")
    assert progress_entry["message"] == "ZeroDivisionError: oops"
