"""Attack submissions graded by ``mnistlib grade`` and by the real ``nbgrader autograde`` (issue 13.3).

The class (tests/attacks: one learner per attack, plus an honest control learner per assignment)
is graded ONCE by each runner, with ``HOME`` a temporary folder holding canary files and the
real course. Every test then asserts what the grader must guarantee, for each runner and attack:

* the tricked exercise scores 0, and the learner's other exercises keep full marks (except
  exercises that use the tricked function, and after attacks that end their kernel);
* the control learners get full marks (the attacks do not disturb other submissions);
* protected files are byte-identical afterwards: the mnistlib package, the venv (no new files),
  the course source, the solutions, the course's nbgrader_config.py, the canaries in HOME, and
  (nbgrader) the gradebook has no foreign table and no manual score;
* no process started by a submission is alive afterwards (each carries a marker in its argv);
* the HTTP server the test runs on 127.0.0.1 gets no request;
* no line of the hidden tests reaches the feedback pages or the outputs of learner cells.

Grading code that does not yet sandbox learner kernels or run the tests in a separate checker
kernel fails many of these; that is the point (the failures name the attacks that work).
``MNISTLIB_ATTACKS=name,name`` grades only those attacks (for working on one of them), and
``MNISTLIB_ATTACKS_SKIP=name,name`` all but those.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import time
import uuid
from pathlib import Path

import pytest
from attacks import ATTACKS, CONTROL, DEPENDS, REPO, Attack, build_class, exercise_ids
from local_http import FileServer
from report_line import report

from mnistlib.markers import HIDDEN_REGION

pytestmark = pytest.mark.slow

TOKEN = uuid.uuid4().hex[:10]
ONLY = {n for n in os.environ.get("MNISTLIB_ATTACKS", "").split(",") if n}
SKIP = {n for n in os.environ.get("MNISTLIB_ATTACKS_SKIP", "").split(",") if n}
SELECTED = [a for a in ATTACKS if (not ONLY or a.name in ONLY) and a.name not in SKIP]
BY_NAME = {a.name: a for a in SELECTED}
ASSIGNMENTS = sorted({a.assignment for a in SELECTED})
RUNNERS = ["mnistlib", "nbgrader"]
PYTHON = Path(sys.executable)
VENV_BIN = PYTHON.parent
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
#: Files an attack must not change, and whose bytes are put back after each run (the repo's own).
PROTECTED_TREES = {
    "mnistlib package": REPO / "mnistlib",
    "course source": REPO / "course" / "source",
    "solutions": REPO / "solutions",
    "course config": REPO / "course" / "nbgrader_config.py",
}
CELL_TIMEOUT = 60


# ----------------------------------------------------------------------------- protected state


def _files(root: Path) -> dict[str, bytes]:
    if root.is_file():
        return {str(root): root.read_bytes()}
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            out[str(path)] = path.read_bytes()
    return out


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _gradebook_state(path: Path) -> dict:
    if not path.is_file():
        return {}
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        manual = db.execute("SELECT count(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[0]
        dump = "\n".join(db.iterdump())
    return {"tables": tables, "manual scores": manual, "token in dump": TOKEN in dump}


def protected_state(home: Path, extra_trees: dict[str, Path]) -> dict:
    state = {"files": {}, "listings": {}}
    for root in {**PROTECTED_TREES, **extra_trees}.values():
        state["files"].update(_files(root))
    for folder in (SITE_PACKAGES, VENV_BIN, REPO / "mnistlib" / "checks"):
        state["listings"][str(folder)] = _listing(folder)
    state["home"] = _files(home)
    state["home new"] = set()
    return state


def changes(before: dict, after: dict) -> list[str]:
    """What differs between two protected states, one line each (file paths, listings)."""
    found = []
    for path in sorted(set(before["files"]) | set(after["files"])):
        if before["files"].get(path) != after["files"].get(path):
            found.append(f"changed: {path}")
    for folder in before["listings"]:
        for name in sorted(after["listings"][folder] ^ before["listings"][folder]):
            found.append(f"new or removed in {folder}: {name}")
    for path, data in before["home"].items():
        if after["home"].get(path) != data:
            found.append(f"changed: {path}")
    for path in sorted(set(after["home"]) - set(before["home"])):
        if (
            TOKEN in path
            or TOKEN.encode() in after["home"][path]
            or Path(path).name in (".bashrc", ".profile")
        ):
            found.append(f"new in HOME: {path}")
    return found


def restore(before: dict) -> None:
    """Put the repo's protected files back as they were, and remove files attacks added."""
    for path, data in before["files"].items():
        if str(path).startswith(str(REPO)) and Path(path).read_bytes() != data:
            Path(path).write_bytes(data)
    for folder, names in before["listings"].items():
        for name in _listing(Path(folder)) - names:
            if TOKEN in name:
                (Path(folder) / name).unlink(missing_ok=True)


def marked_processes() -> dict[str, list[int]]:
    """``{attack name: pids}`` of live processes whose command line carries an attack's marker."""
    import psutil

    found: dict[str, list[int]] = {}
    for process in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(process.info.get("cmdline") or [])
        if TOKEN in line:
            for name in BY_NAME:
                if f"attack-{name}-{TOKEN}" in line:
                    found.setdefault(name, []).append(process.info["pid"])
    return found


def kill_marked() -> None:
    import psutil

    for pids in marked_processes().values():
        for pid in pids:
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass


# ----------------------------------------------------------------------------- hidden tests


def hidden_lines(assignment: str) -> list[str]:
    """Distinctive lines of the assignment's hidden tests (not in the release, not in mnistlib)."""
    source = json.loads((REPO / "course" / "source" / assignment / f"{assignment}.ipynb").read_text())
    release = (REPO / "course" / "release" / assignment / f"{assignment}.ipynb").read_text()
    package = "\n".join(p.read_text() for p in (REPO / "mnistlib").rglob("*.py"))
    lines = []
    for cell in source["cells"]:
        text = "".join(cell["source"])
        for region in HIDDEN_REGION.findall(text):
            for line in region.splitlines():
                line = line.strip()
                if len(line) >= 30 and line not in release and line not in package:
                    lines.append(line)
    assert lines, f"no distinctive hidden-test lines in {assignment}"
    return lines


def _page_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def learner_outputs(notebook: Path) -> str:
    """The outputs of the cells of a graded notebook that are not test cells (the learner's code)."""
    cells = json.loads(notebook.read_text())["cells"]
    texts = []
    for cell in cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            continue
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            texts += [
                "".join(value) for value in output.get("data", {}).values() if isinstance(value, str | list)
            ]
            texts += [output.get("evalue", ""), *output.get("traceback", [])]
    return "\n".join(texts)


# ----------------------------------------------------------------------------- the two runs


@pytest.fixture(scope="module")
def server():
    with FileServer({}) as running:
        yield running


@pytest.fixture(scope="module")
def classroom(tmp_path_factory, server, mnist_idx_dir):
    tmp = tmp_path_factory.mktemp("attacks")
    markers = build_class(tmp / "class", TOKEN, lambda name: server.url(f"/{name}"), SELECTED)
    assert len(SELECTED) >= 25 or ONLY or SKIP, "issue 13.3 asks for at least 25 attacks"
    return {"tmp": tmp, "class": tmp / "class", "markers": markers, "data": mnist_idx_dir}


def _home(tmp: Path) -> Path:
    home = tmp / "home"
    home.mkdir()
    (home / "canary.txt").write_text(f"canary {TOKEN}: nothing may change this file\n")
    (home / ".bashrc").write_text("# the grading account's shell settings\n")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_canary").write_text("not a real key\n")
    return home


def _env(home: Path, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "MNISTLIB_QUICK")}
    env.update(HOME=str(home), MNISTLIB_DATA=str(data), VIRTUAL_ENV=str(VENV_BIN.parent))
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    return env


def _command(argv: list[str], cwd: Path, env: dict, log: Path) -> tuple[int, str, str]:
    """Run a grading command with its output in files, not pipes: a process a submission leaves
    behind keeps the pipes open, and reading them would wait for it."""
    with open(log.with_suffix(".out"), "w") as stdout, open(log.with_suffix(".err"), "w") as stderr:
        done = subprocess.run(argv, cwd=cwd, env=env, stdout=stdout, stderr=stderr, timeout=1500)
    return done.returncode, log.with_suffix(".out").read_text(), log.with_suffix(".err").read_text()


def _run_mnistlib(room: dict, out: Path, env: dict) -> dict:
    started = time.perf_counter()
    returncode, stdout, stderr = _command(
        [
            str(PYTHON),
            "-m",
            "mnistlib",
            "grade",
            str(room["class"]),
            "--jobs",
            "2",
            "--timeout",
            str(CELL_TIMEOUT),
            "--json",
            "--csv",
            str(out / "grades.csv"),
            "--feedback",
            str(out / "feedback"),
        ],
        out,
        env,
        out / "mnistlib-grade",
    )
    seconds = time.perf_counter() - started
    try:
        report = json.loads(stdout)
    except ValueError:
        report = {"results": []}
    scores, errors = {}, {}
    for result in report["results"]:
        scores[result["student"], result["assignment"]] = {
            e["grade_id"]: (e["score"], e["max_score"]) for e in result["exercises"]
        }
        errors[result["student"], result["assignment"]] = result["error"]
    texts = {}
    for page in (out / "feedback").rglob("*.html"):
        student = page.parent.name
        texts[student] = texts.get(student, "") + _page_text(page)
    for result in report["results"]:
        messages = json.dumps([e["message"] for e in result["exercises"]] + result["notes"])
        texts[result["student"]] = texts.get(result["student"], "") + messages
    return {
        "seconds": seconds,
        "returncode": returncode,
        "output": stdout[-3000:] + stderr[-5000:],
        "scores": scores,
        "errors": errors,
        "texts": texts,
        "gradebook": None,
    }


def _halves(assignments: list[str]) -> list[list[str]]:
    """The assignments in two groups with about as many submissions each (one nbgrader course each)."""
    count = {a: sum(1 for x in SELECTED if x.assignment == a) + 1 for a in assignments}
    groups: list[list[str]] = [[], []]
    for assignment in sorted(assignments, key=count.get, reverse=True):
        min(groups, key=lambda g: sum(count[a] for a in g)).append(assignment)
    return [g for g in groups if g]


def _run_nbgrader(room: dict, out: Path, env: dict) -> dict:
    """Grade the class with the real nbgrader: two courses (half the assignments each), side by side
    on the two cores, each graded by its own sequence of nbgrader commands and its own gradebook."""
    from concurrent.futures import ThreadPoolExecutor

    groups = _halves(ASSIGNMENTS)
    courses = [out / f"course-{i}" for i in range(len(groups))]
    for course, group in zip(courses, groups, strict=True):
        course.mkdir()
        shutil.copytree(REPO / "course" / "source", course / "source")
        shutil.copyfile(REPO / "course" / "nbgrader_config.py", course / "nbgrader_config.py")
        submitted = room["class"] / "submitted"
        shutil.copytree(  # this half's submissions only
            submitted,
            course / "submitted",
            ignore=lambda folder, names, group=group, submitted=submitted: [
                n for n in names if Path(folder).parent == submitted and n not in group
            ],
        )
    started = time.perf_counter()
    with ThreadPoolExecutor(len(groups)) as pool:
        prepared = list(
            pool.map(
                lambda cg: _nbgrader_steps(cg[0], cg[1], env, ("generate_assignment",)),
                zip(courses, groups, strict=True),
            )
        )
    for log in prepared:
        assert all(code == 0 for code, _ in log), "\n".join(text for _, text in log)
    room["gradebook before"] = _gradebook_states(courses)
    room["nbgrader protected"] = {}
    for course in courses:
        room["nbgrader protected"][f"nbgrader {course.name} source"] = course / "source"
        room["nbgrader protected"][f"nbgrader {course.name} config"] = course / "nbgrader_config.py"
    before = protected_state(room["home"], room["nbgrader protected"])
    graded_at = time.perf_counter()
    with ThreadPoolExecutor(len(groups)) as pool:
        logs = list(
            pool.map(
                lambda cg: _nbgrader_steps(cg[0], cg[1], env, ("autograde", "generate_feedback")),
                zip(courses, groups, strict=True),
            )
        )
    seconds = time.perf_counter() - graded_at
    time.sleep(2)  # a daemon left by a submission would rewrite grades by now
    from nbgrader.api import Gradebook, MissingEntry

    scores, errors, texts = {}, {}, {}
    for course, group in zip(courses, groups, strict=True):
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            for learner in sorted(p.name for p in (course / "submitted").iterdir()):
                for assignment in group:
                    if not (course / "submitted" / learner / assignment).is_dir():
                        continue
                    source = json.loads((course / "source" / assignment / f"{assignment}.ipynb").read_text())
                    grades = {}
                    try:
                        for grade_id in exercise_ids(source):
                            grade = gb.find_grade(grade_id, assignment, assignment, learner)
                            grades[grade_id] = (grade.score, grade.max_score)
                        errors[learner, assignment] = None
                    except MissingEntry as error:
                        errors[learner, assignment] = f"not graded: {error}"
                    scores[learner, assignment] = grades
                    graded = course / "autograded" / learner / assignment / f"{assignment}.ipynb"
                    page = course / "feedback" / learner / assignment / f"{assignment}.html"
                    text = learner_outputs(graded) if graded.is_file() else ""
                    text += _page_text(page) if page.is_file() else ""
                    texts[learner] = texts.get(learner, "") + text
    return {
        "seconds": seconds,
        "prepare seconds": graded_at - started,
        "returncode": 0,
        "output": "\n".join(text for log in logs for _, text in log)[-8000:],
        "scores": scores,
        "errors": errors,
        "texts": texts,
        "gradebook": _gradebook_states(courses),
        "before": before,
    }


def _nbgrader_steps(course: Path, assignments: list[str], env: dict, steps: tuple[str, ...]) -> list:
    """Run ``nbgrader STEP ASSIGNMENT`` for each step and assignment in ``course``: (status, log) each."""
    nbgrader = str(VENV_BIN / "nbgrader")
    log = []
    for step in steps:
        for assignment in assignments:
            returncode, _, stderr = _command(
                [nbgrader, step, assignment],
                course,
                env,
                course.parent / f"{course.name}-{step}-{assignment}",
            )
            log.append((returncode, f"$ nbgrader {step} {assignment} -> {returncode}\n{stderr[-2000:]}"))
    return log


def _gradebook_states(courses: list[Path]) -> dict:
    """What the gradebooks of ``courses`` hold, together (see :func:`_gradebook_state`)."""
    states = [_gradebook_state(course / "gradebook.db") for course in courses]
    return {
        "tables": set().union(*(state.get("tables", set()) for state in states)),
        "manual scores": sum(state.get("manual scores", 0) for state in states),
        "token in dump": any(state.get("token in dump") for state in states),
    }


@pytest.fixture(scope="module", params=RUNNERS)
def graded(request, classroom, server):
    """One grading run of the whole class by ``mnistlib grade`` or ``nbgrader autograde``."""
    runner = request.param
    out = classroom["tmp"] / runner
    out.mkdir()
    classroom["home"] = home = _home(out)
    env = _env(home, classroom["data"])
    server.requests.clear()
    repo_before = protected_state(home, {})
    try:
        if runner == "mnistlib":
            before = repo_before
            run = _run_mnistlib(classroom, out, env)
        else:
            run = _run_nbgrader(classroom, out, env)
            before = run.pop("before")
        time.sleep(1)
        run["processes"] = marked_processes()
        run["requests"] = list(server.requests)
        extra = classroom.get("nbgrader protected", {}) if runner == "nbgrader" else {}
        run["changes"] = changes(before, protected_state(home, extra))
        run["after"] = protected_state(home, extra)
        run["runner"] = runner
        run["gradebook before"] = classroom.get("gradebook before")
        report(
            request.config,
            "attacks",
            f"{runner}: graded {len(run['scores'])} notebooks in {run['seconds']:.0f} s"
            + (f" (+{run['prepare seconds']:.0f} s generate_assignment)" if "prepare seconds" in run else ""),
        )
        yield run
    finally:
        kill_marked()
        restore(repo_before)


# ----------------------------------------------------------------------------- helpers


def _grades(run: dict, learner: str, assignment: str) -> dict[str, tuple[float, float]]:
    key = (learner, assignment)
    assert key in run["scores"], f"{learner} was not graded by {run['runner']}:\n{run['output']}"
    assert run["errors"].get(key) is None, run["errors"][key]
    grades = run["scores"][key]
    assert grades, f"no grades for {learner}:\n{run['output']}"
    return grades


def _spared(attack: Attack, grades: dict) -> list[str]:
    """Test cells of the attack's learner that must keep full marks."""
    order = list(grades)
    hurt = {f"test_{e}" for e in DEPENDS.get(attack.exercise, ())} | {attack.test_id}
    if attack.kills_kernel:
        hurt |= set(order[order.index(attack.test_id) :])
    return [t for t in order if t not in hurt]


NAMES = [a.name for a in SELECTED]


# ----------------------------------------------------------------------------- the tests


def test_every_learner_is_graded(graded, classroom):
    learners = {(a.name, a.assignment) for a in SELECTED} | {(CONTROL, a) for a in ASSIGNMENTS}
    missing = sorted(learners - set(graded["scores"]))
    assert not missing, f"{graded['runner']} did not grade {missing}:\n{graded['output']}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_control_learner_gets_full_marks(graded, assignment):
    grades = _grades(graded, CONTROL, assignment)
    assert all(score == top for score, top in grades.values()), grades


@pytest.mark.parametrize("name", NAMES)
def test_the_tricked_exercise_scores_zero(graded, name):
    attack = BY_NAME[name]
    grades = _grades(graded, name, attack.assignment)
    score, top = grades[attack.test_id]
    assert top > 0 and score == 0, f"{name} ({attack.kind}) got {score} / {top} for {attack.exercise}"


@pytest.mark.parametrize("name", NAMES)
def test_the_other_exercises_keep_full_marks(graded, name):
    attack = BY_NAME[name]
    grades = _grades(graded, name, attack.assignment)
    lost = {t: grades[t] for t in _spared(attack, grades) if grades[t][0] != grades[t][1]}
    assert not lost, f"{name} also lost points on {lost}"


@pytest.mark.parametrize("name", NAMES)
def test_no_process_of_the_submission_survives(graded, name):
    assert name not in graded["processes"], f"still alive after grading: pids {graded['processes'][name]}"


@pytest.mark.parametrize("name", NAMES)
def test_the_network_is_out_of_reach(graded, name):
    assert f"/{name}" not in graded["requests"], f"{name} reached the test server on 127.0.0.1"


@pytest.mark.parametrize("name", NAMES)
def test_no_hidden_test_code_reaches_outputs_or_feedback(graded, name):
    attack = BY_NAME[name]
    text = graded["texts"].get(name, "")
    leaked = [line for line in hidden_lines(attack.assignment) if line in text]
    assert not leaked, f"{len(leaked)} hidden-test lines in {name}'s outputs/feedback, e.g. {leaked[0]!r}"


@pytest.mark.parametrize("name", NAMES)
def test_the_attack_leaves_no_trace_in_protected_files(graded, name):
    marker = f"attack-{name}-{TOKEN}"
    after = graded["after"]
    traces = [
        p for p, data in {**after["files"], **after["home"]}.items() if marker in p or marker.encode() in data
    ]
    traces += [f"{folder}/{n}" for folder, names in after["listings"].items() for n in names if marker in n]
    assert not traces, f"{name} wrote into {traces}"


def test_protected_files_are_byte_identical(graded):
    assert graded["changes"] == [], "\n".join(graded["changes"])


def test_the_gradebook_holds_only_what_nbgrader_wrote(graded):
    if graded["runner"] != "nbgrader":
        pytest.skip("mnistlib grade keeps its gradebook in a throw-away course")
    state, before = graded["gradebook"], graded["gradebook before"]
    assert state["tables"] == before["tables"], state["tables"] ^ before["tables"]
    assert state["manual scores"] == 0 and not state["token in dump"], state


def test_the_controls_see_no_hidden_test_code(graded):
    for assignment in ASSIGNMENTS:
        text = graded["texts"].get(CONTROL, "")
        assert text, f"no feedback for {CONTROL}"
        assert not [line for line in hidden_lines(assignment) if line in text]
