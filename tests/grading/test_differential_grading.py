"""The grade agrees with the notebook for every known wrong answer, through ``mnistlib grade`` and ``nbgrader``.

The end-to-end half of tests/grading/test_differential.py (issue 26, item 1). Every case of every
exercise (each named mistake of the records, each generated in-place variant, each merely-wrong
attack: tests/grading/differential_class.py) is handed in by one learner of one generated class,
many cases per notebook; the class folder is graded ONCE by ``mnistlib grade`` (sandboxed learner
kernels, checker kernel across the bridge) and ONCE by the real ``nbgrader autograde`` (in three
courses at once, a third of the assignments and its own gradebook each), side by side. For every
test cell, the message each grader reports (``mnistlib grade``'s, and the one it reads from
nbgrader's autograded notebook with :func:`mnistlib.grading.diagnose.test_messages`) must be the one
the learner sees running the same notebook in the learner's own kernel (:func:`run_in_learner_kernels`:
a plain ipykernel as JupyterLab starts it, the test cell whole, its error output put in the same
words), run in a thread while the graders work. Every case fails its test cell; the right answers
that fill up a learner's other exercises pass.

``MNISTLIB_DIFFERENTIAL=01-loading-data,08-gradient-descent-by-hand`` grades only those assignments
(for working on one of them).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from grading.differential_class import REPO, assignments, class_of, describe, learner_notebook, write_class
from nbclient import NotebookClient
from notebook_cells import test_cell_source
from report_line import report

from mnistlib.grading import diagnose

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
ONLY = [a for a in os.environ.get("MNISTLIB_DIFFERENTIAL", "").split(",") if a]
ASSIGNMENTS = [a for a in assignments() if not ONLY or a in ONLY]
RUNNERS = ["mnistlib", "nbgrader"]


#: Run before each learner's notebook in its assignment's kernel: what a kernel restart would forget (every
#: name the notebook defined, the hint rungs of earlier failures, the notes printed once, Keras's layer names).
#: Not ``%reset -f`` nor ``clear_session()``'s default: each runs a full garbage collection, which with
#: TensorFlow loaded cost 0.7 s per learner, more than most learners' cells.
FRESH_KERNEL = """\
_name = None
for _name in set(get_ipython().user_ns) - set(get_ipython().user_ns_hidden) - {"_name"}:
    del get_ipython().user_ns[_name]
import sys as _sys
if "mnistlib.hints" in _sys.modules:
    _sys.modules["mnistlib.hints"].reset()
if "mnistlib.progress" in _sys.modules:
    _sys.modules["mnistlib.progress"]._noted.clear()
if "keras" in _sys.modules:
    _sys.modules["keras"].backend.clear_session(free_memory=False)
del _sys, _name
"""


def as_the_notebook_runs(notebook: nbformat.NotebookNode, assignment: str) -> nbformat.NotebookNode:
    """``notebook`` with each test cell whole (its visible check, then its hidden tests), as graders run it."""
    source = REPO / "course" / "source" / assignment / f"{assignment}.ipynb"
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            cell.source = test_cell_source(source, meta["grade_id"])
    return notebook


def run_in_learner_kernels(folder: Path, env: dict) -> dict[tuple[str, str], dict[str, str]]:
    """``{(learner, assignment): {test grade_id: message}}``: each learner's notebook run in a learner's kernel.

    The notebooks are the ones the graders get (:func:`learner_notebook`: the imports, then each answer
    cell and its test cell), each test cell whole. They run in a plain ipykernel started as JupyterLab
    starts one (the ``python3`` kernel of this environment, in the notebook's folder; no sandbox, no
    checker, no grader), every cell run even after an error, as graders run them. One kernel per
    assignment runs its learners one after the other, each after :data:`FRESH_KERNEL`, so TensorFlow is
    imported once per assignment, not once per learner. A failing test cell's message is its error
    output put in words as ``nbgrader``'s side of the test puts it (:func:`diagnose.test_messages`).
    """
    runs = {}
    for assignment in ASSIGNMENTS:
        workdir = folder / assignment  # as a learner's my-work/<assignment>/
        workdir.mkdir(parents=True)
        source = diagnose.read_notebook(REPO / "course" / "source" / assignment / f"{assignment}.ipynb")
        combined, blocks = nbformat.v4.new_notebook(), {}
        for learner, answers in class_of(assignment).items():
            notebook = as_the_notebook_runs(learner_notebook(assignment, answers), assignment)
            blocks[learner] = notebook
            combined.cells += [nbformat.v4.new_code_cell(FRESH_KERNEL), *notebook.cells]
        client = NotebookClient(
            combined,
            kernel_name="python3",
            timeout=600,
            allow_errors=True,  # a failing test cell does not stop the learner's later cells
            resources={"metadata": {"path": str(workdir)}},
        )
        client.execute(env=env)  # the cells of ``blocks`` are the same objects: their outputs are filled
        for cell in combined.cells:
            if cell.source == FRESH_KERNEL and cell.outputs:
                raise AssertionError(f"{assignment}: forgetting the last learner printed {cell.outputs}")
        for learner, notebook in blocks.items():
            runs[learner, assignment] = diagnose.test_messages(notebook, source)
    return runs


@pytest.fixture(scope="module")
def in_the_notebook(tmp_path_factory, mnist_idx_dir):
    """The notebook side, run in a thread alongside the graders (:func:`graded`): a future of its runs."""
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "MNISTLIB_QUICK")}
    env.update(MNISTLIB_DATA=str(mnist_idx_dir), MALLOC_ARENA_MAX="2")  # as `make lab` starts JupyterLab
    folder = tmp_path_factory.mktemp("in-the-notebook")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(run_in_learner_kernels, folder, env)


#: nbgrader courses graded side by side, each with its share of the assignments and its own gradebook:
#: ``nbgrader autograde`` grades one notebook at a time and waits on its kernels most of that time.
NBGRADER_COURSES = 3


def groups(assignments: list[str], written: dict, count: int = NBGRADER_COURSES) -> list[list[str]]:
    """``assignments`` in up to ``count`` groups with about as many submissions each, largest first."""
    size = {a: sum(1 for _, of in written if of == a) for a in assignments}
    found: list[list[str]] = [[] for _ in range(count)]
    for assignment in sorted(assignments, key=lambda a: (-size[a], a)):
        min(found, key=lambda g: sum(size[a] for a in g)).append(assignment)
    return [g for g in found if g]


def _nbgrader_course(course: Path, assignments: list[str], submitted: Path, env: dict) -> float:
    """``nbgrader generate_assignment`` then ``autograde`` of ``assignments`` in a course of their own."""
    started = time.perf_counter()
    course.mkdir()
    shutil.copytree(REPO / "course" / "source", course / "source")
    shutil.copyfile(REPO / "course" / "nbgrader_config.py", course / "nbgrader_config.py")
    for learner in submitted.iterdir():  # these assignments' submissions only
        for assignment in assignments:
            if (learner / assignment).is_dir():
                shutil.copytree(learner / assignment, course / "submitted" / learner.name / assignment)
    for step in ("generate_assignment", "autograde"):
        for assignment in assignments:
            ran = subprocess.run(
                [str(VENV_BIN / "nbgrader"), step, assignment],
                cwd=course,
                env=env,
                capture_output=True,
                text=True,
                timeout=5400,
            )
            assert ran.returncode == 0, f"nbgrader {step} {assignment}:\n{ran.stderr[-3000:]}"
    return time.perf_counter() - started


def _seconds_until_done(process: subprocess.Popen, started: float) -> float:
    process.wait(timeout=5400)
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory, mnist_idx_dir):
    tmp = tmp_path_factory.mktemp("differential")
    written = write_class(tmp / "class", ASSIGNMENTS)
    (tmp / "class.json").write_text(describe(written))
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "MNISTLIB_QUICK")}
    env.update(MNISTLIB_DATA=str(mnist_idx_dir), PATH=os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]))
    runs: dict[str, dict] = {runner: {} for runner in RUNNERS}
    # mnistlib grade (two workers) once for the class, and beside it the real nbgrader in
    # NBGRADER_COURSES courses at once: the grading waits on kernels, so both cores stay busy
    out, log = (tmp / "grade.json").open("w"), (tmp / "grade.log").open("w")
    started = time.perf_counter()
    grading = subprocess.Popen(
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
        stdout=out,  # files, not pipes: nothing blocks while nbgrader runs
        stderr=log,
        env=env,
        cwd=tmp,
    )
    courses = {}
    try:
        parts = groups(ASSIGNMENTS, written)
        with ThreadPoolExecutor(len(parts) + 1) as pool:
            waited = pool.submit(_seconds_until_done, grading, started)
            futures = {}
            for number, part in enumerate(parts):
                course = tmp / f"course-{number}"
                futures[course] = pool.submit(
                    _nbgrader_course, course, part, tmp / "class" / "submitted", env
                )
                courses.update(dict.fromkeys(part, course))
            try:
                nbgrader_s = {course: future.result() for course, future in futures.items()}
            except BaseException:
                grading.kill()  # no wait for it: the test fails anyway
                raise
            mnistlib_s = waited.result()
    finally:
        if grading.poll() is None:
            grading.kill()
            grading.wait()
        out.close()
        log.close()
    report(
        request.config,
        "differential",
        f"{len(written)} notebooks: mnistlib grade {mnistlib_s:.0f} s; nbgrader "
        + ", ".join(f"{c.name} {s:.0f} s" for c, s in nbgrader_s.items()),
    )
    assert grading.returncode in (0, 1), (tmp / "grade.log").read_text()[-3000:]
    for result in json.loads((tmp / "grade.json").read_text())["results"]:
        assert result["error"] is None, result
        runs["mnistlib"][result["student"], result["assignment"]] = {
            e["grade_id"]: e["message"] for e in result["exercises"] if e["score"] < e["max_score"]
        }
    for learner, assignment in written:
        course = courses[assignment]
        source = diagnose.read_notebook(course / "source" / assignment / f"{assignment}.ipynb")
        autograded = diagnose.read_notebook(
            course / "autograded" / learner / assignment / f"{assignment}.ipynb"
        )
        runs["nbgrader"][learner, assignment] = diagnose.test_messages(autograded, source)
    return written, runs


CASES = [(runner, assignment) for runner in RUNNERS for assignment in ASSIGNMENTS]


@pytest.mark.parametrize(("runner", "assignment"), CASES, ids=[f"{r}-{a}" for r, a in CASES])
def test_the_grader_gives_the_notebooks_verdict_and_message(in_the_notebook, graded, runner, assignment):
    written, runs = graded
    in_notebook_runs = in_the_notebook.result()
    wrong = []
    for (learner, of), answers in written.items():
        if of != assignment:
            continue
        for name, case in answers.items():
            in_notebook = in_notebook_runs[learner, assignment].get(f"test_{name}")
            by_grader = runs[runner][learner, assignment].get(f"test_{name}")
            if by_grader != in_notebook:
                wrong.append(
                    f"{learner} {name} ({case.label}):\n  notebook: {in_notebook}\n  {runner}: {by_grader}"
                )
            if (in_notebook is None) != (case.label == "right answer"):
                wrong.append(
                    f"{learner} {name} ({case.label}) {'passes' if in_notebook is None else 'fails'}"
                )
    assert not wrong, "\n".join(wrong)
