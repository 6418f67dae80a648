"""docs/instructor.md, run for real: every `nbgrader` and `mnistlib` command it shows.

The commands are read from the page's ```bash blocks and run in order through the
real nbgrader CLI, on the toy course (tests/grading_fixtures/course) with
``02-reshaping`` replaced by ``toy`` and a temporary exchange. Two learners hand
in work (one by the page's ``nbgrader submit``, one more with ``--student``), and
the grades of ``nbgrader export`` must equal those of ``mnistlib grade`` on the
same ``submitted/`` folder: the learner's command gives the instructor's grade.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "grading_fixtures"
DOC = REPO / "docs" / "instructor.md"
LEARNER_VERBS = {"fetch_assignment", "submit", "fetch_feedback"}

pytestmark = pytest.mark.slow


def doc_commands() -> list[str]:
    """The `nbgrader ...` and `mnistlib ...` lines of the page's bash blocks, comments removed."""
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith(("nbgrader ", "mnistlib "))]


def test_the_page_shows_the_whole_nbgrader_workflow():
    verbs = [c.split()[1] for c in doc_commands() if c.startswith("nbgrader")]
    for verb in [
        "generate_assignment",
        "release_assignment",
        "fetch_assignment",
        "submit",
        "collect",
        "autograde",
        "generate_feedback",
        "release_feedback",
        "export",
        "fetch_feedback",
    ]:
        assert verb in verbs


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instructor")
    course, learner, exchange, config = (
        tmp / "course",
        tmp / "learner",
        tmp / "exchange",
        tmp / "jupyter-config",
    )
    course.mkdir()
    shutil.copy(REPO / "course" / "nbgrader_config.py", course)
    shutil.copytree(FIXTURES / "course" / "source", course / "source")
    for folder in (learner, exchange, config):
        folder.mkdir()
    exchange.chmod(0o777)
    (config / "nbgrader_config.py").write_text(f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    env.pop("NBGRADER_EXECUTION", None)
    ran = []

    def run(command: str, cwd: Path) -> subprocess.CompletedProcess:
        argv = shlex.split(command.replace("02-reshaping", "toy"))
        if argv[0] == "mnistlib":
            argv = [sys.executable, "-m", "mnistlib", *argv[1:], "--course", str(course), "--timeout", "20"]
        else:
            argv = [sys.executable, "-m", "nbgrader", *argv[1:]]
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        ran.append((command, done))
        return done

    for command in doc_commands():
        verb = command.split()[1]
        if command.startswith("nbgrader submit"):  # the learner works, then hands in
            shutil.copy(FIXTURES / "class" / "submitted" / "solution" / "toy" / "toy.ipynb", learner / "toy")
            done = run(command, learner)
            assert done.returncode == 0, done.stderr
            other = learner / "other"
            shutil.copytree(learner / "toy", other / "toy")
            shutil.copy(FIXTURES / "class" / "submitted" / "bug-scale" / "toy" / "toy.ipynb", other / "toy")
            run("nbgrader submit 02-reshaping --course mnist-keras-course --student=bob", other)
            continue
        if command.startswith("mnistlib grade") and command.split()[2].endswith(".ipynb"):
            shutil.copy(learner / "toy" / "toy.ipynb", learner / "toy.ipynb")
            run(command, learner)
            continue
        run(command, learner if verb in LEARNER_VERBS else course)
        if verb == "export":  # keep nbgrader's CSV: mnistlib grade --csv grades.csv writes the same name
            shutil.copy(course / "grades.csv", tmp / "nbgrader-export.csv")
    return course, learner, ran


def test_every_command_of_the_page_runs(walkthrough):
    _, _, ran = walkthrough
    assert [c for c, _ in ran if "--student=bob" not in c] == doc_commands()
    for command, done in ran:
        # a class with a learner below full marks makes `mnistlib grade` exit 1, by design
        ok = (0, 1) if command.startswith("mnistlib grade submitted") else (0,)
        assert done.returncode in ok, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def _scores(path: Path) -> dict[str, float]:
    return {row["student_id"]: float(row["score"]) for row in csv.DictReader(path.open())}


def test_mnistlib_grade_gives_the_grades_of_nbgrader_export(walkthrough):
    course, _, _ = walkthrough
    ours = course / "grades.csv"  # written last, by mnistlib grade --csv grades.csv
    theirs = course.parent / "nbgrader-export.csv"
    assert sorted(_scores(theirs).values()) == [2.0, 4.0]
    assert _scores(ours) == _scores(theirs)
    assert next(csv.reader(ours.open())) == next(csv.reader(theirs.open()))


def test_feedback_pages_hide_hidden_tests(walkthrough):
    course, learner, _ = walkthrough
    fetched = list((learner / "toy" / "feedback").rglob("toy.html"))
    assert fetched, "nbgrader fetch_feedback brought no page"
    pages = fetched + list((course / "feedback-html").rglob("*.html"))
    for page in pages:
        text = page.read_text()
        assert "call(add_one, -5)" not in text and "BEGIN HIDDEN" not in text
        assert "hidden tests: not shown" in text


def test_the_learner_alone_gets_full_marks_and_exit_zero(walkthrough):
    _, _, ran = walkthrough
    done = next(d for c, d in ran if c == "mnistlib grade 02-reshaping.ipynb")
    assert "total           4 / 4" in done.stdout or re.search(r"total\s+4 / 4", done.stdout)
    assert done.returncode == 0
