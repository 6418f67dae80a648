"""The grade agrees with the notebook for every known wrong answer, through ``mnistlib grade`` and ``nbgrader``.

The end-to-end half of tests/grading/test_differential.py (issue 26, item 1). Every case of every
exercise (each named mistake of the records, each generated in-place variant, each merely-wrong
attack: tests/grading/differential_class.py) is handed in by one learner of one generated class,
many cases per notebook; the class folder is graded ONCE by ``mnistlib grade`` (sandboxed learner
kernels, checker kernel across the bridge) and ONCE by the real ``nbgrader autograde`` (in three
courses at once, a third of the assignments and its own gradebook each), side by side. For every
test cell, the message each grader reports (``mnistlib grade``'s, and the one it reads from
nbgrader's autograded notebook with :func:`mnistlib.grading.diagnose.test_messages`) must be the one
the learner sees running the cell in the notebook: the same function run by the test cell (visible
check, then hidden tests) in the same Python process, as the notebook's kernel does, the error's
name and text put in the same words (as ``mnistlib.grading.diagnose`` does). Every case fails
its test cell; the right answers that fill up a learner's other exercises pass.

``MNISTLIB_DIFFERENTIAL=01-loading-data,08-gradient-descent-by-hand`` grades only those assignments
(for working on one of them).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from grading.differential_class import REPO, Case, assignments, describe, write_class
from notebook_cells import run_test_cell

from mnistlib import hints
from mnistlib.grading import diagnose

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
ONLY = [a for a in os.environ.get("MNISTLIB_DIFFERENTIAL", "").split(",") if a]
ASSIGNMENTS = [a for a in assignments() if not ONLY or a in ONLY]
RUNNERS = ["mnistlib", "nbgrader"]
SEEN: dict[tuple[str, str, str], str | None] = {}  # (learner, assignment, exercise): in_the_notebook


def in_the_notebook(case: Case) -> str | None:
    """The message the learner sees when the test cell fails on ``case`` in the notebook (None: it passes).

    The answer is made as the learner's answer cell makes it (unpickled, or the attack's code run),
    and the source's whole test cell runs in this process, as in the learner's kernel; an error is
    put in words as the graders put a cell's error output (its name and text).
    """
    from checks.harness import notebook_of

    if case.code is not None:
        namespace = {"np": np}
        exec(compile(case.code, f"<answer cell {case.exercise}>", "exec"), namespace)
        function = namespace[case.exercise]
    else:
        function = pickle.loads(cloudpickle.dumps(case.function))
    hints.reset()  # a fresh kernel: no hint rungs from earlier failures
    try:
        run_test_cell(notebook_of(case.exercise), f"test_{case.exercise}", **{case.exercise: function})
    except Exception as error:
        return diagnose._friendly({"ename": type(error).__name__, "evalue": str(error)}, None)
    finally:
        hints.reset()
    return None


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


def _report(config, line: str) -> None:
    """A line in pytest's output whatever the capture mode (the graders' times)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(f"[differential] {line}")


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
    _report(
        request.config,
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
def test_the_grader_gives_the_notebooks_verdict_and_message(graded, runner, assignment):
    written, runs = graded
    wrong = []
    for (learner, of), answers in written.items():
        if of != assignment:
            continue
        for name, case in answers.items():
            if (learner, assignment, name) not in SEEN:  # one run per case serves both graders
                SEEN[learner, assignment, name] = in_the_notebook(case)
            in_notebook = SEEN[learner, assignment, name]
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
