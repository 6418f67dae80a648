"""Attacks that reach past a learner's own grade (tests/attacks/host.py, issue 24), through
``mnistlib grade`` on single notebooks, on a class folder, and the real ``nbgrader autograde``.

Each path grades its class ONCE (module-scoped); every test then checks what must hold after it:

* the tricked exercise scores 0 and the control learner keeps full marks (other learners' grades
  exact);
* class 1: the host canary file the learner's racing thread linked the grader's folders to keeps
  its mode (0600) and content;
* class 3: no hidden-test line reaches the learner's outputs or feedback (warnings included);
* class 5: no script the learner wrote is in a feedback page or an autograded notebook
  (formgrader's view): no ``<script>`` with the learner's marker, no event handler, no
  ``javascript:`` link, no JavaScript output;
* class 4: one 8 MB line written past the kernel's own cap and 30,000 empty displays leave a
  feedback page (and autograded notebook) of under 3 MB, with the grader's note;
* class 7: a kernel that makes files, or writes 64 MB files, until it cannot stops at each
  writable place's tmpfs limits (its run folder, which the grader reads, included), and none of
  them reaches the host's ``/tmp``;
* class 4, memory and dead kernels: memfds a kernel maps and fills stop at the sandbox's memory
  cgroup (or RLIMIT_AS), and no process of the grading grew past that cap; a kernel that SIGKILLs
  everything it sees, then itself, costs its own exercise only; every learner of a class whose
  notebook is not refused is graded (never an error written as 0);
* class 6: a notebook that is a link (symbolic, hard, or through a linked learner folder) is never
  read: it scores 0 with a note naming why (``mnistlib grade``), or nbgrader refuses it; extra
  files that are links or pipes are never copied to the kernel; a hand-in time that is a
  spreadsheet formula never reaches the grades file as one;
* the repository, venv and HOME canaries are byte-identical (as in test_attacks.py).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
from attacks import CONTROL, REPO, exercise_ids
from attacks.host import ASSIGNMENT, ATTACKS, FOLDER_ATTACKS, NOTES_ATTACK, build_host_class
from grading.test_attacks import (
    PYTHON,
    TOKEN,
    VENV_BIN,
    _env,
    _home,
    changes,
    hidden_lines,
    learner_outputs,
    protected_state,
    restore,
)

from mnistlib.grading import inside, isolation, limits
from mnistlib.grading import sandbox as grading_sandbox

pytestmark = pytest.mark.slow

RUNNERS = ["mnistlib-one", "mnistlib-class", "nbgrader"]
BY_NAME = {a.name: a for a in ATTACKS}
FOLDERS = {a.name: a for a in FOLDER_ATTACKS}


def script_traces(page: str, mark: str) -> list[str]:
    """Where ``page`` would run the learner's script: ``mark`` in a ``<script>`` element or an
    event handler, or any ``javascript:`` link (parsed as a browser would, not searched as text)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        in_script = False

        def handle_starttag(self, tag, attrs):
            self.in_script = self.in_script or tag == "script"
            for key, value in attrs:
                value = value or ""
                if key.startswith("on") and mark in value:
                    found.append(f"<{tag} {key}={value!r}>")
                if key in ("href", "src", "action", "formaction") and value.strip().lower().startswith(
                    "javascript:"
                ):
                    found.append(f"<{tag} {key}={value!r}>")

        def handle_endtag(self, tag):
            if tag == "script":
                self.in_script = False

        def handle_data(self, data):
            if self.in_script and mark in data:
                found.append(f"<script>{data[:80]}")

    Parser().feed(page)
    return found


def marker(name: str) -> str:
    return f"attack-{name}-{TOKEN}"


@pytest.fixture(scope="module")
def host_class(tmp_path_factory, mnist_idx_dir):
    tmp = tmp_path_factory.mktemp("host-attacks")
    return {"tmp": tmp, "data": mnist_idx_dir}


def _canary(tmp: Path) -> Path:
    canary = tmp / f"{marker('race-calls-folder')}-canary"
    canary.write_text("the grading host's file")
    canary.chmod(0o600)
    return canary


def _command(argv: list[str], cwd: Path, env: dict, log: Path, peaks: list) -> tuple[int, str, str]:
    """test_attacks' ``_command``, which also appends to ``peaks`` the largest resident memory (MB)
    that any process of the command's tree reached (``wait4``: its descendants are reaped inside)."""
    with open(log.with_suffix(".out"), "w") as stdout, open(log.with_suffix(".err"), "w") as stderr:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=stderr)
        timer = threading.Timer(1500, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
    peaks.append(usage.ru_maxrss / 1024)
    code = os.waitstatus_to_exitcode(status)
    return code, log.with_suffix(".out").read_text(), log.with_suffix(".err").read_text()


def _mnistlib(room: dict, out: Path, env: dict, one: bool) -> dict:
    submitted = out / "class" / "submitted"
    outside = out / "instructor" / f"{ASSIGNMENT}.ipynb"  # the source notebook, outside the class
    outside.parent.mkdir()
    shutil.copyfile(REPO / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", outside)
    build_host_class(submitted, marker, room["canary"], outside)
    if one:  # `mnistlib grade NOTEBOOK...`: each file on its own, as an instructor grades a few
        names = ["race-calls-folder", "notebook-link", "disk-flood", "memfd-hoard", "kill-kernel"]
        argv = [str(submitted / n / ASSIGNMENT / f"{ASSIGNMENT}.ipynb") for n in names]
    else:
        argv = [str(out / "class"), "--csv", str(out / "grades.csv")]
    code, stdout, stderr = _command(
        [str(PYTHON), "-m", "mnistlib", "grade", *argv, "--jobs", "2", "--timeout", "60", "--json"]
        + ["--feedback", str(out / "feedback")],
        out,
        env,
        out / "mnistlib-grade",
        room["peaks"],
    )
    try:
        results = json.loads(stdout)["results"]
    except ValueError:
        results = []
    run = {"output": stdout[-3000:] + stderr[-5000:], "scores": {}, "notes": {}, "pages": {}, "errors": {}}
    students = {}
    for result in results:
        learner = Path(result["path"]).parent.parent.name if one else result["student"]
        students[result["student"]] = learner
        run["scores"][learner] = {e["grade_id"]: (e["score"], e["max_score"]) for e in result["exercises"]}
        run["notes"][learner] = " ".join(result["notes"]) + " " + str(result.get("error") or "")
        run["errors"][learner] = result.get("error")
        run["pages"][learner] = " ".join((e.get("message") or "") for e in result["exercises"]) + " ".join(
            result["notes"]
        )
    for page in (out / "feedback").rglob("*.html"):
        learner = students.get(page.parent.name, page.parent.name)
        run["pages"][learner] = run["pages"].get(learner, "") + page.read_text()
    run["csv"] = list(csv.DictReader((out / "grades.csv").open())) if (out / "grades.csv").is_file() else []
    return run


def _nbgrader(room: dict, out: Path, env: dict) -> dict:
    course = out / "course"
    course.mkdir()
    shutil.copytree(REPO / "course" / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    shutil.copyfile(REPO / "course" / "nbgrader_config.py", course / "nbgrader_config.py")
    outside = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    build_host_class(course / "submitted", marker, room["canary"], outside, nbgrader=True)
    nbgrader = str(VENV_BIN / "nbgrader")
    logs = []
    for step in ("generate_assignment", "autograde", "generate_feedback"):
        code, stdout, stderr = _command(
            [nbgrader, step, ASSIGNMENT], course, env, out / f"nbgrader-{step}", room["peaks"]
        )
        logs.append(f"$ nbgrader {step} -> {code}\n{stderr}")
    from nbgrader.api import Gradebook, MissingEntry

    run = {"output": "\n".join(logs)[-8000:], "scores": {}, "notes": {}, "pages": {}, "errors": {}, "csv": []}
    run["log"] = "\n".join(logs)
    source = json.loads((course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for learner in sorted(p.name for p in (course / "submitted").iterdir()):
            try:
                run["scores"][learner] = {
                    g: (
                        gb.find_grade(g, ASSIGNMENT, ASSIGNMENT, learner).score,
                        gb.find_grade(g, ASSIGNMENT, ASSIGNMENT, learner).max_score,
                    )
                    for g in exercise_ids(source)
                }
            except MissingEntry as error:
                run["errors"][learner] = f"not graded: {error}"
            graded = course / "autograded" / learner / ASSIGNMENT
            page = course / "feedback" / learner / ASSIGNMENT / f"{ASSIGNMENT}.html"
            notebook = graded / f"{ASSIGNMENT}.ipynb"
            run["pages"][learner] = page.read_text() if page.is_file() else ""
            if notebook.is_file():  # as formgrader shows it: nbconvert's HTML, not sanitised by it
                from nbconvert import HTMLExporter

                run.setdefault("formgrader", {})[learner] = HTMLExporter().from_filename(str(notebook))[0]
                run.setdefault("autograded", {})[learner] = notebook.read_text()
            run["notes"][learner] = learner_outputs(notebook) if notebook.is_file() else ""
            run.setdefault("graded files", {})[learner] = (
                sorted(p.name for p in graded.iterdir()) if graded.is_dir() else []
            )
    return run


@pytest.fixture(scope="module", params=RUNNERS)
def graded(request, host_class):
    runner = request.param
    out = host_class["tmp"] / runner
    out.mkdir()
    home = _home(out)
    env = _env(home, host_class["data"])
    room = {"canary": _canary(out), "peaks": []}
    before = protected_state(home, {})
    try:
        if runner == "nbgrader":
            run = _nbgrader(room, out, env)
        else:
            run = _mnistlib(room, out, env, one=runner == "mnistlib-one")
        time.sleep(1)
        run["changes"] = changes(before, protected_state(home, {}))
        info = os.lstat(room["canary"])
        run["canary"] = (stat.S_IMODE(info.st_mode), room["canary"].read_text())
        run["runner"] = runner
        run["peak_mb"] = max(room["peaks"], default=0)
        yield run
    finally:
        restore(before)


def _grades(run: dict, learner: str) -> dict:
    if run["runner"] == "mnistlib-one" and learner not in run["scores"]:
        pytest.skip("not among the single notebooks graded")
    assert learner in run["scores"], f"{learner} was not graded by {run['runner']}:\n{run['output']}"
    return run["scores"][learner]


def test_the_control_learner_gets_full_marks(graded):
    if graded["runner"] == "mnistlib-one":
        pytest.skip("the single-notebook run grades attacks only")
    grades = _grades(graded, CONTROL)
    assert grades and all(score == top for score, top in grades.values()), grades


@pytest.mark.parametrize("name", [a.name for a in ATTACKS] + [NOTES_ATTACK.name])
def test_the_tricked_exercise_scores_zero_and_the_others_full_marks(graded, name):
    attack = BY_NAME.get(name, NOTES_ATTACK)
    grades = _grades(graded, name)
    assert grades[attack.test_id][0] == 0, f"{name} got {grades[attack.test_id]}"
    others = {t: g for t, g in grades.items() if t != attack.test_id and g[0] != g[1]}
    assert not others, f"{name} also lost {others}"


def test_the_grader_never_changes_a_host_file_through_a_swapped_folder(graded):
    _grades(graded, "race-calls-folder")
    assert graded["canary"] == (0o600, "the grading host's file")


@pytest.mark.parametrize("name", ["warning-location", "notes-link"])
def test_no_hidden_test_line_reaches_the_learner(graded, name):
    text = graded["pages"].get(name, "") + graded["notes"].get(name, "")
    if graded["runner"] == "mnistlib-one":
        pytest.skip("not among the single notebooks graded")
    text = _page_text_of(text)
    leaked = [line for line in hidden_lines(ASSIGNMENT) if line in text]
    assert not leaked, f"{len(leaked)} hidden-test lines reach {name}, e.g. {leaked[0]!r}"


def _page_text_of(text: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", text)) + text


def test_no_learner_script_in_feedback_or_formgrader(graded):
    if graded["runner"] == "mnistlib-one":
        pytest.skip("not among the single notebooks graded")
    _grades(graded, "script-in-feedback")
    mark = marker("script-in-feedback")
    page = graded["pages"].get("script-in-feedback", "")
    assert mark in page, "the learner's outputs are not in the page at all"
    assert not script_traces(page, mark), script_traces(page, mark)
    assert "shown sanitised" in _page_text_of(page), "the page does not say it was sanitised"
    if graded["runner"] == "nbgrader":
        formgrader = graded["formgrader"]["script-in-feedback"]
        assert mark in formgrader and not script_traces(formgrader, mark), script_traces(formgrader, mark)
        assert "application/javascript" not in graded["autograded"]["script-in-feedback"]


@pytest.mark.parametrize("name", [a.name for a in FOLDER_ATTACKS if a.refused])
def test_a_linked_notebook_is_refused_never_read(graded, name):
    if graded["runner"] == "nbgrader":
        assert name not in graded["scores"], f"nbgrader graded {name}'s link"
        assert "refused submission" in graded["log"] and name in graded["log"]
        return
    grades = _grades(graded, name)
    assert all(score == 0 for score, _ in grades.values()), grades
    assert "symbolic link" in graded["notes"][name] or "hard link" in graded["notes"][name], graded["notes"][
        name
    ]


def test_extra_files_that_are_links_or_pipes_are_not_copied(graded):
    if graded["runner"] != "nbgrader":
        pytest.skip("mnistlib grade hands the kernel the notebook only")
    files = graded["graded files"]["notes-link"]
    assert f"{ASSIGNMENT}.ipynb" in files and "notes.txt" not in files and "data.bin" not in files, files
    assert "Not copied for grading" in graded["log"]


def test_no_grades_file_cell_is_a_formula(graded):
    if graded["runner"] != "mnistlib-class":
        pytest.skip("the grades file of a class run")
    rows = graded["csv"]
    assert {r["student_id"] for r in rows} >= {CONTROL, "formula-timestamp"}
    cells = [value for row in rows for value in row.values()]
    assert not [c for c in cells if c.startswith(("=", "+", "@"))], cells
    row = next(r for r in rows if r["student_id"] == "formula-timestamp")
    assert row["score"] != "", (
        f"formula-timestamp was not graded: {graded['errors'].get('formula-timestamp')!r}\n{graded['output']}"
    )
    assert row["timestamp"] == "" and float(row["score"]) == float(row["max_score"]) > 0


def test_protected_files_are_byte_identical(graded):
    assert graded["changes"] == [], "\n".join(graded["changes"])


def test_output_the_kernel_floods_is_cut_by_the_grader(graded):
    if graded["runner"] == "mnistlib-one":
        pytest.skip("not among the single notebooks graded")
    _grades(graded, "output-flood")
    page = graded["pages"]["output-flood"]
    assert "passed the grader&#39;s limit" in page or "passed the grader's limit" in page
    assert len(page) < 3_000_000, f"the feedback page holds {len(page)} bytes"
    if graded["runner"] == "nbgrader":
        assert len(graded["autograded"]["output-flood"]) < 3_000_000


def test_a_kernel_cannot_fill_the_hosts_disk_with_files(graded):
    if graded["runner"] == "mnistlib-one":
        pytest.skip("not among the single notebooks graded")
    _grades(graded, "inode-flood")
    text = _page_text_of(graded["pages"]["inode-flood"] + graded["notes"].get("inode-flood", ""))
    found = re.search(r"files made: (\{[^}]*\})", text)
    assert found, "the attack's report is not in its outputs"
    made = ast.literal_eval(found.group(1))
    assert made and all(count < 40_000 for count in made.values()), made
    assert not list(Path("/tmp").glob(f"*{marker('inode-flood')}*")), "files reached the host's /tmp"


def _outputs_of(run: dict, learner: str) -> str:
    return _page_text_of(run["pages"].get(learner, "") + run["notes"].get(learner, ""))


def _report_of(run: dict, learner: str, label: str) -> dict:
    found = re.search(label + r" (\{[^}]*\})", _outputs_of(run, learner))
    assert found, f"{learner}'s report ({label}) is not in its outputs"
    return ast.literal_eval(found.group(1))


def test_every_writable_place_of_a_kernel_is_a_limited_tmpfs(graded):
    """Class 7, bytes: the kernel writes files of 64 MB into its workspace, /tmp, /dev/shm and its run
    folder (the one place it writes that the grader reads) until each is full: no place takes more
    than its tmpfs, and the run folder is a tmpfs of RUN_MB MB and at most INODES_PER_MB files a MB."""
    _grades(graded, "disk-flood")
    written = _report_of(graded, "disk-flood", "MB written:")
    assert written["run"] <= inside.RUN_MB and written["cwd"] <= inside.TMPFS_MB, written
    assert written["tmp"] <= inside.TMP_MB and written["shm"] <= inside.TMP_MB, written
    run = _report_of(graded, "disk-flood", "run folder:")
    assert run["mb"] == inside.RUN_MB and run["files"] == inside.RUN_MB * isolation.INODES_PER_MB, run
    assert not list(Path("/tmp").glob(f"*{marker('disk-flood')}*")), "files reached the host's /tmp"


def test_shared_memory_a_kernel_maps_counts(graded):
    """Class 4, memory: memfds mapped and filled (which RLIMIT_DATA never sees) stop at the sandbox's
    memory cgroup, or at RLIMIT_AS where no cgroup can be made, far from the 6 GB the kernel wanted;
    the kernel is ended (or its cell fails) and the notebook is still graded."""
    _grades(graded, "memfd-hoard")
    held = [int(n) for n in re.findall(r"hoard: (\d+) MB", _outputs_of(graded, "memfd-hoard"))]
    cap = limits.MEMORY_MB + grading_sandbox.SERVER_MB
    probe = grading_sandbox._memory_cgroup(f"mnistlib-probe-{os.getpid()}", 64)
    if probe is None:
        cap = limits.address_space_mb(limits.MEMORY_MB)
    else:
        probe.rmdir()
    assert max(held, default=0) < min(cap, 6144), held
    # no process of the grading (worker, checker, kernel) ever held more than the cap
    assert 0 < graded["peak_mb"] < cap + 256, graded["peak_mb"]


def test_a_kernel_that_kills_everything_it_sees_costs_only_its_exercise(graded):
    """Class 4, a dead kernel: the kernel SIGKILLs every process it can see, then itself; its cell says
    the kernel stopped, the notebook goes on in a new kernel (the exercise before keeps its marks: see
    test_the_tricked_exercise_scores_zero_and_the_others_full_marks) and no other learner is touched."""
    _grades(graded, "kill-kernel")
    assert graded["errors"].get("kill-kernel") is None, graded["errors"]["kill-kernel"]
    text = _outputs_of(graded, "kill-kernel")
    assert "killing from" in text and ("kernel stopped" in text or "kernel died" in text), text[-2000:]


def test_no_learner_of_the_class_is_left_ungraded(graded):
    """A kernel that dies, floods or hoards costs its own notebook at most: every learner of the class
    whose notebook is not refused is graded (never an error written as 0)."""
    if graded["runner"] == "mnistlib-one":
        pytest.skip("the class runs")
    refused = {a.name for a in FOLDER_ATTACKS if a.refused}
    expected = {CONTROL, *BY_NAME, NOTES_ATTACK.name} | ({"formula-timestamp"} - refused)
    if graded["runner"] == "nbgrader":
        expected.discard("formula-timestamp")
    missing = {
        n: graded["errors"].get(n) for n in expected if n not in graded["scores"] or graded["errors"].get(n)
    }
    assert not missing, f"not graded: {missing}\n{graded['output']}"
