"""The differential test's class (tests/grading/differential_class.py) holds every case, and each loads alone.

Cheap checks of what the slow end-to-end test (test_differential_grading.py) relies on: every wrong
answer the tests know is handed in by exactly one learner, and an answer cell defines its function in
a Python that has neither the tests' folder nor ``mnistlib.checks`` (the answer key, hidden from a
sandboxed learner kernel).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import nbformat
from checks.exercises import EXERCISES
from grading.differential_class import MERELY_WRONG, assignments, cases_of, learner_notebook, learners


def test_every_case_is_handed_in_by_exactly_one_learner():
    handed_in = Counter()
    for assignment in assignments():
        for answers in learners(assignment):
            handed_in.update(
                (name, case.label) for name, case in answers.items() if case.label != "right answer"
            )
    expected = Counter((name, case.label) for name in EXERCISES for case in cases_of(name))
    assert handed_in == expected
    labels = {label for _, label in expected}
    assert {f"attack {a.name}" for a in MERELY_WRONG} <= labels
    assert sum(label.startswith("mistake ") for label in labels) >= 10
    assert any(label.startswith("in place: ") for label in labels)


def test_only_attacks_that_do_nothing_but_answer_wrongly_are_merely_wrong():
    names = {a.name for a in MERELY_WRONG}
    assert {"plain-wrong-answer", "ndarray-subclass", "labels-rewritten"} <= names
    assert not names & {
        "dunder-liar",
        "callable-instance",
        "patched-numpy",
        "keras-lambda-layer",
        "os-exit-in-test",
    }


def test_answer_cells_define_their_function_without_the_tests_or_the_answer_key(tmp_path):
    assignment = "08-gradient-descent-by-hand"  # eight exercises, answers built from the notebook's cells
    notebook = learner_notebook(assignment, learners(assignment)[0])
    answers = [
        cell.source
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]
    script = tmp_path / "learner.py"
    script.write_text(
        "import sys\n"
        "sys.path = [p for p in sys.path if not p.rstrip('/').endswith('tests')]\n"
        "sys.modules['mnistlib.checks'] = None  # hidden, as in the sandbox: importing it fails\n"
        "import json, types\n"
        "import numpy as np\n"
        f"namespace = {{'np': np}}\nfor source in {json.dumps(answers)}:\n    exec(source, namespace)\n"
        "print(json.dumps(sorted(k for k, v in namespace.items() if isinstance(v, types.FunctionType))))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    defined = set(json.loads(done.stdout.splitlines()[-1]))
    assert {name for name in EXERCISES if EXERCISES[name].notebook.parent.name == assignment} <= defined
    nbformat.validate(notebook)
