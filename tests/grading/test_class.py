"""`mnistlib grade` over a class of real notebooks: every robustness case, in one parallel run.

The class folder (tests/grading/fixtures/class/submitted/<student>/toy/toy.ipynb) holds
what learners really hand in, one case per student, for a three-exercise toy
course (tests/grading/fixtures/course). One run of the command grades them all
with two workers, a 5 s per-cell time limit and a 600 MB memory limit.
"""

from __future__ import annotations

import csv
import html
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from grading.runs import mnistlib_grade, results_of

from mnistlib.grading import sandbox as grading_sandbox

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.slow

# student -> (points out of 4, {exercise: words in its failure message}, words in one of the notes)
EXPECTED = {
    "solution": (4, {}, None),
    "untouched": (0, {"add_one": "not written yet", "scale_pixels": "not written yet"}, None),
    "bug-scale": (2, {"scale_pixels": "dtype float32"}, None),
    "hidden-fail": (3, {"add_one": "add exactly one, also to negative numbers"}, None),
    "syntax-error": (3, {"add_one": "SyntaxError"}, "has a syntax error"),
    "exception": (2, {"scale_pixels": "ValueError: cannot reshape"}, "raised ZeroDivisionError"),
    "infinite-loop": (3, {"add_one": "time limit"}, "ran longer than the 5 s limit"),
    "memory-hog": (4, {}, "ran out of memory (the grader allows 600 MB)"),
    "kernel-crash": (4, {}, "the Python kernel died"),
    "deleted-answer": (3, {"add_one": "`add_one` is not defined"}, "answer cell of `add_one` was deleted"),
    "deleted-test": (4, {}, "test cell `test_add_one` was deleted; the grader put it back"),
    "deleted-both": (3, {"add_one": "not defined"}, "test cell `test_add_one` was deleted"),
    "edited-test": (2, {"scale_pixels": "dtype uint8"}, "editing a test never earns points"),
    "redefined": (4, {}, "`add_one` is defined again"),
    "monkeypatch": (0, {"add_one": "got:      None"}, "changes `checks.expect_equal`"),
    "output-flood": (4, {}, "printed too much"),
    "not-json": (0, {"add_one": "not run: the notebook could not be read"}, "not valid JSON"),
    "empty-file": (0, {"count_label": "not run: the notebook could not be read"}, "is empty"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("class")
    done = mnistlib_grade(
        "--course",
        FIXTURES / "course",
        FIXTURES / "class",
        *("--jobs", "2", "--timeout", "5", "--memory-mb", "600", "--json"),
        *("--csv", out / "grades.csv", "--feedback", out / "feedback"),
    )
    return done, {r["student"]: r for r in results_of(done)}, out


def test_every_case_is_graded_and_the_command_fails_below_full_marks(graded):
    done, results, _ = graded
    assert set(results) == set(EXPECTED)
    assert done.returncode == 1
    assert all(r["error"] is None for r in results.values())


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_case_gets_its_points_and_a_clear_reason(graded, student):
    _, results, _ = graded
    points, messages, note = EXPECTED[student]
    result = results[student]
    assert (result["score"], result["max_score"]) == (points, 4), result
    by_name = {e["name"]: e for e in result["exercises"]}
    for exercise, words in messages.items():
        assert by_name[exercise]["score"] == 0
        assert words in by_name[exercise]["message"], by_name[exercise]["message"]
    for e in result["exercises"]:
        assert (e["message"] is None) == (e["score"] == e["max_score"])
    if note:
        assert any(note in n for n in result["notes"]), result["notes"]


def test_the_csv_matches_nbgrader_export(graded):
    _, results, out = graded
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert {r["student_id"]: float(r["score"]) for r in rows} == {
        s: float(p) for s, (p, _, _) in EXPECTED.items()
    }
    assert {r["max_score"] for r in rows} == {"4.0"} and {r["assignment"] for r in rows} == {"toy"}


def _text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_feedback_shows_hidden_test_messages_but_not_their_code(graded):
    _, _, out = graded
    page = _text(out / "feedback" / "hidden-fail" / "toy.html")
    assert "add exactly one, also to negative numbers" in page  # the hidden test's message
    assert "hidden tests: not shown" in page
    assert "call(add_one, -5)" not in page and "BEGIN HIDDEN" not in page  # its code
    solution_page = _text(out / "feedback" / "solution" / "toy.html")
    assert "expect_close(call(scale_pixels, big)" not in solution_page


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_the_command_stops_its_workers_and_kernels(stop, tmp_path):
    """A grading run stopped mid-notebook (a scheduler's SIGTERM, or SIGKILL) leaves no process behind:
    no worker grading on by itself, no kernel still looping."""
    import psutil

    notebook = FIXTURES / "class" / "submitted" / "infinite-loop" / "toy" / "toy.ipynb"
    command = [sys.executable, "-m", "mnistlib", "grade", "--course", str(FIXTURES / "course"), str(notebook)]
    run = subprocess.Popen(
        [*command, "--timeout", "300", "--csv", str(tmp_path / "grades.csv")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    parent = psutil.Process(run.pid)
    sandboxes_before = set(Path(tempfile.gettempdir()).glob(f"{grading_sandbox.PREFIX}*"))
    try:
        deadline = time.monotonic() + 120
        while not any("mnistlib.grading.kernel" in _command_line(p) for p in _alive(parent)):
            assert time.monotonic() < deadline and run.poll() is None, "no kernel started"
            time.sleep(0.3)
        time.sleep(3)  # the kernel is in the endless loop now
        family = _alive(parent)
        assert any("mnistlib grade" in _command_line(p) for p in family), "the grading workers (forked) run"
        run.send_signal(stop)
        _, stderr = run.communicate(timeout=60)
        _, left = psutil.wait_procs(family, timeout=30)
        assert left == [], (
            f"still running after the command stopped: {[_command_line(p)[:200] for p in left]}"
        )
        if stop == signal.SIGTERM:
            assert run.returncode == 130
            assert "grading stopped before it finished; nothing was written" in stderr
        assert not (tmp_path / "grades.csv").exists()
        new = set(Path(tempfile.gettempdir()).glob(f"{grading_sandbox.PREFIX}*")) - sandboxes_before
        ours = {p.pid for p in family}  # other grading runs on this machine make sandboxes in /tmp too
        left_behind = {folder for folder in new if _owner_pid(folder) in ours}
        assert left_behind == set()  # the worker closed its sandbox on its way out
    finally:
        for process in _alive(parent):
            process.kill()
        if run.poll() is None:
            run.kill()


def _owner_pid(folder: Path) -> int | None:
    """The pid of the process that made a sandbox folder (its owner file: "PID START"), if readable."""
    try:
        return int((folder / grading_sandbox.OWNER_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _command_line(process) -> str:
    """The process's command line, or "" once it has ended."""
    import psutil

    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""


def _alive(parent) -> list:
    import psutil

    try:
        children = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    alive = []
    for process in children:
        try:  # a process may end (or be a zombie awaiting its parent) between the listing and now
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                process.cmdline()
                alive.append(process)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return alive
