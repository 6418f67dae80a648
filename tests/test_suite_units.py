"""How tests/conftest.py splits the suite for pytest-xdist workers (CONTRIBUTING.md, Tests).

Each module is one unit of work, run whole by one worker, so its module-scoped set-ups are made
once; modules sharing a session fixture or a set-up kept in memory are one unit; under a worker
the longest units come first, each unit's tests together and in their own order.
"""

from __future__ import annotations

import ast

import conftest
import pytest

REPO = conftest.Path(__file__).resolve().parents[1]


class Item:
    """What the hook reads of a collected test: its node id, fixtures, parameters, markers and keywords."""

    def __init__(self, nodeid: str, *fixtures: str, **params: str) -> None:
        self.nodeid = nodeid
        self.fixturenames = ["isolated_env", *fixtures]
        self.keywords: dict[str, object] = {}
        if params:
            self.callspec = conftest.SimpleNamespace(params=params)

    def add_marker(self, marker) -> None:
        self.keywords[marker.mark.name] = True


def collected() -> list[Item]:
    return [
        Item("tests/test_alpha.py::test_one"),
        Item("tests/docs/test_beta.py::test_needs_a_clone", "fresh_clone"),
        Item("tests/docs/test_beta.py::test_plain"),
        Item("tests/test_gamma.py::test_too", "walkthrough", "fresh_clone"),
        Item("tests/test_course_notebooks.py::test_runs"),
        Item("tests/export/test_d.py::test_export", "guide_clone"),
        Item("tests/test_alpha.py::test_two"),
        Item("tests/grading/test_attacks.py::test_graded[nbgrader]", "graded", graded="nbgrader"),
        Item("tests/test_browser.py::test_in_chromium"),
    ]


def test_a_module_is_one_unit_and_modules_sharing_a_set_up_are_one():
    items = collected()
    conftest.pytest_collection_modifyitems(None, items)
    units = conftest._units(items)
    unit = {item.nodeid: units[item.nodeid.split("::")[0]] for item in items}
    assert (
        unit["tests/test_alpha.py::test_one"]
        == unit["tests/test_alpha.py::test_two"]
        == "tests/test_alpha.py"
    )
    # a module is in a shared fixture's unit as soon as one of its tests uses the fixture
    assert {unit[i] for i in unit if i.startswith(("tests/docs/test_beta.py", "tests/test_gamma.py"))} == {
        "fresh-clone"
    }
    assert unit["tests/export/test_d.py::test_export"] == "guide-clone"
    assert unit["tests/test_browser.py::test_in_chromium"] == "notebook-runs"
    assert unit["tests/test_course_notebooks.py::test_runs"] == "notebook-runs"
    assert all("slow" in item.keywords for item in items if "fresh_clone" in item.fixturenames)


def test_a_module_sharing_memory_takes_its_partner_into_a_shared_fixtures_unit():
    items = [
        Item("tests/test_browser.py::test_x", "guide_clone"),
        Item("tests/test_course_notebooks.py::test_y"),
    ]
    assert conftest._units(items) == {
        "tests/test_browser.py": "guide-clone",
        "tests/test_course_notebooks.py": "guide-clone",
    }


def test_a_worker_runs_the_longest_units_first_each_whole_and_in_order(monkeypatch, tmp_path):
    units_file = tmp_path / "units.json"
    monkeypatch.setenv(conftest.UNITS_FILE, str(units_file))
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    items = collected()
    conftest.pytest_collection_modifyitems(None, items)
    told = conftest.json.loads(units_file.read_text())  # what the scheduler reads
    assert list(told) == [item.nodeid for item in items]
    order = list(told.values())
    runs = [unit for number, unit in enumerate(order) if number == 0 or order[number - 1] != unit]
    assert len(runs) == len(set(runs)), f"a unit is split: {order}"
    ranked = [u for u in runs if u in conftest.LONGEST_FIRST]
    assert runs[: len(ranked)] == sorted(ranked, key=conftest.LONGEST_FIRST.index)
    assert runs[len(ranked) :] == ["tests/test_alpha.py"], "the others follow in the order collected"
    beta = [item.nodeid for item in items if item.nodeid.startswith("tests/docs/test_beta.py")]
    assert beta == ["tests/docs/test_beta.py::test_needs_a_clone", "tests/docs/test_beta.py::test_plain"]


def test_each_graders_run_of_a_split_module_is_a_unit_of_its_own(monkeypatch, tmp_path):
    """tests/grading/test_attacks.py: its mnistlib and nbgrader runs go to two workers; a test of the
    module that uses neither run is in the module's own unit."""
    units_file = tmp_path / "units.json"
    monkeypatch.setenv(conftest.UNITS_FILE, str(units_file))
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    attacks = "tests/grading/test_attacks.py"
    items = [
        Item(f"{attacks}::test_every_learner_is_graded[mnistlib]", "graded", graded="mnistlib"),
        Item(f"{attacks}::test_the_tricked_exercise_scores_zero[mnistlib-a]", "graded", graded="mnistlib"),
        Item(f"{attacks}::test_every_learner_is_graded[nbgrader]", "graded", graded="nbgrader"),
        Item(f"{attacks}::test_the_tricked_exercise_scores_zero[nbgrader-a]", "graded", graded="nbgrader"),
        Item(f"{attacks}::test_plain"),
        Item("tests/test_alpha.py::test_one", "walkthrough", graded="other module's own parameter"),
    ]
    conftest.pytest_collection_modifyitems(None, items)
    told = conftest.json.loads(units_file.read_text())
    assert told == {
        f"{attacks}::test_every_learner_is_graded[nbgrader]": f"{attacks}[nbgrader]",
        f"{attacks}::test_the_tricked_exercise_scores_zero[nbgrader-a]": f"{attacks}[nbgrader]",
        f"{attacks}::test_every_learner_is_graded[mnistlib]": f"{attacks}[mnistlib]",
        f"{attacks}::test_the_tricked_exercise_scores_zero[mnistlib-a]": f"{attacks}[mnistlib]",
        f"{attacks}::test_plain": attacks,
        "tests/test_alpha.py::test_one": "tests/test_alpha.py",
    }
    assert list(told)[:4] == [
        f"{attacks}::test_every_learner_is_graded[nbgrader]",
        f"{attacks}::test_the_tricked_exercise_scores_zero[nbgrader-a]",
        f"{attacks}::test_every_learner_is_graded[mnistlib]",
        f"{attacks}::test_the_tricked_exercise_scores_zero[mnistlib-a]",
    ], "the longest halves first (LONGEST_FIRST)"


def test_without_workers_the_order_is_the_collected_one(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    items = collected()
    before = [item.nodeid for item in items]
    conftest.pytest_collection_modifyitems(None, items)
    assert [item.nodeid for item in items] == before


@pytest.mark.parametrize("name", conftest.LONGEST_FIRST + list(conftest.SHARED_MODULES))
def test_every_unit_named_in_the_schedule_exists(name):
    """A renamed or removed module must not linger in the lists (it would silently be scheduled last)."""
    shared = set(conftest.SHARED_FIXTURES.values()) | set(conftest.SHARED_MODULES.values())
    module, _, param = name.partition("[")
    assert name in shared or (REPO / module).is_file(), f"{name} is neither a shared unit nor a test module"
    if param:  # a grader's half of a module split by its fixture's parameter
        assert module in conftest.SPLIT_BY_PARAM, f"{module} is not split by a parameter"
        tree = ast.parse((REPO / module).read_text())
        runners = next(
            ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "RUNNERS"
        )
        assert param.rstrip("]") in runners, f"{name}: no such run in {module} (RUNNERS: {runners})"
