"""Every diagnosis a check makes has a stable mistake id: ``flatten_images/not-scaled``.

The grader's class report (mnistlib.grading.report) counts learners by these ids, so an id must not
change when a hint is reworded, every failure that gives a hint must name one, and one id must mean
one diagnosis within an exercise. Read from the check modules' source (every call, not only the ones
a wrong answer reaches), then seen on real failures.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from checks.exercises import EXERCISES

import mnistlib.checks
from mnistlib.checks import CheckFailed, fail, qualified_mistake
from mnistlib.checks.reshaping import check_flatten_images

CHECKS = Path(mnistlib.checks.__file__).parent
MODULES = sorted(CHECKS.glob("*.py"))
#: The helpers that give a hint, and where their hint goes: fail's third argument, or hint=.
HINTED = {"fail": 2, "expect_close": None, "expect_equal": None}
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def _hinted_calls(tree: ast.AST):
    """``(call, hint node)`` for every fail / expect_close / expect_equal call that passes a hint."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in HINTED:
            position = HINTED[node.func.id]
            hint = node.args[position] if position is not None and len(node.args) > position else None
            hint = next((k.value for k in node.keywords if k.arg == "hint"), hint)
            if hint is not None and not (isinstance(hint, ast.Constant) and hint.value is None):
                yield node, hint


def _slugs(function: ast.AST) -> list[tuple[int, str]]:
    """The mistake ids a function's body names: ``mistake="..."`` keywords and ``mistake = "..."`` lines."""
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.keyword) and node.arg == "mistake" and isinstance(node.value, ast.Constant):
            found.append((node.value.lineno, node.value.value))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            if any(isinstance(t, ast.Name) and t.id == "mistake" for t in node.targets):
                found.append((node.lineno, node.value.value))
    return found


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_every_failure_with_a_hint_names_its_mistake(module):
    tree = ast.parse(module.read_text())
    unnamed = [
        f"{module.name}:{call.lineno}"
        for call, _ in _hinted_calls(tree)
        if not any(k.arg == "mistake" for k in call.keywords)
    ]
    assert unnamed == [], "add mistake='...' to these calls"
    bad = [
        (line, slug) for line, slug in _slugs(tree) if not isinstance(slug, str) or not SLUG.fullmatch(slug)
    ]
    assert bad == [], "mistake ids are lower-case words joined by '-'"


def _reach(tree: ast.Module) -> dict[str, set[str]]:
    """``{check function: names of the module's functions it runs, itself included}``."""
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    calls = {
        name: {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
        & set(functions)
        for name, node in functions.items()
    }
    reached = {}
    for check in (name for name in functions if name.startswith("check_")):
        seen, todo = set(), [check]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += calls[name]
        reached[check] = seen
    return reached


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_one_id_means_one_diagnosis_within_an_exercise(module):
    """Two failures of one exercise never share an id: the report would lump two mistakes together."""
    tree = ast.parse(module.read_text())
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    groups = _reach(tree) or {module.name: set(functions)}  # a helpers-only module: all of it at once
    for exercise, names in groups.items():
        ids = [slug for name in sorted(names) for _, slug in _slugs(functions[name])]
        twice = sorted({slug for slug in ids if ids.count(slug) > 1})
        assert twice == [], f"{module.name}, {exercise}: ids used for two failures: {twice}"


def test_fail_keeps_the_id_and_the_guided_check_adds_its_exercise():
    with pytest.raises(CheckFailed) as raised:
        fail("1", "2", "a hint", mistake="off-by-one")
    assert raised.value.mistake == "off-by-one"
    assert qualified_mistake("one_hot", "off-by-one") == "one_hot/off-by-one"
    assert qualified_mistake("one_hot", "flatten_images/not-scaled") == "flatten_images/not-scaled"
    assert qualified_mistake("one_hot", None) is None


@pytest.mark.parametrize(
    ("wrong", "mistake"),
    [
        ("no scaling", "flatten_images/not-scaled"),
        ("divided by 256", "flatten_images/divided-by-256"),
        ("order='F'", "flatten_images/column-major"),
        ("float64", "flatten_images/float64"),
        ("integer division", "flatten_images/integer-division"),
        ("images.shape = ...", "flatten_images/changed-argument"),
    ],
)
def test_a_wrong_answer_fails_with_its_mistake_id(wrong, mistake, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the guided check writes its progress file here
    function, _ = EXERCISES["flatten_images"].mistakes[wrong]
    with pytest.raises(CheckFailed) as raised:
        check_flatten_images(function)
    assert raised.value.mistake == mistake


def test_a_function_not_written_yet_is_its_own_mistake(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def flatten_images(images):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet") as raised:
        check_flatten_images(flatten_images)
    assert raised.value.mistake == "flatten_images/not-written"
    with pytest.raises(CheckFailed) as raised:
        check_flatten_images(lambda images: np.zeros((len(images), 784), np.float32) + 0.5)
    assert raised.value.mistake == "flatten_images/wrong-values"
