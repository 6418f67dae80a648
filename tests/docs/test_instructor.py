"""docs/instructor.md, section 2, run as written through the real nbgrader CLI on a fresh clone.

The instructor generates and releases ``01-loading-data``; three learners hand in, all from one
account as the page shows: the account's own learner untouched (0 of 3 points), ``ada`` with
the worked solution (3 of 3) and ``bo`` (the page's ``--student`` block with ``ada`` replaced)
with one bug in ``label_counts`` (loses exactly its 1 point: 2 of 3). Then collect, autograde,
feedback, export, and ``mnistlib grade`` on the same ``submitted/`` folder, whose grades must
equal ``nbgrader export``'s. Only two things differ from the page: the exchange is a temporary
folder instead of /srv/nbgrader/exchange, and ``HOME`` is a temporary folder.
"""

from __future__ import annotations

import csv
import getpass
import json
import re
import subprocess
from pathlib import Path

import pytest
from doc_commands import block
from fresh_clone import run_block, run_script

pytestmark = pytest.mark.slow

DOC = "docs/instructor.md"
SECTION = "2. Single machine"
ASSIGNMENT = "01-loading-data"
#: Lines nbgrader or the kernel printed on every command before issue 12 was fixed.
NOISE = ("is not absolute", "not recognized by", "without encryption", "SAWarning")
#: A line of the hidden tests of notebook 01 (it must never reach a learner's feedback).
HIDDEN_LINE = "stack = np.arange(5 * 28 * 28"


def with_bug_in_label_counts(solution: Path, target: Path) -> None:
    notebook = json.loads(solution.read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "label_counts":
            source = "".join(cell["source"])
            head = source[: source.index('    """', source.index('"""') + 3) + 8]
            cell["source"] = head + "    return np.zeros(10, dtype=np.int64)  # forgot to count\n"
            break
    else:
        raise AssertionError("no label_counts answer cell in the solution")
    target.write_text(json.dumps(notebook))


@pytest.fixture(scope="module")
def walkthrough(fresh_clone, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instructor")
    home, exchange = tmp / "home", tmp / "exchange"
    home.mkdir()
    exchange_path = "/srv/nbgrader/exchange"
    env = fresh_clone.activated(HOME=home)
    ran: list[tuple[str, subprocess.CompletedProcess]] = []

    def doc(number: int, cwd: Path, replace: dict | None = None):
        done = run_block(
            block(DOC, SECTION, number), cwd, env, {exchange_path: str(exchange), **(replace or {})}
        )
        ran.append((f"block {number}", done))
        return done

    def command(text: str, cwd: Path, ok=(0,)):
        done = run_script(text, cwd, env, timeout=900)
        ran.append((text, done))
        assert done.returncode in ok, f"{text}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        return done

    # The exchange, and every account's ~/.jupyter/nbgrader_config.py, as the page shows them.
    doc(0, tmp)
    config = block(DOC, SECTION, 0, languages={"python"}).text.replace(exchange_path, str(exchange))
    (home / ".jupyter").mkdir()
    (home / ".jupyter" / "nbgrader_config.py").write_text(config)

    # The instructor generates and releases.
    generate = doc(1, fresh_clone.root)
    # The account's own learner fetches and hands in untouched work.
    own = home / "own"
    own.mkdir()
    doc(2, own)
    # ada and bo, played from the same account with --student, each doing some work in between.
    solution = fresh_clone.root / "solutions" / f"{ASSIGNMENT}.ipynb"
    learners = {}
    for name in ("ada", "bo"):
        fetch_lines, submit = block(DOC, SECTION, 3).commands[:2], block(DOC, SECTION, 3).commands[2]
        folder = home / "learners" / name
        command("\n".join(fetch_lines).replace("ada", name), home)
        work = folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert work.is_file(), f"fetch_assignment did not create {work}"
        if name == "ada":
            work.write_bytes(solution.read_bytes())
        else:
            with_bug_in_label_counts(solution, work)
        command(submit.replace("ada", name), folder)
        learners[name] = folder
    # The instructor collects, grades, gives feedback, exports.
    course = fresh_clone.root / "course"
    collect = doc(4, course)
    for folder in (own, *learners.values()):
        doc(5, folder)
    class_run = command(block(DOC, SECTION, 6).commands[0], course, ok=(1,))
    alone = command(block(DOC, SECTION, 7).commands[0], learners["ada"])
    grade_cell = block(DOC, SECTION, 1, languages={"python"}).text  # "from a cell of the notebook"
    in_notebook = command(f"python - <<'EOF'\n{grade_cell}EOF", learners["ada"] / ASSIGNMENT)
    return dict(
        course=course,
        home=home,
        own=own,
        learners=learners,
        ran=ran,
        generate=generate,
        collect=collect,
        class_run=class_run,
        alone=alone,
        in_notebook=in_notebook,
    )


def _scores(path: Path) -> dict[str, float]:
    return {row["student_id"]: float(row["score"]) for row in csv.DictReader(path.open(newline=""))}


def test_nbgrader_export_has_the_right_grade_for_each_learner(walkthrough):
    scores = _scores(walkthrough["course"] / "grades.csv")
    assert scores == {getpass.getuser(): 0.0, "ada": 3.0, "bo": 2.0}


def test_mnistlib_grade_writes_the_same_grades_as_nbgrader_export(walkthrough):
    course = walkthrough["course"]
    theirs, ours = course / "grades.csv", course / "mnistlib-grades.csv"
    assert _scores(ours) == _scores(theirs)
    their_rows = list(csv.DictReader(theirs.open(newline="")))
    our_rows = list(csv.DictReader(ours.open(newline="")))
    assert list(our_rows[0]) == list(their_rows[0])
    timestamps = {r["student_id"]: r["timestamp"] for r in their_rows}
    assert {r["student_id"]: r["timestamp"] for r in our_rows} == timestamps
    assert all(timestamps.values())
    for path in (theirs, ours):
        assert b"\r" not in path.read_bytes(), f"{path.name} has CRLF line ends"
    assert "grades written to mnistlib-grades.csv" in walkthrough["class_run"].stdout
    assert "label_counts" in walkthrough["class_run"].stdout


def test_the_clone_stays_clean(walkthrough):
    """The release regenerated unchanged; grades, work and feedback are all git-ignored."""
    assert "Removing existing assignment" in walkthrough["generate"].stderr
    root = walkthrough["course"].parent
    assert run_script("git status --porcelain", root, {"PATH": "/usr/bin:/bin"}).stdout == ""


def test_feedback_pages_never_show_hidden_test_code(walkthrough):
    pages = list(walkthrough["home"].rglob(f"feedback/*/{ASSIGNMENT}.html"))
    pages += list((walkthrough["course"] / "feedback-html").rglob("*.html"))
    assert len(pages) >= 6, pages  # fetched by three learner folders, and written by mnistlib grade
    for page in pages:
        text = page.read_text()
        assert HIDDEN_LINE not in text and "BEGIN HIDDEN" not in text, page
        assert "hidden tests: not shown" in text, page


def test_feedback_figures_keep_their_alternative_text(walkthrough):
    """The page says the figures have alt text, so nbconvert's "Alternative text is missing" never shows."""
    pages = list((walkthrough["course"] / "feedback").rglob("*.html"))
    images = [img for page in pages for img in re.findall(r"<img\b[^>]*>", page.read_text())]
    assert images, "notebook 01's feedback has figures"
    for img in images:
        alt = re.search(r'\balt="([^"]*)"', img)
        assert alt and alt.group(1) and "No description has been provided" not in alt.group(1), img[:200]
    for what, done in walkthrough["ran"]:
        assert "Alternative text is missing" not in done.stdout + done.stderr, what


def test_playing_learners_under_one_account_gives_the_warning_the_page_explains(walkthrough):
    warnings = walkthrough["collect"].stderr
    assert "claims to be submitted by ada" in warnings and "cheating attempt?" in warnings


def test_no_command_prints_the_old_noise(walkthrough):
    for what, done in walkthrough["ran"]:
        output = done.stdout + done.stderr
        for noise in NOISE:
            assert noise not in output, f"{what} printed {noise!r}:\n{output[-3000:]}"


def test_the_learner_alone_gets_full_marks_and_exit_zero(walkthrough):
    for done in (walkthrough["alone"], walkthrough["in_notebook"]):
        assert "3 / 3" in done.stdout, done.stdout
    assert walkthrough["alone"].returncode == 0
