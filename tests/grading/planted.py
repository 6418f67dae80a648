"""A class with planted mistakes: learners' notebooks whose answers are the named wrong answers of
tests/checks/exercises, several learners per mistake, for the class report's tests (test_report.py).

Each answer cell holds the wrong answer's own source, read from its exercise module (the mistake's
expression and the module's helper functions), so the class makes exactly the mistakes the checks'
tests name. :data:`PLAN` says who answers what; :func:`write_class` writes the nbgrader layout
``submitted/<learner>/<assignment>/<assignment>.ipynb``.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

from mnistlib.course import COURSE

EXERCISES_DIR = Path(__file__).parents[1] / "checks" / "exercises"

#: The right answer (the exercise module's reference function).
RIGHT = "right"
#: An answer whose function raises an error of its own: a failure no check diagnoses ("other").
RAISES = "raises"
#: A file that is not a notebook at all: the grader cannot grade it.
NOT_A_NOTEBOOK = "not a notebook"

#: {assignment: (exercise, exercise module, {learner: what they answer})}; 12 learners in all.
PLAN = {
    "02-reshaping": (
        "flatten_images",
        "reshaping",
        {
            "ada": "no scaling",
            "ben": "no scaling",
            "cam": "no scaling",
            "dev": "divided by 256",
            "eli": "divided by 256",
            "fay": "order='F'",
            "gus": "order='F'",
            "hal": "float64",
            "ivy": RIGHT,
            "jon": RIGHT,
            "kit": RAISES,
            "lou": NOT_A_NOTEBOOK,
        },
    ),
    "03-one-hot-labels": (
        "one_hot",
        "one_hot_labels",
        {"ada": "column d + 1", "ben": "column d + 1", "dev": "np.eye, no checks", "ivy": RIGHT},
    ),
}


def answer_source(module: str, exercise: str, answer: str) -> str:
    """The answer cell's code: the module's helper functions, then ``exercise`` as ``answer`` has it."""
    path = EXERCISES_DIR / f"{module}.py"
    text = path.read_text()
    tree = ast.parse(text)
    parts = ["import numpy as np"]
    parts += [ast.get_source_segment(text, n) for n in tree.body if isinstance(n, ast.FunctionDef)]
    if answer == RIGHT:
        return "\n\n\n".join(parts) + "\n"
    if answer == RAISES:
        parts.append(f"def {exercise}(*args, **kwargs):\n    raise RuntimeError('I will finish this later')")
        return "\n\n\n".join(parts) + "\n"
    table = next(
        n.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        and isinstance(n.value, ast.Dict)
        and n.targets[0].id.endswith("MISTAKES")
    )
    for key, value in zip(table.keys, table.values, strict=True):
        if ast.literal_eval(key) == answer:
            wrong = ast.get_source_segment(text, value.elts[0])
            break
    else:
        raise KeyError(f"{module}: no named mistake {answer!r}")
    parts.append(f"_wrong = {wrong}  # the mistake {answer!r}")
    parts.append(f"def {exercise}(*args, **kwargs):\n    return _wrong(*args, **kwargs)")
    return "\n\n\n".join(parts) + "\n"


def wrong_function(module: str, answer: str):
    """The wrong answer itself, as the checks' tests call it."""
    from checks.exercises import EXERCISES

    records = importlib.import_module(f"checks.exercises.{module}").EXERCISES
    exercise = EXERCISES[records[0].name]
    return exercise.reference if answer == RIGHT else exercise.mistakes[answer][0]


def notebook_with(assignment: str, exercise: str, code: str) -> dict:
    """The student release of ``assignment`` with ``exercise``'s answer cell holding ``code``."""
    notebook = json.loads((COURSE / "release" / assignment / f"{assignment}.ipynb").read_text())
    cells = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == exercise]
    assert len(cells) == 1, f"{assignment}: no single answer cell {exercise}"
    cells[0]["source"] = code
    return notebook


def write_class(root: Path) -> Path:
    """Write the planted class under ``root/submitted``; return ``root``."""
    for assignment, (exercise, module, answers) in PLAN.items():
        for learner, answer in answers.items():
            target = root / "submitted" / learner / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            if answer == NOT_A_NOTEBOOK:
                target.write_text("def flatten_images(images):\n    return images / 255\n")
                continue
            notebook = notebook_with(assignment, exercise, answer_source(module, exercise, answer))
            target.write_text(json.dumps(notebook, indent=1))
    return root
