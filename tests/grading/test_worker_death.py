"""A grading worker that dies takes down only its own notebook (issue 24, class 4).

When one process of ``mnistlib grade``'s pool dies (the OOM killer picks it while a learner's
kernel floods it, say), Python's pool fails every job still in it. The learner whose notebook
was being graded must not zero the class: here the test kills, with SIGKILL, the worker grading
a learner whose kernel starts a marked ``sleep`` (each time it sees one), and the other learners
must still be graded exactly, the victim reported as failed with the reason, never as a 0 grade.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest
from attacks import CONTROL, SOLUTIONS
from attacks.host import ASSIGNMENT

from mnistlib.grading.command import WORKER_DIED

pytestmark = pytest.mark.slow


def _victim(marker: str) -> dict:
    notebook = json.loads((SOLUTIONS / f"{ASSIGNMENT}.ipynb").read_text())
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": f"import subprocess, time\nsubprocess.Popen(['sleep', '{marker}'])\ntime.sleep(40)\n",
    }
    notebook["cells"].insert(1, cell)
    return notebook


def _worker_of(pid: int, grader: int) -> int | None:
    """The ancestor of ``pid`` whose parent is the ``mnistlib grade`` process: its worker."""
    try:
        process = psutil.Process(pid)
        while process is not None and process.ppid() != grader:
            process = process.parent()
        return process.pid if process is not None else None
    except psutil.Error:
        return None


def test_a_dead_worker_costs_only_its_own_notebook(tmp_path, mnist_idx_dir):
    marker = f"600.{uuid.uuid4().int % 10**9}"
    learners = [f"{CONTROL}-{n}" for n in range(3)]
    for learner in [*learners, "victim"]:
        target = tmp_path / "class" / "submitted" / learner / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(parents=True)
        if learner == "victim":
            target.write_text(json.dumps(_victim(marker)))
        else:
            target.write_bytes((SOLUTIONS / f"{ASSIGNMENT}.ipynb").read_bytes())
    env = {**os.environ, "MNISTLIB_DATA": str(mnist_idx_dir)}
    argv = [sys.executable, "-m", "mnistlib", "grade", str(tmp_path / "class"), "--jobs", "2", "--json"]
    argv += ["--timeout", "60", "--csv", str(tmp_path / "grades.csv")]
    with open(tmp_path / "out.json", "w") as out, open(tmp_path / "err.txt", "w") as err:
        grader = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        kills = 0
        deadline = time.monotonic() + 900
        while grader.poll() is None and time.monotonic() < deadline:
            for process in psutil.process_iter(["pid", "cmdline"]):
                if marker in " ".join(process.info.get("cmdline") or []):
                    worker = _worker_of(process.info["pid"], grader.pid)
                    if worker is not None:
                        os.kill(worker, signal.SIGKILL)
                        kills += 1
                        time.sleep(2)
            time.sleep(0.2)
        if grader.poll() is None:
            grader.kill()
    assert kills >= 2, f"the victim's worker was killed {kills} times"
    results = {r["student"]: r for r in json.loads((tmp_path / "out.json").read_text())["results"]}
    assert set(results) == {*learners, "victim"}, (tmp_path / "err.txt").read_text()[-3000:]
    for learner in learners:
        result = results[learner]
        assert result["error"] is None and result["score"] == result["max_score"] > 0, result
    assert results["victim"]["error"] == WORKER_DIED
    rows = {row["student_id"]: row for row in csv.DictReader((tmp_path / "grades.csv").open())}
    assert rows["victim"]["score"] == "", "a notebook the grader could not grade is written as a score"
    assert all(float(rows[learner]["score"]) == results[learner]["score"] for learner in learners)
