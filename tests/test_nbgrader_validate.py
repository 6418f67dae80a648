"""nbgrader's own verdict on the course's notebooks: ``nbgrader validate`` passes every source
notebook, and ``nbgrader validate --invert`` fails every untouched release (no test passes on it).

A module of its own (not tests/test_course_notebooks.py, which shares the browser test's notebook
runs): the two validate runs are a unit of work for a pytest-xdist worker by themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_course_notebooks import IDS, REPO

pytestmark = pytest.mark.usefixtures("mnist_data")  # load_mnist() offline, from a verified copy


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    """A throw-away nbgrader course root with the sources (validate writes nothing, but be safe)."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy2(REPO / "course" / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "course" / "source", root / "source")
    shutil.copytree(REPO / "course" / "release", root / "release")
    return root


def _validate(root: Path, notebooks: list[Path], *extra: str) -> str:
    """``nbgrader validate`` of the notebooks, as two processes side by side (one per core), each on
    every other notebook; their outputs, one after the other."""
    env = {k: v for k, v in os.environ.items() if k != "MNISTLIB_QUICK"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "nbgrader", "validate", *extra, *map(str, half)],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for half in (notebooks[0::2], notebooks[1::2])
    ]
    with ThreadPoolExecutor(len(runs)) as pool:  # read both pipes at once: neither fills and stalls
        return "".join(pool.map(lambda run: run.communicate(timeout=1800)[0], runs))


@pytest.mark.slow
def test_nbgrader_validate_passes_every_source(course_copy):
    notebooks = [course_copy / "source" / a / f"{a}.ipynb" for a in IDS]
    output = _validate(course_copy, notebooks)
    # nbgrader validate exits 0 even when tests fail: read what it says, notebook by notebook.
    assert output.count("Success! Your notebook passes all the tests.") == len(IDS), output[-4000:]
    assert "VALIDATION FAILED" not in output


@pytest.mark.slow
def test_nbgrader_validate_invert_fails_every_untouched_release(course_copy):
    notebooks = [course_copy / "release" / a / f"{a}.ipynb" for a in IDS]
    output = _validate(course_copy, notebooks, "--invert")
    assert output.count("Success! The notebook does not pass any tests.") == len(IDS), output[-4000:]
