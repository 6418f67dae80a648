"""A worker grades a notebook again when a kernel never answered (the machine's fault, not the learner's)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from grading.runs import mnistlib_grade, results_of

from mnistlib.course import COURSE
from mnistlib.grading import worker

FIXTURES = Path(__file__).parent / "fixtures"


#: Appended to a course's nbgrader_config.py (which nbgrader executes in the grading worker): every
#: kernel client gives up at once as if its kernel had never answered. The rest is the real pipeline.
SILENT_KERNELS = """
from jupyter_client.asynchronous.client import AsyncKernelClient as _Async
from jupyter_client.blocking.client import BlockingKernelClient as _Blocking


async def _never_answers(self, timeout=None):
    raise RuntimeError("Kernel didn't respond in %d seconds" % (timeout or 0))


def _never_answers_blocking(self, timeout=None):
    raise RuntimeError("Kernel didn't respond in %d seconds" % (timeout or 0))


_Async.wait_for_ready = _never_answers
_Blocking.wait_for_ready = _never_answers_blocking
"""


@pytest.mark.slow
def test_a_kernel_that_never_answers_is_retried_once_then_reported(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(FIXTURES / "course" / "source", course / "source")
    config = (COURSE / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(config + SILENT_KERNELS)
    submission = FIXTURES / "class" / "submitted" / "solution" / "toy" / "toy.ipynb"
    done = mnistlib_grade(submission, "--course", course, "--jobs", "1", "--json", "--no-sandbox")
    (result,) = results_of(done)
    assert result["score"] == 0.0
    assert "Kernel didn't respond" in result["error"], result
    assert result["notes"] == [worker.RETRY_NOTE], "the second attempt is not recorded"


def test_only_a_silent_kernel_counts_as_the_machines_fault():
    assert worker._kernel_never_answered({"log": "RuntimeError: Kernel didn't respond in 180 seconds"})
    assert worker._kernel_never_answered({"error": "Kernel didn't respond in 60 seconds", "log": None})
    assert not worker._kernel_never_answered({"log": "DeadKernelError: Kernel died", "error": ""})
    assert not worker._kernel_never_answered({"log": "CellTimeoutError: A cell timed out", "error": None})
