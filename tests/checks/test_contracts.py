"""Each sentence of every exercise's docstring (its contract) is held by named wrong answers.

A record's ``contract`` (tests/checks/exercises/) lists exactly the sentences of the answer cell's
docstring, each with at least one of the record's named mistakes that breaks it. That every named
mistake fails the exercise's whole test cell (visible check, then hidden tests, as nbgrader runs it)
with a hint that has the words of its mistake, not another's, is asserted for each mistake by
``test_test_cell_and_hidden_tests_fail_on_the_mistake`` (test_exercises.py). Here: no sentence is left
without a wrong answer, the table follows the docstrings as they are edited, and both kinds of failure
(a sentence without a wrong answer, a misdiagnosis) do show up.
"""

from __future__ import annotations

import dataclasses

import pytest
from checks.exercises import EXERCISES
from checks.harness import answer_cells


def test_every_exercise_has_a_record():
    assert set(EXERCISES) == set(answer_cells())


@pytest.mark.parametrize("name", list(EXERCISES))
def test_every_docstring_sentence_has_wrong_answers_that_break_it(name):
    assert EXERCISES[name].contract_problems() == []


def test_a_sentence_without_a_wrong_answer_shows_up():
    one_hot = EXERCISES["one_hot"]
    first, second, *rest = one_hot.contract
    edited = {second: [], **{sentence: one_hot.contract[sentence] for sentence in rest}}
    edited["An old sentence."] = ["no such mistake"]
    problems = dataclasses.replace(one_hot, contract=edited).contract_problems()
    assert problems == [
        f"one_hot: no entry for the docstring sentence {first!r}",
        "one_hot: an entry for 'An old sentence.', which the docstring no longer has",
        f"one_hot: no wrong answer breaks {second!r}",
        "one_hot: 'no such mistake' (under 'An old sentence.') is not a named mistake",
    ]


def test_a_misdiagnosis_or_a_passing_mistake_fails():
    """The issue's own case: a bound check off by one must not get the hint for no check at all."""
    one_hot = EXERCISES["one_hot"]
    off_by_one, _ = one_hot.mistakes["labels > num_classes rejected, not >="]
    misdiagnosed = dataclasses.replace(
        one_hot,
        mistakes={"off by one": (off_by_one, "assumes there is no check"), "right": (one_hot.reference, "")},
    )
    for assertion in (misdiagnosed.assert_check_names, misdiagnosed.assert_test_cell_fails):
        with pytest.raises(AssertionError, match="no hint with 'assumes there is no check'"):
            assertion("off by one")
        with pytest.raises(AssertionError, match="passes on the mistake 'right'"):
            assertion("right")


#: Issue 26, item 3: wrong answers whose message once sent the learner to the wrong line, and words of
#: that wrong diagnosis, which their message must not contain (the words it must contain are the records').
MISDIAGNOSED = {
    ("get_digit", "scaled to floats"): ["off by one", "count from 1", "wrong image"],
    ("predict_classes", ".squeeze()"): ["pass axis=1"],
    ("build_network", "a separate Softmax layer"): ["wrong order"],
    ("build_dropout_network", "a separate Softmax layer"): ["wrong order"],
    ("build_convnet", "a separate Softmax layer"): ["wrong order"],
    ("batches_per_epoch", "training and validation batches"): ["validation split was ignored"],
    ("label_counts", "proportions"): ["use np.bincount"],
    ("dropout", "assert instead of raise"): ["check the rate first"],
    ("batches_per_epoch", "no rounding of the training part"): ["rounded the other way"],
}


@pytest.mark.parametrize(("name", "mistake"), list(MISDIAGNOSED), ids=[f"{n}-{m}" for n, m in MISDIAGNOSED])
def test_a_former_misdiagnosis_stays_gone(name, mistake):
    from mnistlib import hints
    from mnistlib.checks import CheckFailed

    exercise = EXERCISES[name]
    wrong, words = exercise.mistakes[mistake]
    for run in (lambda: exercise.check(wrong), lambda: exercise.run_cell(wrong)):
        hints.reset()
        with pytest.raises(CheckFailed) as failure:
            run()
        message = str(failure.value)
        assert words in message
        assert not [w for w in MISDIAGNOSED[name, mistake] if w in message], message
