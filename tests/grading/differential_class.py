"""A class of learners whose answers are every wrong answer the tests know, batched (issue 26, item 1).

The cases of an exercise are every named mistake of its record (tests/checks/exercises), every
generated in-place variant of its reference (tests/checks/in_place.py: one per kind of in-place change,
for the exercises that take an array) and every attack of tests/attacks whose answer is merely wrong
(:data:`MERELY_WRONG`: a wrong answer and nothing that tampers with the checks, the kernel or the host).

Learner ``k`` of an assignment hands in, for each exercise of the assignment, its ``k``-th case (or
the reference when the exercise has fewer cases): so a class of as many learners as the exercise with
the most cases holds every case, and one grading run of the class folder runs each of them once.
Each learner's notebook is the student release's graded cells (answer cell, then test cell, as a
learner may delete the other cells) after one cell of imports. An answer cell either holds the
attack's own code or defines the function from its bytes, pickled by value (``cloudpickle``), so the
learner's kernel runs exactly the function the records hold without the tests' folder (out of reach of
a sandboxed kernel).
"""

from __future__ import annotations

import base64
import copy
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import nbformat
from attacks import ATTACKS
from checks import in_place
from checks.exercises import EXERCISES, TOPICS
from checks.in_place import KINDS, in_place_variant

REPO = Path(__file__).resolve().parents[2]
#: Exercises whose functions take no array (a model, numbers, nothing): no in-place variant.
NO_ARRAYS = {
    "build_network",
    "dense_param_count",
    "compile_network",
    "batches_per_epoch",
    "build_dropout_network",
    "build_convnet",
    "best_epoch",
}
#: Attack kinds whose answer is only wrong, as long as its code uses none of the attack helpers that
#: tamper (neuter the checks in the learner's kernel, spawn processes): e.g. a result that lies about
#: its equality, or a wrong answer written into the arguments.
MERELY_WRONG_KINDS = {"baseline", "result", "shared-input"}
MERELY_WRONG = [
    a
    for a in ATTACKS
    if a.kind in MERELY_WRONG_KINDS
    and not a.extra_cells
    and not any(word in a.code for word in ("_attack_neuter", "_attack_spawn", "__MARKER__", "__URL__"))
]
IMPORTS = "import numpy as np\n"

for _topic in TOPICS:  # the records' functions travel by value: the learner's kernel has no tests/ folder
    cloudpickle.register_pickle_by_value(importlib.import_module(f"checks.exercises.{_topic}"))
cloudpickle.register_pickle_by_value(in_place)


@dataclass(frozen=True)
class Case:
    exercise: str
    label: str  #: "mistake <name>", "in place: <kind>", "attack <name>" or "right answer"
    function: object = None  #: the answer as a Python function (pickled into the answer cell), or
    code: str | None = None  #: the answer cell's own code (an attack's)

    def answer_cell_source(self) -> str:
        if self.code is not None:
            return self.code
        blob = base64.b64encode(cloudpickle.dumps(self.function)).decode("ascii")
        return (
            f"# {self.label}\nimport base64 as _base64\nimport pickle as _pickle\n\n"
            f'{self.exercise} = _pickle.loads(_base64.b64decode("{blob}"))\n'
        )


def cases_of(name: str) -> list[Case]:
    """Every wrong answer of exercise ``name`` the tests know (see the module's docstring)."""
    exercise = EXERCISES[name]
    found = [Case(name, f"mistake {m}", function=wrong) for m, (wrong, _) in exercise.mistakes.items()]
    if name not in NO_ARRAYS:
        found += [
            Case(name, f"in place: {k}", function=in_place_variant(exercise.reference, k)) for k in KINDS
        ]
    found += [Case(name, f"attack {a.name}", code=a.code) for a in MERELY_WRONG if a.exercise == name]
    return found


def assignment_of(name: str) -> str:
    return EXERCISES[name].notebook.parent.name


def assignments() -> list[str]:
    return sorted({assignment_of(name) for name in EXERCISES})


def learners(assignment: str) -> list[dict[str, Case]]:
    """``[{exercise: case}]``: learner ``k``'s answer for each exercise of ``assignment``."""
    cases = {name: cases_of(name) for name in EXERCISES if assignment_of(name) == assignment}
    count = max(len(found) for found in cases.values())
    return [
        {
            name: found[k]
            if k < len(found)
            else Case(name, "right answer", function=EXERCISES[name].reference)
            for name, found in cases.items()
        }
        for k in range(count)
    ]


def learner_notebook(assignment: str, answers: dict[str, Case]) -> nbformat.NotebookNode:
    """The release notebook's graded cells, each answer cell holding ``answers[grade_id]``."""
    release = nbformat.read(REPO / "course" / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    notebook = copy.deepcopy(release)
    cells = [nbformat.v4.new_code_cell(IMPORTS)]
    for cell in release.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not (meta.get("solution") or meta.get("grade")):
            continue
        cell = copy.deepcopy(cell)
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]].answer_cell_source()
        cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    notebook.cells = cells
    return notebook


def class_of(assignment: str) -> dict[str, dict[str, Case]]:
    """``{learner: {exercise: case}}``: the learners of ``assignment``, named ``wrong-00``, ``wrong-01``, ..."""
    return {f"wrong-{k:02d}": answers for k, answers in enumerate(learners(assignment))}


def write_class(folder: Path, only: list[str] | None = None) -> dict[tuple[str, str], dict[str, Case]]:
    """``folder/submitted/<learner>/<assignment>/<assignment>.ipynb`` for every learner of every assignment
    (or of the assignments ``only``).

    Returns ``{(learner, assignment): {exercise: case}}``.
    """
    written = {}
    for assignment in only or assignments():
        for learner, answers in class_of(assignment).items():
            target = folder / "submitted" / learner / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(learner_notebook(assignment, answers), target)
            written[learner, assignment] = answers
    return written


def describe(written: dict) -> str:
    """The class as JSON text: which case each learner's answer cell holds."""
    return json.dumps(
        {
            f"{who}/{a}": {name: case.label for name, case in answers.items()}
            for (who, a), answers in written.items()
        },
        indent=1,
    )
