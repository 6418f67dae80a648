"""The course's nbgrader preprocessors under the real ``nbgrader autograde`` (course/nbgrader_config.py).

A kernel that never answers at start-up is the grading machine's failure, not the learner's:
:class:`GradingExecute` starts another one (in a new sandbox) before giving the notebook up. The
silence is real in its effect: the course's config is appended a few lines that make chosen calls
of jupyter_client's ``wait_for_ready`` give up at once, as it does after ``startup_timeout``
seconds, and record every call. The rest is the real pipeline: nbgrader, the sandbox, the kernels.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from mnistlib.course import COURSE
from mnistlib.grading import kernel

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"
NBGRADER = Path(sys.executable).parent / "nbgrader"
TOY_POINTS = 4.0  # add_one 1, scale_pixels 2, count_label 1

#: Appended to the course's nbgrader_config.py, which nbgrader runs in its own process, where the
#: kernel clients live. {silent}: the numbers (from 1) of the wait_for_ready calls that give up.
SILENT_STARTS = """
from jupyter_client.asynchronous.client import AsyncKernelClient as _Async

# nbgrader may run its config more than once: wrap the real method, never an earlier wrapper
_real_wait = _Async.__dict__.get("_real_wait_for_ready", _Async.wait_for_ready)
_Async._real_wait_for_ready = _real_wait


async def _wait_or_stay_silent(self, timeout=None):
    with open({log!r}, "a+") as log:
        log.seek(0)
        call = len(log.read().split()) + 1
        silent = call in {silent!r}
        log.write(("silent" if silent else "answered") + "\\n")
    if silent:
        raise RuntimeError("Kernel didn't respond in %d seconds" % (timeout or 0))
    return await _real_wait(self, timeout=timeout)


_Async.wait_for_ready = _wait_or_stay_silent
"""


def autograde(
    tmp_path: Path, silent: set[int]
) -> tuple[subprocess.CompletedProcess, list[str], float | None]:
    """``nbgrader autograde toy`` of the worked toy notebook; its run, the calls made, and the score."""
    course, calls = tmp_path / "course", tmp_path / "calls.txt"
    shutil.copytree(FIXTURES / "course" / "source", course / "source")
    config = (COURSE / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(config + SILENT_STARTS.format(log=str(calls), silent=silent))
    submission = course / "submitted" / "learner" / "toy"
    submission.mkdir(parents=True)
    shutil.copy(FIXTURES / "class" / "submitted" / "solution" / "toy" / "toy.ipynb", submission / "toy.ipynb")
    env = dict(os.environ, PATH=f"{NBGRADER.parent}{os.pathsep}{os.environ['PATH']}")  # an activated venv
    for step in ("generate_assignment", "autograde"):
        done = subprocess.run(
            [NBGRADER, step, "toy"], cwd=course, env=env, capture_output=True, text=True, timeout=600
        )
        assert step == "autograde" or done.returncode == 0, done.stderr[-3000:]
    score = None
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        try:
            score = gradebook.find_submission_notebook("toy", "toy", "learner").score
        except Exception:  # noqa: BLE001 - no graded notebook: score stays None
            pass
    made = calls.read_text().split() if calls.is_file() else []
    return done, made, score


def test_a_learner_kernel_that_never_answers_is_replaced_and_the_notebook_graded(tmp_path):
    done, calls, score = autograde(tmp_path, silent={1})
    assert done.returncode == 0, done.stderr[-3000:]
    assert calls[:2] == ["silent", "answered"], calls  # the learner kernel, twice; then the checker
    assert "starting a new kernel (attempt 2 of 2)" in done.stderr
    assert score == TOY_POINTS, done.stderr[-3000:]


def test_a_checker_kernel_that_never_answers_is_replaced_and_the_notebook_graded(tmp_path):
    done, calls, score = autograde(tmp_path, silent={2})
    assert done.returncode == 0, done.stderr[-3000:]
    assert calls[:3] == ["answered", "silent", "answered"], calls  # learner, checker, checker again
    assert "checker: Kernel didn't respond" in done.stderr
    assert score == TOY_POINTS, done.stderr[-3000:]


def test_kernels_that_never_answer_fail_the_notebook_after_two_starts(tmp_path):
    done, calls, score = autograde(tmp_path, silent=set(range(1, 20)))
    assert calls == ["silent", "silent"], "start_attempts is 2: the learner kernel is started twice, no more"
    assert "Kernel didn't respond" in done.stderr
    assert score is None or score == 0.0, "a notebook no kernel ran must not get points"


def test_only_a_kernel_that_never_answered_counts_as_the_machines_fault():
    assert kernel.never_answered(RuntimeError("Kernel didn't respond in 180 seconds"))
    assert kernel.never_answered("RuntimeError: Kernel died before replying to kernel_info")
    assert not kernel.never_answered(RuntimeError("Kernel died"))
    assert not kernel.never_answered("CellTimeoutError: A cell timed out while it was being executed")
