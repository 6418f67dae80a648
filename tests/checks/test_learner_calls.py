"""Learner code is called only through ``mnistlib.checks.call`` (issue 24, item 2, made structural).

``call`` copies every data argument before the call and fails the check if the function changed one,
so a check may read what it expects from its arguments before or after the call alike. A check or a
hidden test that calls a learner's function directly could be fooled again by a function that writes
its (wrong) answer into the arrays the test reads: these tests find any such call.
"""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from checks.harness import SOURCE, answer_cells

from mnistlib.checks import CheckFailed, call
from mnistlib.markers import hidden_region

CHECKS = Path(__file__).resolve().parents[2] / "mnistlib" / "checks"
LEARNER_NAMES = set(answer_cells()) | {"fn"}  # the learner's functions, as tests and checks name them


def direct_calls(source: str, names: set[str]) -> list[str]:
    """``name(...)`` calls in ``source`` of a name in ``names`` (``call(name, ...)`` is not one)."""
    tree = ast.parse(textwrap.dedent(source))
    return [
        f"line {node.lineno}: {node.func.id}(...)"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names
    ]


def _hidden_tests() -> list[tuple[str, str]]:
    found = []
    for notebook in sorted(SOURCE.glob("*/*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            region = hidden_region("".join(cell["source"])) if cell["cell_type"] == "code" else None
            if region:
                found.append((grade_id, region))
    return found


HIDDEN = _hidden_tests()


def test_there_are_hidden_tests_to_look_at():
    assert len(HIDDEN) >= 20


@pytest.mark.parametrize(("grade_id", "source"), HIDDEN, ids=[g for g, _ in HIDDEN])
def test_hidden_tests_call_learner_functions_only_through_call(grade_id, source):
    assert direct_calls(source, set(answer_cells())) == []


@pytest.mark.parametrize("module", sorted(CHECKS.glob("*.py")), ids=lambda p: p.name)
def test_checks_call_learner_functions_only_through_call(module):
    tree = ast.parse(module.read_text(encoding="utf-8"))
    found = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef) and not (
            module.name == "__init__.py" and function.name == "call"
        ):
            params = {a.arg for a in function.args.args + function.args.kwonlyargs} & LEARNER_NAMES
            found += [f"{function.name}: {c}" for c in direct_calls(ast.unparse(function), params)]
    assert found == []


def test_a_direct_call_is_found():
    source = "got = get_digit(stack, 3)\nsame = call(get_digit, stack, 3)\n"
    assert direct_calls(source, {"get_digit"}) == ["line 1: get_digit(...)"]


def _writes_its_answer(images, n):
    images[n - 1] = images[n]  # wrong image, copied where a test would read the right one
    return images[n].copy()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda a: a.__setitem__(0, 9), "1 of the 6 values in the array were changed"),
        (lambda a: setattr(a, "shape", (3, 2)), "the shape of the array went from (6,) to (3, 2)"),
        (lambda a: np.random.default_rng(0).shuffle(a), "values"),
    ],
    ids=["write", "shape", "shuffle"],
)
def test_call_refuses_any_change_to_an_argument(change, words):
    x = np.arange(6.0)
    with pytest.raises(CheckFailed, match="changed its first argument in place") as failed:
        call(lambda a: change(a), x, name="f")
    assert words.replace("its shape", "the shape of the array") in str(failed.value) or words in str(
        failed.value
    )


def test_call_catches_an_answer_written_into_the_argument_and_shared_arguments():
    stack = np.arange(3 * 4).reshape(3, 4)
    with pytest.raises(CheckFailed, match="in place"):
        call(_writes_its_answer, stack, 1, name="get_digit")
    both = {"W": np.ones(2)}

    def doubles_grads(params, grads, learning_rate):
        grads["W"] *= 2
        return {"W": params["W"] - learning_rate * grads["W"]}

    with pytest.raises(
        CheckFailed, match=r"first argument in place \(2 of the 2 values in the entry \['W'\]"
    ):
        call(doubles_grads, both, both, 0.1, name="sgd_step")


def test_call_lets_generators_and_untouched_arguments_be():
    rng = np.random.default_rng(0)
    history = {"val_loss": [0.3, 0.2]}
    assert call(lambda h, r: r.random() + len(h), history, rng, name="f") > 0
