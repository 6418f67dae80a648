"""A test cell gives the same verdict and message in the learner's kernel and through the grader.

Issue 26, item 1: any difference between "the test cell run in the notebook" and "the test cell run
by the grader" is a wrong grade one way or the other. For every named wrong answer of every exercise
(tests/checks/exercises) and for generated right answers that change an argument in place in each way
numpy allows (tests/checks/in_place.py), the exercise's whole test cell (visible check, then hidden
tests) is run twice (and so is each attack of tests/attacks whose answer is merely wrong:
``grading.differential_class.MERELY_WRONG``):

* as the notebook runs it: the function is a plain Python function in the same process as the test;
* as the grader runs it: the function is defined in a real, separate learner kernel, and the test
  cell calls it across the grader's bridge (:func:`mnistlib.grading.bridge.bind`), as the checker
  kernel does;

and both runs must end the same way: both raise the same kind of error with the same message (none
of these answers may pass). One learner kernel serves every case, so this costs seconds, not a grading
run per case.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from checks.exercises import EXERCISES
from checks.in_place import KINDS, in_place_variant
from grading.differential_class import MERELY_WRONG, NO_ARRAYS
from jupyter_client.manager import start_new_kernel
from notebook_cells import run_test_cell

from mnistlib import hints
from mnistlib.checks import CheckFailed
from mnistlib.grading import bridge

TESTS = Path(__file__).resolve().parents[1]
KERAS = {"build_network", "compile_network", "predict_classes", "build_dropout_network", "build_convnet"}

CASES = [
    (name, f"mistake {mistake}", f"EXERCISES[{name!r}].mistakes[{mistake!r}].wrong")
    for name, exercise in EXERCISES.items()
    for mistake in exercise.mistakes
]
CASES += [
    (name, f"in place: {kind}", f"in_place_variant(EXERCISES[{name!r}].reference, {kind!r})")
    for name in EXERCISES
    if name not in NO_ARRAYS
    for kind in KINDS
]
# the attacks of tests/attacks whose answer is merely wrong: their answer cell's own code
CASES += [(attack.exercise, f"attack {attack.name}", attack.code) for attack in MERELY_WRONG]
PARAMS = [
    pytest.param(name, case, code, id=f"{name}-{case}", marks=[pytest.mark.slow] if name in KERAS else [])
    for name, case, code in CASES
]


@pytest.fixture(scope="module")
def learner_kernel(tmp_path_factory):
    """A real kernel that holds the learner's functions, as the grader's learner kernel does."""
    folder = tmp_path_factory.mktemp("learner")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(folder), env=env)
    setup = (
        "from checks.exercises import EXERCISES\n"
        "from checks.in_place import in_place_variant\n"
        "import numpy as np\n"
    )
    assert kc.execute_interactive(setup, timeout=300)["content"]["status"] == "ok"
    connection = {k: v.decode() if isinstance(v, bytes) else v for k, v in km.get_connection_info().items()}
    calls = folder / "calls"
    calls.mkdir()
    yield kc, connection, str(calls)
    if bridge._BRIDGE is not None:
        bridge._BRIDGE.close()
        bridge._BRIDGE = None
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def outcome(run) -> tuple[str, str]:
    """("passed", "") or (the error's kind, its message), with no hint rungs from earlier failures."""
    hints.reset()
    try:
        run()
    except CheckFailed as failure:
        return "CheckFailed", str(failure)
    except Exception as error:  # the learner's code raised: the grader re-raises the built-in kind
        kind = next(
            k
            for k in type(error).__mro__
            if getattr(__builtins__, k.__name__, None) is k or k.__module__ == "builtins"
        )
        return kind.__name__, str(error)
    finally:
        hints.reset()
    return "passed", ""


def _local(name: str, case: str, code: str):
    if case.startswith("attack"):  # an answer cell's code: run it, as the notebook does
        namespace = {"np": np}
        exec(compile(code, f"<answer cell {name}>", "exec"), namespace)
        return namespace[name]
    return eval(code, {"EXERCISES": EXERCISES, "in_place_variant": in_place_variant})  # the records' own


@pytest.mark.parametrize(("name", "case", "code"), PARAMS)
def test_the_notebook_and_the_grader_agree(learner_kernel, name, case, code):
    kc, connection, calls = learner_kernel
    exercise = EXERCISES[name]
    in_notebook = outcome(lambda: exercise.run_cell(_local(name, case, code)))
    define = code if case.startswith("attack") else f"{name} = {code}"
    reply = kc.execute_interactive(define, timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]
    namespace: dict = {}
    bridge.bind([name], connection, calls, 120, namespace)
    graded = outcome(lambda: run_test_cell(exercise.notebook, f"test_{name}", **namespace))
    assert graded == in_notebook
    assert in_notebook[0] != "passed", f"{name} passes the test cell although it is wrong ({case})"
