"""The same tests for every exercise, table-driven from the records in ``tests/checks/exercises/``.

For each exercise: its reference is the notebook's solution; its visible check passes on the solution,
on the notebook's own answer cell and on each acceptable variant, and says "not written yet" on a stub;
it fails on each named mistake with a message that contains the mistake's hint; the notebook's test cell
(visible check, then hidden tests, as nbgrader runs it) passes on the solution and fails on each mistake
with its hint; and the hidden tests alone fail on each mistake too (unless the record says only the
visible check catches it).
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from checks.exercises import EXERCISES
from notebook_cells import run_answer_cell, same_function

from mnistlib.checks import CheckFailed

# Keras warns when a (wrong) model passes input_shape= to a layer; the check names that mistake itself.
pytestmark = pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")

ALL = list(EXERCISES)
WRITTEN_OUT = [name for name, exercise in EXERCISES.items() if exercise.written_out]
VARIANTS = [(name, variant) for name, exercise in EXERCISES.items() for variant in exercise.variants]
MISTAKES = [(name, mistake) for name, exercise in EXERCISES.items() for mistake in exercise.mistakes]


def _ids(pairs):
    return [f"{name}-{case}" for name, case in pairs]


def not_written(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("name", WRITTEN_OUT)
def test_reference_is_the_solution(name):
    exercise = EXERCISES[name]
    assert same_function(exercise.reference, exercise.notebook)


@pytest.mark.parametrize("name", ALL)
def test_check_passes_on_the_solution_and_the_answer_cell(name, capsys):
    exercise = EXERCISES[name]
    start = time.perf_counter()
    exercise.check(exercise.reference)
    seconds = time.perf_counter() - start
    answer = run_answer_cell(exercise.notebook, name, **exercise.answer_globals)[name]
    exercise.check(answer)
    out = capsys.readouterr().out
    assert out.startswith("\u2714 ") and out.count("\u2714") == 2
    if exercise.check_seconds is not None:
        assert seconds < exercise.check_seconds, f"check_{name} took {seconds:.2f} s on the solution"


@pytest.mark.parametrize(("name", "variant"), VARIANTS, ids=_ids(VARIANTS))
def test_acceptable_variant_passes_the_check_and_the_test_cell(name, variant, capsys):
    exercise = EXERCISES[name]
    exercise.check(exercise.variants[variant])
    assert "\u2714" in capsys.readouterr().out
    exercise.run_cell(exercise.variants[variant])


@pytest.mark.parametrize("name", ALL)
def test_check_says_not_written_yet(name):
    with pytest.raises(CheckFailed, match="not written yet"):
        EXERCISES[name].check(not_written)


@pytest.mark.parametrize(("name", "mistake"), MISTAKES, ids=_ids(MISTAKES))
def test_check_names_the_mistake(name, mistake):
    EXERCISES[name].assert_check_names(mistake)


@pytest.mark.parametrize("name", ALL)
def test_test_cell_and_hidden_tests_pass_on_the_solution(name):
    exercise = EXERCISES[name]
    exercise.run_cell(exercise.reference)
    exercise.run_cell(exercise.reference, hidden_only=True)


@pytest.mark.parametrize(("name", "mistake"), MISTAKES, ids=_ids(MISTAKES))
def test_test_cell_and_hidden_tests_fail_on_the_mistake(name, mistake):
    EXERCISES[name].assert_test_cell_fails(mistake)


def test_hidden_tests_that_miss_a_mistake_fail_unless_the_record_says_so():
    """Only the visible check catches input_shape= on a layer; without visible_only, that is a failure."""
    network = EXERCISES["build_dropout_network"]
    network.assert_test_cell_fails("input_shape=")
    strict = dataclasses.replace(network, visible_only=frozenset())
    with pytest.raises(AssertionError, match="the hidden tests of test_build_dropout_network pass"):
        strict.assert_test_cell_fails("input_shape=")
