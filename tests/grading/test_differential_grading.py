"""The grade agrees with the notebook for in-place changes, through ``mnistlib grade`` and ``nbgrader``.

The end-to-end half of tests/grading/test_differential.py (issue 26, item 1). One generated class is
graded once by each runner: for each kind of in-place change in tests/checks/in_place.py, one learner
whose every answer cell (of notebooks 01 and 02) is the solution plus that change to its argument. Each
learner's notebook is also executed as the learner runs it, in its own kernel, in quick mode. For every
test cell the message (as ``mnistlib grade`` reports it, from the cell's error) must be the same in the
learner's run, in ``mnistlib grade``'s results and in ``nbgrader autograde``'s notebook; and, since every
contract leaves its arguments unchanged, no such test cell passes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from checks.in_place import KINDS, variant_source
from nbclient import NotebookClient

from mnistlib.grading import diagnose

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = ["01-loading-data", "02-reshaping"]
LEARNERS = {f"in-place-{i}": kind for i, kind in enumerate(KINDS)}
VENV_BIN = Path(sys.executable).parent


def learner_notebook(assignment: str, kind: str):
    """The worked solution with every answer cell's function changing its argument ``kind``'s way."""
    notebook = nbformat.read(REPO / "solutions" / f"{assignment}.ipynb", as_version=4)
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            cell.source = variant_source(cell.source, meta["grade_id"], kind)
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory, mnist_idx_dir):
    tmp = tmp_path_factory.mktemp("differential")
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "MNISTLIB_QUICK")}
    env.update(MNISTLIB_DATA=str(mnist_idx_dir), PATH=os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]))
    submitted = tmp / "class" / "submitted"
    for learner, kind in LEARNERS.items():
        for assignment in ASSIGNMENTS:
            target = submitted / learner / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True)
            nbformat.write(learner_notebook(assignment, kind), target)
    runs: dict[str, dict] = {"notebook": {}, "mnistlib": {}, "nbgrader": {}}
    # as the learner runs it: the notebook in its own kernel, quick mode, no grader anywhere
    for learner in LEARNERS:
        for assignment in ASSIGNMENTS:
            path = submitted / learner / assignment / f"{assignment}.ipynb"
            notebook = nbformat.read(path, as_version=4)
            os.environ["MNISTLIB_QUICK"] = "1"
            try:
                NotebookClient(
                    notebook,
                    timeout=120,
                    allow_errors=True,
                    resources={"metadata": {"path": str(path.parent)}},
                ).execute()
            finally:
                os.environ.pop("MNISTLIB_QUICK", None)
            source = diagnose.read_notebook(REPO / "course" / "source" / assignment / f"{assignment}.ipynb")
            runs["notebook"][learner, assignment] = diagnose.test_messages(notebook, source)
    # mnistlib grade, once for the class
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mnistlib",
            "grade",
            str(tmp / "class"),
            "--jobs",
            "2",
            "--timeout",
            "120",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=1800,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    for result in json.loads(done.stdout)["results"]:
        runs["mnistlib"][result["student"], result["assignment"]] = {
            e["grade_id"]: e["message"] for e in result["exercises"] if e["score"] < e["max_score"]
        }
    # nbgrader autograde, once for the class
    course = tmp / "course"
    course.mkdir()
    shutil.copytree(REPO / "course" / "source", course / "source")
    shutil.copyfile(REPO / "course" / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(submitted, course / "submitted")
    for step in ("generate_assignment", "autograde"):
        for assignment in ASSIGNMENTS:
            ran = subprocess.run(
                [str(VENV_BIN / "nbgrader"), step, assignment],
                cwd=course,
                env=env,
                capture_output=True,
                text=True,
            )
            assert ran.returncode == 0, ran.stderr[-3000:]
    for learner in LEARNERS:
        for assignment in ASSIGNMENTS:
            source = diagnose.read_notebook(course / "source" / assignment / f"{assignment}.ipynb")
            graded_nb = diagnose.read_notebook(
                course / "autograded" / learner / assignment / f"{assignment}.ipynb"
            )
            runs["nbgrader"][learner, assignment] = diagnose.test_messages(graded_nb, source)
    return runs


CASES = [(learner, assignment) for learner in LEARNERS for assignment in ASSIGNMENTS]


@pytest.mark.parametrize(("learner", "assignment"), CASES, ids=[f"{LEARNERS[who]}-{a}" for who, a in CASES])
@pytest.mark.parametrize("runner", ["mnistlib", "nbgrader"])
def test_the_grader_gives_the_notebooks_verdict_and_message(graded, runner, learner, assignment):
    in_notebook = graded["notebook"][learner, assignment]
    assert graded[runner][learner, assignment] == in_notebook


@pytest.mark.parametrize(("learner", "assignment"), CASES, ids=[f"{LEARNERS[who]}-{a}" for who, a in CASES])
def test_no_in_place_change_passes(graded, learner, assignment):
    source = json.loads((REPO / "course" / "source" / assignment / f"{assignment}.ipynb").read_text())
    tests = [
        c["metadata"]["nbgrader"]["grade_id"]
        for c in source["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
        and c["metadata"]["nbgrader"]["grade_id"].startswith("test_")
    ]
    failing = graded["notebook"][learner, assignment]
    assert sorted(failing) == sorted(tests), f"{LEARNERS[learner]}: passes {set(tests) - set(failing)}"
