"""Each sentence of every exercise's docstring is held by its test cell: the table in tests/contracts.py.

For every exercise: the table lists exactly the sentences of the answer cell's docstring, each with at
least one named wrong answer; each such wrong answer fails the exercise's whole test cell (visible check,
then hidden tests, as nbgrader runs it) with a message that has a hint and the words of its mistake table
(as in the topic test files, the words may name the mistake in the "got" line or in the hint).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from contracts import CONTRACTS
from notebook_cells import docstring_sentences, run_test_cell

from mnistlib.checks import CheckFailed

SOURCE = Path(__file__).resolve().parents[1] / "course" / "source"


def _exercises_in_the_notebooks() -> set[str]:
    found = set()
    for notebook in SOURCE.glob("*/*.ipynb"):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            nbgrader = cell.get("metadata", {}).get("nbgrader", {})
            if nbgrader.get("solution") and cell["cell_type"] == "code":
                found.add(nbgrader["grade_id"])
    return found


def test_every_exercise_has_a_contract():
    assert set(CONTRACTS) == _exercises_in_the_notebooks()


@pytest.mark.parametrize("exercise", CONTRACTS)
def test_every_docstring_sentence_has_wrong_answers_that_break_it(exercise):
    contract = CONTRACTS[exercise]
    sentences = docstring_sentences(contract.notebook, exercise)
    missing = [sentence for sentence in sentences if sentence not in contract.sentences]
    stale = [sentence for sentence in contract.sentences if sentence not in sentences]
    assert not missing, f"{exercise}: docstring sentences with no entry in tests/contracts.py: {missing}"
    assert not stale, f"{exercise}: tests/contracts.py lists sentences the docstring no longer has: {stale}"
    for sentence, names in contract.sentences.items():
        assert names, f"{exercise}: no wrong answer breaks {sentence!r}"
        unknown = [name for name in names if name not in contract.mistakes]
        assert not unknown, f"{exercise}: {unknown} are not in the exercise's mistake table"


CASES = sorted(
    {
        (exercise, name)
        for exercise, contract in CONTRACTS.items()
        for names in contract.sentences.values()
        for name in names
    }
)


@pytest.mark.parametrize(("exercise", "name"), CASES, ids=[f"{e}-{n}" for e, n in CASES])
def test_each_wrong_answer_fails_the_test_cell_with_its_hint(exercise, name):
    contract = CONTRACTS[exercise]
    wrong, hint = contract.mistakes[name]
    with pytest.raises(CheckFailed) as failure:
        run_test_cell(contract.notebook, f"test_{exercise}", **{exercise: wrong})
    message = str(failure.value)
    assert "hint:" in message and hint in message, (
        f"{exercise} / {name}: no {hint!r} in the message:{message}"
    )
