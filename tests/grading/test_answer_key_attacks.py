"""Attacks on the answer key (issue 23, tests/attacks/answer_key.py), graded from INSTALLED wheels.

Both wheels (tests/course_wheels.py, built once per session) are installed into a fresh venv with
no checkout in sight, so the installed package really holds ``mnistlib/checks`` (the reference
implementations) and ``mnistlib/course_files/source`` (solutions, hidden tests): what a
Gradescope or PrairieLearn image holds. The class (one learner per attack, and an honest control)
is graded by each runner:

* ``sandbox``: ``mnistlib grade`` (bubblewrap);
* ``nbgrader``: the real ``nbgrader autograde``, in an instructor's course made with
  ``mnistlib course copy-course`` from the installed package (bubblewrap);
* ``no-sandbox``: ``mnistlib grade --no-sandbox`` as root, the path of containers that refuse
  bubblewrap: learners' kernels run as an unprivileged user. That user must be able to run Python,
  so this venv is made of the system's /usr/bin/python3 (when it has the suite's version), in a
  folder every user can enter;
* ``nbgrader-no-sandbox``: ``nbgrader autograde`` with ``c.GradingExecute.sandbox = False``, as root;
* ``gradescope`` and ``prairielearn``: the engines' entry points, as root, with a ``bwrap`` that
  fails as in their containers (tests/export_roots.py): ``mnistlib export gradescope`` /
  ``prairielearn`` run by the installed package with ``--wheel`` (the session's wheels), the zip's
  ``setup.sh`` into a ``/autograder`` whose ``mnistlib-venv`` is the no-sandbox runners' venv
  (pip finds both wheels installed), then ``run_autograder`` / ``tests/entrypoint`` once per
  learner, each in its own root, two at a time. Their results.json say nothing of the learner's
  printed output, so each learner's notebook there starts with a spy cell (:data:`SPY`: the test's,
  not an attack) that copies what the kernel prints, and the user it runs as, into a file. (It
  patches ``builtins.print``: the grader notes that, for the control learner too, and rightly
  gives no point for it.)

The runners grade the class at once, three at a time (each waits on its kernels most of the time).
For each runner and attack: the tricked exercise scores 0, the learner's output says it reached
no piece of the key (``REACHED`` never printed; ``BLOCKED`` printed by the hidden-name attacks), no
hidden-test line reaches outputs or feedback, and the control learner gets full marks. The plain
attack (the issue's cell) also gets its note.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from attacks import CONTROL, build_class
from attacks.answer_key import ANSWER_KEY_ATTACKS, ASSIGNMENT, PLAIN
from course_wheels import built, fresh_venv
from export_roots import fake_bwrap_path, link_tree, submission, valid
from grading.test_attacks import hidden_lines, learner_outputs

from mnistlib.grading import kernel_user
from mnistlib.grading import sandbox as grading_sandbox

pytestmark = [pytest.mark.slow, pytest.mark.network]

RUNNERS = ["sandbox", "nbgrader", "no-sandbox", "nbgrader-no-sandbox", "gradescope", "prairielearn"]
#: The Gradescope and PrairieLearn entry points, graded without bubblewrap as in their containers.
ENGINES = {"gradescope", "prairielearn"}
#: Runners whose learners' kernels run as an unprivileged user (their venv: SYSTEM_PYTHON's).
AS_USER = {"no-sandbox", "nbgrader-no-sandbox", *ENGINES}
NAMES = [a.name for a in ANSWER_KEY_ATTACKS]
BY_NAME = {a.name: a for a in ANSWER_KEY_ATTACKS}
SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"


def _python_for_venv() -> str:
    """A Python every user can run (the no-sandbox runner's kernels run as an unprivileged user)."""
    return SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable


def _venv(top: Path, name: str, python: str, mnist: Path) -> dict:
    """Both wheels installed into a fresh venv of ``python`` at ``top/name``: its env and python."""
    wheels = built()
    assert wheels["learner"] and wheels["grader"], wheels["names"]
    cache = top / f"{name}-cache"
    cache.mkdir()
    env = fresh_venv(top / name, cache, python)
    done = subprocess.run(
        [str(top / name / "bin" / "python"), "-m", "pip", "install", "--no-index", "--quiet",
         str(wheels["learner"]), str(wheels["grader"])],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    env["MNISTLIB_DATA"] = str(mnist)
    return {"env": env, "python": str(top / name / "bin" / "python")}


@pytest.fixture(scope="module")
def installed(mnist_idx_dir):
    top = Path(tempfile.mkdtemp(prefix="mnistlib-answer-key-"))
    os.chmod(top, 0o755)  # the unprivileged kernel user must reach the venv
    work = top / "work"
    work.mkdir()
    markers = build_class(work / "class", uuid.uuid4().hex[:8], lambda name: "", ANSWER_KEY_ATTACKS)
    yield {"top": top, "work": work, "markers": markers, "mnist": mnist_idx_dir, "venvs": {}}
    shutil.rmtree(top, ignore_errors=True)


def _room(installed: dict, as_user: bool) -> dict:
    """The class with the venv a runner needs: the suite's Python, or one every user can run."""
    name = "venv-system-python" if as_user else "venv"
    if name not in installed["venvs"]:  # (one per module: the engines reuse the no-sandbox one)
        python = _python_for_venv() if as_user else sys.executable
        installed["venvs"][name] = _venv(installed["top"], name, python, installed["mnist"])
    return {**installed, **installed["venvs"][name]}


def _page_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def _mnistlib_grade(room: dict, out: Path, *extra: str) -> dict:
    done = subprocess.run(
        [room["python"], "-m", "mnistlib", "grade", str(room["work"] / "class"), "--jobs", "2", "--json",
         "--csv", str(out / "grades.csv"), *extra],
        cwd=out, env=room["env"], capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {"results": []}
    run = {"scores": {}, "texts": {}, "notes": {}, "output": done.stdout[-3000:] + done.stderr[-3000:]}
    for result in report["results"]:
        student = result["student"]
        run["scores"][student] = {e["grade_id"]: (e["score"], e["max_score"]) for e in result["exercises"]}
        run["notes"][student] = " ".join(result["notes"] + [e["message"] or "" for e in result["exercises"]])
    for page in (out / "feedback").rglob("*.html"):
        run["texts"][page.parent.name] = run["texts"].get(page.parent.name, "") + _page_text(page)
    return run


def _nbgrader(room: dict, out: Path, sandbox: bool = True) -> dict:
    env, python = room["env"], room["python"]

    def step(*argv, cwd):
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1500)
        assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}{done.stderr[-3000:]}"

    step(python, "-m", "mnistlib", "course", "copy-course", "course", cwd=out)
    course = out / "course"
    shutil.copytree(room["work"] / "class" / "submitted", course / "submitted")
    if not sandbox:  # as the guide says for a machine without bubblewrap
        with open(course / "nbgrader_config.py", "a") as config:
            config.write("\nc.GradingExecute.sandbox = False\n")
    nbgrader = str(Path(python).parent / "nbgrader")
    step(nbgrader, "generate_assignment", ASSIGNMENT, cwd=course)
    step(nbgrader, "autograde", ASSIGNMENT, cwd=course)
    if sandbox:  # (the system Python 3.11.2 of the other runners trips soupsieve in generate_feedback)
        step(nbgrader, "generate_feedback", ASSIGNMENT, cwd=course)
    from nbgrader.api import Gradebook

    run = {"scores": {}, "texts": {}, "notes": {}, "output": ""}
    source = json.loads((course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    test_ids = [
        c["metadata"]["nbgrader"]["grade_id"]
        for c in source["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    ]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for learner in sorted(p.name for p in (course / "submitted").iterdir()):
            grades = {t: gb.find_grade(t, ASSIGNMENT, ASSIGNMENT, learner) for t in test_ids}
            run["scores"][learner] = {t: (g.score, g.max_score) for t, g in grades.items()}
            graded = course / "autograded" / learner / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            page = course / "feedback" / learner / ASSIGNMENT / f"{ASSIGNMENT}.html"
            run["texts"][learner] = learner_outputs(graded) + (_page_text(page) if page.is_file() else "")
            cells = json.loads(graded.read_text())["cells"]
            run["notes"][learner] = json.dumps(
                [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
            )
    return run


#: The test's spy, the first code cell of every notebook graded by an engine's entry point (whose
#: results say nothing of what the kernel printed): the user the kernel runs as, and every line it
#: prints, also go to the file ``__SPY__`` (in a folder every user may write; no sandbox there).
SPY = """import builtins as _spy_builtins
import os as _spy_os

_spy_path = __SPY__
with open(_spy_path, "a") as _spy_file:
    _spy_file.write(f"kernel uid {_spy_os.getuid()}\\n")
_spy_print = _spy_builtins.print


def _spied_print(*args, **kwargs):
    _spy_print(*args, **kwargs)
    if kwargs.get("file") is None:
        with open(_spy_path, "a") as file:
            _spy_print(*args, **{**kwargs, "file": file})


_spy_builtins.print = _spied_print
"""


def _spied(notebook: Path, spy: Path) -> str:
    """``notebook``'s text with :data:`SPY` writing to ``spy`` as its first code cell."""
    nb = json.loads(notebook.read_text())
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": []}
    cell["source"] = SPY.replace("__SPY__", repr(str(spy)))
    first = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    nb["cells"].insert(first, cell)
    return json.dumps(nb, indent=1)


def _engine(room: dict, out: Path, engine: str) -> dict:
    """Every learner of the class through ``engine``'s entry point, as root, with a failing bwrap."""
    wheels = built()
    env = {k: v for k, v in room["env"].items() if not k.startswith("MNISTLIB_")}
    export = subprocess.run(
        [room["python"], "-m", "mnistlib", "export", engine, ASSIGNMENT, "--wheel", str(wheels["learner"]),
         "--out", str(out / "export")],
        cwd=out, env={**env, "MNISTLIB_DATA": str(room["mnist"])}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert export.returncode == 0, export.stdout + export.stderr
    spies = out / "spy"
    spies.mkdir()
    os.chmod(spies, 0o1777)  # the kernels' user writes its spy file there
    venv = Path(room["python"]).parent.parent
    if engine == "gradescope":
        shared = out / "autograder"
        with zipfile.ZipFile(out / "export" / f"autograder-{ASSIGNMENT}.zip") as zf:
            zf.extractall(shared / "source")
        (shared / "mnistlib-venv").symlink_to(venv)  # setup.sh's pip finds both wheels there
        done = subprocess.run(
            ["bash", str(shared / "source" / "setup.sh")],
            env={**env, "MNISTLIB_AUTOGRADER_ROOT": str(shared), "MNISTLIB_SKIP_SYSTEM_PACKAGES": "1",
                 "PIP_NO_INDEX": "1"},
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0 and "autograder ready" in done.stdout, done.stdout + done.stderr
        assert not (shared / "source").stat().st_mode & 0o077, "setup.sh keeps the zip from other users"
    commands = {}
    for notebook in sorted((room["work"] / "class" / "submitted").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")):
        learner = notebook.parent.parent.name
        root = out / learner
        fake_bin = fake_bwrap_path(root / "fake-bin").split(os.pathsep)[0]  # a bwrap that fails as in Docker
        case = {**env, "HOME": str(root / "home"), "PATH": f"{fake_bin}{os.pathsep}{env['PATH']}"}
        files = {f"{ASSIGNMENT}.ipynb": _spied(notebook, spies / f"{learner}.txt")}
        if engine == "gradescope":
            (root / "source").symlink_to(shared / "source")
            link_tree(shared / "mnistlib-cache", root / "mnistlib-cache")
            submission(root / "submission", files)
            case.update(MNISTLIB_AUTOGRADER_ROOT=str(root), MNISTLIB_AUTOGRADER_PYTHON=room["python"])
            commands[learner] = (["bash", str(root / "source" / "run_autograder")], case, root)
        else:
            shutil.copytree(out / "export" / "questions" / f"mnistlib-{ASSIGNMENT}" / "tests", root / "tests")
            submission(root / "student", files)
            case.update(MNISTLIB_GRADE_ROOT=str(root), MNISTLIB_GRADE_PYTHON=room["python"])
            case["MNISTLIB_DATA"] = str(room["mnist"])  # the image has MNIST baked in; here the suite's
            commands[learner] = (["bash", str(root / "tests" / "entrypoint")], case, root)

    def grade(learner):
        argv, case, root = commands[learner]
        done = subprocess.run(argv, env=case, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{learner}: the entry point must always exit 0\n{done.stdout[-3000:]}"
        payload = json.loads((root / "results" / "results.json").read_text())
        return valid(payload, f"{engine}-results.schema.json"), done.stdout + done.stderr

    with ThreadPoolExecutor(2) as pool:  # two at a time: the 2 cores here
        graded = dict(zip(commands, pool.map(grade, commands), strict=True))
    run = {"scores": {}, "texts": {}, "notes": {}, "output": "", "payloads": {}, "spies": {}}
    for learner, (payload, log) in graded.items():
        if engine == "gradescope":
            scored = [t for t in payload["tests"] if "score" in t]
            scores = {t["name"].split(":")[0]: (t["score"], t["max_score"]) for t in scored}
            said = [payload["output"], *(t.get("output", "") for t in payload["tests"])]
        else:
            scores = {t["name"]: (t["points"], t["max_points"]) for t in payload["tests"]}
            said = [
                payload.get("message", ""),
                payload.get("output", ""),
                *(t["message"] for t in payload["tests"]),
            ]
        spy = spies / f"{learner}.txt"
        run["spies"][learner] = spy.read_text() if spy.is_file() else ""
        run["scores"][learner] = {f"test_{name}": pair for name, pair in scores.items()}
        run["texts"][learner] = "\n".join([run["spies"][learner], *said])  # all the learner could see
        run["notes"][learner] = " ".join(said)
        run["payloads"][learner] = payload
        run["output"] += f"--- {learner}\n{log[-1500:]}\n"
    return run


def _skip_reason(runner: str) -> str | None:
    if runner not in AS_USER and grading_sandbox.problem():
        return f"bwrap cannot run here: {grading_sandbox.problem()}"
    if runner in AS_USER and os.geteuid() != 0:
        return "the unprivileged kernel user is for a grader running as root"
    return None


def _run(installed: dict, runner: str) -> dict:
    room = _room(installed, runner in AS_USER)
    out = installed["work"] / runner
    out.mkdir()
    if runner in ENGINES:
        run = _engine(room, out, runner)
    elif runner.startswith("nbgrader"):
        run = _nbgrader(room, out, sandbox=runner == "nbgrader")
    elif runner == "no-sandbox":  # no feedback pages: see _nbgrader; nbgrader-no-sandbox reads the outputs
        run = _mnistlib_grade(room, out, "--no-sandbox")
    else:
        run = _mnistlib_grade(room, out, "--feedback", str(out / "feedback"))
    run["runner"] = runner
    return run


#: Runs graded at once: each waits on its kernels most of the time (two kernels each at most).
AT_ONCE = 3


@pytest.fixture(scope="module")
def runs(installed) -> dict:
    """Every runner's grading of the class, ``AT_ONCE`` runners at a time: ``{runner: future}``.

    The two venvs are made first, side by side; each run has its own output folder, and reads the
    class and its venv only (the root runners' :func:`kernel_user.protect` only ever takes access away).
    """
    wanted = [r for r in RUNNERS if _skip_reason(r) is None]
    built()  # the session's wheels, once (functools.cache computes twice when asked by two threads at once)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda as_user: _room(installed, as_user), sorted({r in AS_USER for r in wanted})))
    with ThreadPoolExecutor(AT_ONCE) as pool:
        futures = {runner: pool.submit(_run, installed, runner) for runner in wanted}
        for future in futures.values():
            future.exception()  # wait for every run before the first test reads one
    return futures


@pytest.fixture(scope="module", params=RUNNERS)
def graded(request, runs):
    runner = request.param
    if _skip_reason(runner):
        pytest.skip(_skip_reason(runner))
    return runs[runner].result()  # a run that failed fails each of its tests, with its error


def _grades(run, learner):
    assert learner in run["scores"], f"{learner} was not graded by {run['runner']}:\n{run['output']}"
    return run["scores"][learner]


def test_the_control_learner_gets_full_marks(graded):
    grades = _grades(graded, CONTROL)
    assert grades and all(score == top for score, top in grades.values()), (
        grades,
        graded["notes"].get(CONTROL),
        graded["output"][-2000:],
    )


@pytest.mark.parametrize("name", NAMES)
def test_the_attack_scores_zero_for_its_exercise(graded, name):
    attack = BY_NAME[name]
    score, top = _grades(graded, name)[attack.test_id]
    assert top > 0 and score == 0, f"{name} got {score} / {top} from {graded['runner']}"


@pytest.mark.parametrize("name", NAMES)
def test_no_piece_of_the_key_was_reached(graded, name):
    if graded["runner"] == "no-sandbox":
        pytest.skip("mnistlib grade --no-sandbox shows no outputs here (nbgrader-no-sandbox does)")
    text = graded["texts"].get(name, "")
    assert "REACHED" not in text, f"{name} ({graded['runner']}): {text[text.index('REACHED') - 200 :][:600]}"
    if name not in PLAIN:  # its code ran in the learner's kernel and said what it could not reach
        assert "BLOCKED" in text, f"{name} ({graded['runner']}) printed nothing: {text[-1500:]}"
    leaked = [line for line in hidden_lines(ASSIGNMENT) if line in text]
    assert not leaked, f"hidden-test lines in {name}'s outputs: {leaked[:1]}"
    assert "root:" not in text  # no line of /etc/shadow


def test_an_answer_naming_the_key_gets_a_note(graded):
    for name in PLAIN:
        assert "answer key" in graded["notes"].get(name, ""), graded["notes"].get(name)
    assert "answer key" not in graded["notes"].get(CONTROL, "")


def test_the_engines_grade_without_bwrap_and_kernels_run_unprivileged(graded):
    """The engines' entry points took the no-bubblewrap path and said so; every learner's kernel ran
    as the unprivileged account (mnistlib.grading.kernel_user), never as the root grader."""
    if graded["runner"] not in ENGINES:
        pytest.skip("for the Gradescope and PrairieLearn entry points")
    for learner, payload in graded["payloads"].items():
        assert "Graded without the bubblewrap sandbox (bwrap does not work here" in payload["output"], learner
        assert graded["spies"][learner].startswith(f"kernel uid {kernel_user.account().pw_uid}\n"), (
            learner,
            graded["spies"][learner][:200],
        )
    assert kernel_user.account().pw_uid != 0
