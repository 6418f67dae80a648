"""The exercise record: everything the check tests need to know about one exercise, in one place.

Each exercise of the course (an nbgrader answer cell whose ``grade_id`` is the function's name) has one
``Exercise`` record in ``tests/checks/exercises/<topic>.py``, the topic being the module of its check in
``mnistlib.checks``. A record holds

* ``reference``: the solution, written out in the records file (``test_reference_is_the_solution``
  compares it with the notebook's answer cell as code) or run from the notebook itself;
* ``check``: the visible check the notebook's test cell calls first;
* ``mistakes``: named wrong answers a learner really writes, each with words its message must contain;
* ``contract``: every sentence of the answer cell's docstring, each with the names of mistakes that
  break it;
* ``variants``: right answers written differently, which must pass;
* a few switches for the exceptions (see the fields).

``tests/checks/test_exercises.py`` runs the same tests over every record and every mistake;
``tests/checks/test_contracts.py`` checks the contracts against the docstrings. Add an exercise by adding
a record: nothing else needs to change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

from notebook_cells import docstring_sentences, run_hidden_tests, run_test_cell

from mnistlib.checks import CheckFailed

SOURCE = Path(__file__).resolve().parents[2] / "course" / "source"


class Mistake(NamedTuple):
    """A wrong answer and the words the check's message must contain for it (the hint that names it)."""

    wrong: Callable
    hint: str


@dataclass(frozen=True)
class Exercise:
    """One exercise's record; ``name`` (the grade_id) comes from the reference, ``notebook`` from the course."""

    reference: Callable
    check: Callable
    mistakes: dict[str, Mistake]
    contract: dict[str, list[str]]  # {docstring sentence: [names of mistakes that break it]}
    variants: dict[str, Callable] = field(default_factory=dict)
    # what run_answer_cell binds before running the answer cell (the notebook's earlier imports)
    answer_globals: dict = field(default_factory=dict)
    # mistakes the visible check (first in the test cell) catches but the hidden tests alone need not
    visible_only: frozenset[str] = frozenset()
    # what the hidden tests alone may raise on a mistake (a wrong answer can crash them, too)
    hidden_errors: tuple[type[BaseException], ...] = (CheckFailed,)
    # the visible check must pass on the solution within this many seconds (None: not timed)
    check_seconds: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "mistakes", {name: Mistake(*m) for name, m in self.mistakes.items()})
        unknown = set(self.visible_only) - set(self.mistakes)
        if unknown:
            raise ValueError(f"{self.name}: visible_only names no mistake: {sorted(unknown)}")

    @property
    def name(self) -> str:
        """The function's name: also the answer cell's grade_id; its test cell is ``test_<name>``."""
        return self.reference.__name__

    @property
    def notebook(self) -> Path:
        return notebook_of(self.name)

    @property
    def written_out(self) -> bool:
        """Whether the reference is written in a records file (not run from the notebook's answer cell)."""
        return self.reference.__module__ != "__notebook_cell__"

    def run_cell(self, function, *, hidden_only: bool = False) -> dict:
        """Run the notebook's test cell (or only its hidden tests) with ``function`` as the answer."""
        run = run_hidden_tests if hidden_only else run_test_cell
        return run(self.notebook, f"test_{self.name}", **{self.name: function})

    def assert_check_names(self, mistake: str) -> None:
        """The visible check fails on the mistake with a hint that contains the mistake's words."""
        wrong, hint = self.mistakes[mistake]
        _assert_fails_naming(lambda: self.check(wrong), f"check_{self.name}", mistake, hint)

    def assert_test_cell_fails(self, mistake: str) -> None:
        """The whole test cell fails on the mistake with its hint; so do the hidden tests alone.

        (Unless ``visible_only`` has the mistake: then only the test cell, whose visible check comes first.)
        """
        wrong, hint = self.mistakes[mistake]
        _assert_fails_naming(lambda: self.run_cell(wrong), f"test_{self.name}", mistake, hint)
        if mistake not in self.visible_only:
            try:
                self.run_cell(wrong, hidden_only=True)
            except self.hidden_errors:
                return
            raise AssertionError(f"the hidden tests of test_{self.name} pass on the mistake {mistake!r}")

    def contract_problems(self) -> list[str]:
        """What is wrong with ``contract`` against the answer cell's docstring (empty: nothing)."""
        sentences = docstring_sentences(self.notebook, self.name)
        problems = [f"no entry for the docstring sentence {s!r}" for s in sentences if s not in self.contract]
        problems += [
            f"an entry for {s!r}, which the docstring no longer has"
            for s in self.contract
            if s not in sentences
        ]
        for sentence, mistakes in self.contract.items():
            if not mistakes:
                problems.append(f"no wrong answer breaks {sentence!r}")
            problems += [
                f"{m!r} (under {sentence!r}) is not a named mistake"
                for m in mistakes
                if m not in self.mistakes
            ]
        return [f"{self.name}: {problem}" for problem in problems]


def _assert_fails_naming(run: Callable, what: str, mistake: str, hint: str) -> None:
    try:
        run()
    except CheckFailed as failure:
        message = str(failure)
    else:
        raise AssertionError(f"{what} passes on the mistake {mistake!r}")
    assert "hint:" in message and hint in message, f"{what} / {mistake}: no hint with {hint!r} in:\n{message}"


def answer_cells() -> dict[str, Path]:
    """{grade_id: source notebook} of every answer (solution) code cell in the course."""
    return dict(_answer_cells())


@cache
def _answer_cells() -> tuple[tuple[str, Path], ...]:
    found = []
    for notebook in sorted(SOURCE.glob("*/*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            nbgrader = cell.get("metadata", {}).get("nbgrader", {})
            if nbgrader.get("solution") and cell["cell_type"] == "code":
                found.append((nbgrader["grade_id"], notebook))
    return tuple(found)


def notebook_of(grade_id: str) -> Path:
    """The source notebook that has the answer cell ``grade_id``."""
    cells = answer_cells()
    if grade_id not in cells:
        raise LookupError(f"no answer cell with grade_id {grade_id!r} in {SOURCE}")
    return cells[grade_id]
