"""A grading worker: one process of ``mnistlib grade``'s pool, with its own throw-away nbgrader course.

``mnistlib grade`` sorts its jobs (slowest assignments first) and hands them to a
:class:`concurrent.futures.ProcessPoolExecutor`; each free worker takes the next
one. :func:`start` runs once in each worker process; it

1. makes a fresh course folder (``nbgrader_config.py`` of the course plus the
   grading overrides, and ``source/<id>`` of each assignment of the run), and
   seeds its gradebook with the schema version (see :func:`seed_gradebook`);
2. opens :class:`nbgrader.apps.NbGraderAPI` on it (the code behind the
   ``nbgrader`` command, run in-process to save start-up time).

:func:`grade_job` then grades one submission:

3. nbgrader's ``generate_assignment``, the first time this worker grades the
   assignment (this fills the gradebook with the source cells, their checksums
   and points);
4. the submission goes under ``submitted/<student>/<id>/<id>.ipynb`` (an
   unreadable file becomes an empty notebook, so it scores zero; the reason is
   kept for the report);
5. nbgrader's ``autograde``, and ``generate_feedback`` when feedback is asked for;
6. the scores from the gradebook and the messages from the autograded notebook
   make the job's result.

The course config's executor starts each kernel through :mod:`mnistlib.grading.kernel`
(memory and output limits, set here from the command line), in the worker's
sandbox (:mod:`mnistlib.grading.sandbox`) unless the settings say ``"sandbox": false``;
each kernel works on a copy of the submission's own folder under ``autograded/``.
A worker stopped by SIGTERM (or by its parent's death) stops its kernel, deletes its
course folder and exits.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing.util
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from . import diagnose, submissions
from . import mistakes as grading_mistakes
from . import sandbox as grading_sandbox
from . import usage as grading_usage
from .kernel import never_answered

#: Linux's prctl option: the signal this process gets when its parent dies (``PR_SET_PDEATHSIG``).
PR_SET_PDEATHSIG = 1

#: Per-run settings appended to the copied ``nbgrader_config.py``.
OVERRIDES = """
# --- added by mnistlib.grading.worker for this throw-away course ---
c.CourseDirectory.root = {root!r}
c.GradingExecute.timeout = {timeout}
c.GradingExecute.memory_mb = {memory_mb}
c.GradingExecute.max_output_kb = {max_output_kb}
c.GradingExecute.sandbox = {sandbox}
c.Autograde.create_student = True
c.Exchange.root = {exchange!r}
"""


def prepare_course(workdir: Path, course: Path, config: Path, assignments: list[str], limits: dict) -> Path:
    """Create ``workdir/course`` with the config (plus overrides) and the sources of ``assignments``."""
    root = workdir / "course"
    (root / "source").mkdir(parents=True)
    text = config.read_text() + OVERRIDES.format(root=str(root), exchange=str(workdir / "x"), **limits)
    (root / "nbgrader_config.py").write_text(text)
    for assignment in assignments:
        shutil.copytree(course / "source" / assignment, root / "source" / assignment)
    return root


def seed_gradebook(root: Path) -> None:
    """Create the course's gradebook holding only its schema version, as nbgrader would record it.

    nbgrader stamps a new gradebook with the alembic head revision, which it asks a fresh
    ``alembic`` process for (several seconds on a busy machine). A gradebook that already has
    tables is not stamped again, so writing the same revision first (from alembic's Python API,
    well under a second) saves that, without changing any of nbgrader's code.
    """
    import sqlite3

    import nbgrader
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
    head = ScriptDirectory.from_config(config).get_current_head()
    with contextlib.closing(sqlite3.connect(root / "gradebook.db")) as db, db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (head,))


def _api(root: Path):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def _place(job: dict, root: Path) -> list[dict]:
    """Copy the job's submission into ``submitted/``; return notes about an unreadable file."""
    assignment, student = job["assignment"], job["student"]
    target = root / "submitted" / student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    # The learner's file is data: read once, never through a link (a notebook linked to another
    # learner's would get that learner's grade), then written here from those bytes.
    raw, refused = submissions.read_bytes(job["path"], job.get("within"), names=job.get("names", 1))
    notebook, problem = diagnose.read_submission(Path(job["path"]), raw) if raw is not None else (None, None)
    if notebook is None:
        if refused is not None:
            problem = diagnose.note("refused", f"{refused}; it was not read, and scores zero")
        source = diagnose.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
        target.write_text(json.dumps(diagnose.empty_like(source)))
        return [problem]
    target.write_bytes(raw)
    return []


#: This worker process's course folder, nbgrader API and settings (set by :func:`start`).
_worker: dict = {}


#: What a worker imports to grade (nbgrader and what its autograde, feedback and gradebook use):
#: :func:`preload` imports it in ``mnistlib grade``'s own process before the pool forks its workers,
#: so that each worker starts with it instead of importing it again (seconds of CPU per worker).
WORKER_MODULES = (
    "sqlite3",
    "alembic.config",
    "alembic.script",
    "nbgrader.apps",
    "nbgrader.api",
    "nbgrader.coursedir",
    "nbgrader.converters",
    "nbgrader.preprocessors",
    "nbconvert.exporters",
    "jupyter_client.manager",
    "traitlets.config.loader",
    "mnistlib.grading.preprocessors",
)


def preload() -> None:
    """Import :data:`WORKER_MODULES` here (none starts a thread): workers forked later have them."""
    import importlib

    for name in WORKER_MODULES:
        importlib.import_module(name)


def start(settings: dict, env: dict[str, str]) -> None:
    """Set this worker process up (the pool's initializer): environment, course folder, nbgrader API.

    ``settings`` holds the course and config paths, the assignments of the run, the limits
    (timeout, memory_mb, max_output_kb, sandbox), the feedback folder or None, and the
    ``mnistlib grade`` process's pid. Output of the worker (nbgrader's own logging, TensorFlow
    notices) goes to a log file in the course folder, not to the command's terminal.
    """
    os.environ.clear()
    os.environ.update(env)
    os.environ.pop("NBGRADER_EXECUTION", None)  # nbgrader sets it while it executes (quick mode)
    os.environ.pop("MNISTLIB_QUICK", None)  # so quick mode is on while graded, whatever the caller set
    # nbgrader's gradebook runs the `alembic` command: find it next to this Python.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    workdir = Path(tempfile.mkdtemp(prefix="mnistlib-grade-"))
    multiprocessing.util.Finalize(None, shutil.rmtree, args=(workdir, True), exitpriority=10)
    stay_with_parent(settings.get("parent_pid"))
    log = os.open(workdir / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    limits = {k: int(settings[k]) for k in ("timeout", "memory_mb", "max_output_kb")}
    limits["sandbox"] = bool(settings.get("sandbox", True))
    root = prepare_course(
        workdir, Path(settings["course"]), Path(settings["config"]), settings["assignments"], limits
    )
    seed_gradebook(root)
    os.chdir(root)
    _worker.update(settings=settings, root=root, api=_api(root), prepared={})


def _started_file(folder: str, job: dict) -> Path:
    import hashlib

    key = hashlib.sha256(f"{job['student']}\0{job['assignment']}".encode()).hexdigest()[:24]
    return Path(folder) / key


def was_started(folder: str, job: dict) -> bool:
    """Whether a worker was grading ``job`` (and never finished it) in the pool that used ``folder``."""
    return _started_file(folder, job).exists()


def clear_started(folder: str) -> None:
    for path in Path(folder).iterdir():
        path.unlink(missing_ok=True)


def grade_job(job: dict) -> dict:
    """Grade one submission in this worker's course (see the module docstring); its result.

    While it grades, a file in the run's ``started`` folder says so: if the worker dies, the
    parent knows which notebooks were being graded (:func:`mnistlib.grading.command.run_jobs`).
    """
    started = _worker["settings"].get("started")
    if started:
        _started_file(started, job).touch()
    try:
        result = _grade(job)
        if started:
            _started_file(started, job).unlink(missing_ok=True)
        return result
    finally:
        if _stopped:  # SIGTERM came (nbgrader may have caught its SystemExit): the job has unwound
            shutil.rmtree(_worker["root"].parent, ignore_errors=True)
            grading_sandbox.close_current()  # os._exit skips the exit handler that would
            os._exit(_stopped[0])  # never back into the pool for another job


def _grade(job: dict) -> dict:
    settings, root, api, prepared = (_worker[k] for k in ("settings", "root", "api", "prepared"))
    assignment = job["assignment"]
    if assignment not in prepared:
        prepared[assignment] = api.generate_assignment(assignment, force=True, create=True)
    if not prepared[assignment]["success"]:
        return _failed(job, "could not prepare the assignment", prepared[assignment])
    started = time.perf_counter()
    notes = _place(job, root)
    unreadable = notes[0]["message"] if notes else None  # graded as an empty notebook: ungradable
    graded = api.autograde(assignment, job["student"], force=True, create=True)
    if not graded["success"] and _kernel_never_answered(graded):
        # A kernel that never answered (a start on an overloaded machine, a forked kernel that hung)
        # is the grading machine's failure, not the learner's: grade the notebook once more.
        graded = api.autograde(assignment, job["student"], force=True, create=True)
        notes.append({"message": RETRY_NOTE})
    if settings.get("feedback") and graded["success"]:
        _feedback(api, root, job, Path(settings["feedback"]))
    result = _collect(root, job, graded, notes, settings)
    result["unreadable"] = unreadable
    result["peak_mb"] = grading_usage.of_notebook(_autograded(root, job))  # as the kernel reported it
    result["sandbox"] = bool(settings.get("sandbox", True))  # the class report notes a run without it
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


#: The note on a notebook graded twice because a kernel did not answer the first time.
RETRY_NOTE = "a kernel did not answer in time on the first attempt, so this notebook was graded a second time"


def _autograded(root: Path, job: dict):
    path = root / "autograded" / job["student"] / job["assignment"] / f"{job['assignment']}.ipynb"
    return diagnose.read_notebook(path) if path.is_file() else None


def _kernel_never_answered(outcome: dict) -> bool:
    """Whether nbgrader failed because a kernel did not answer within its start-up timeout."""
    return never_answered((outcome.get("log") or "") + (outcome.get("error") or ""))


def _feedback(api, root: Path, job: dict, feedback_dir: Path) -> None:
    assignment, student = job["assignment"], job["student"]
    made = api.generate_feedback(assignment, student, force=True)
    html = root / "feedback" / student / assignment / f"{assignment}.html"
    if made["success"] and html.is_file():
        out = feedback_dir / student / f"{assignment}.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(html, out)


def _failed(job: dict, what: str, outcome: dict, notes: list[dict] | None = None) -> dict:
    log = (outcome.get("log") or "").splitlines()
    # nbgrader logs the real cause (e.g. a kernel that did not start) before its generic final error
    causes = [line.strip() for line in log if "Error" in line and "Please see" not in line][-3:]
    detail = causes or (outcome.get("error") or "").strip().splitlines()[-3:]
    return {
        **{k: job[k] for k in ("student", "assignment", "path")},
        "score": 0.0,
        "max_score": 0.0,
        "exercises": [],
        "notes": [n["message"] for n in notes or []],
        "error": f"{what}: " + " | ".join(detail),
    }


def _collect(root: Path, job: dict, graded: dict, notes: list[dict], settings: dict) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    assignment, student = job["assignment"], job["student"]
    if not graded["success"]:
        return _failed(job, "nbgrader could not autograde this notebook", graded, notes)
    source = diagnose.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
    graded_nb_path = root / "autograded" / student / assignment / f"{assignment}.ipynb"
    executed = diagnose.read_notebook(graded_nb_path) if graded_nb_path.is_file() else None
    raw, _ = submissions.read_bytes(job["path"], job.get("within"), names=job.get("names", 1))
    submitted = diagnose.read_submission(Path(job["path"]), raw)[0] if raw is not None else None
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        try:
            record = gb.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            return _failed(job, "no grades were recorded", graded)
        scores = {g.name: (float(g.score or 0.0), float(g.max_score)) for g in record.grades}
    exercises = []
    messages = diagnose.test_messages(executed, source) if executed is not None else {}
    from .regions import failed_parts

    parts = failed_parts(executed)  # which part of each failing test cell raised: visible or hidden
    found = grading_mistakes.of_notebook(executed)  # the checks' mistake ids (mnistlib.grading.mistakes)
    for grade_id in diagnose.test_ids(source):
        score, max_score = scores.get(grade_id, (0.0, diagnose.points(source)[grade_id]))
        message = messages.get(grade_id) if score < max_score else None
        if score < max_score and not message:
            message = "this test did not pass"
        exercises.append(
            {
                "name": diagnose.exercise_name(grade_id),
                "grade_id": grade_id,
                "score": score,
                "max_score": max_score,
                "message": message,
                "failed_in": parts.get(grade_id) if score < max_score else None,
                "mistake": grading_mistakes.identify(found.get(grade_id), diagnose.exercise_name(grade_id))
                if score < max_score
                else None,
            }
        )
    if submitted is not None:
        notes += diagnose.compare_with_source(submitted, source)
        notes += diagnose.scan_tampering(submitted, source)
    if executed is not None:
        notes += diagnose.execution_notes(
            executed, timeout=settings["timeout"], memory_mb=settings["memory_mb"]
        )
    return {
        **{k: job[k] for k in ("student", "assignment", "path")},
        "score": sum(e["score"] for e in exercises),
        "max_score": sum(e["max_score"] for e in exercises),
        "exercises": exercises,
        "notes": [n["message"] for n in notes],
        "error": None,
    }


#: Set (to the exit status) once this worker is asked to stop.
_stopped: list[int] = []


def _stop(signum, _frame) -> None:
    _stopped.append(128 + signum)
    raise SystemExit(128 + signum)  # unwinds: nbclient stops the kernel, the course folder is deleted


def stay_with_parent(parent_pid: int | None) -> None:
    """Stop this worker on SIGTERM, and get SIGTERM when ``mnistlib grade`` dies, even by SIGKILL.

    On SIGTERM the job in progress unwinds (nbclient stops its kernel), the course folder is
    deleted and the process exits at once (:func:`grade_job`): a stopped run leaves nothing
    behind. The parent-death signal is Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere the
    parent stops its workers when it is stopped itself, which covers Ctrl-C and SIGTERM.
    """
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent decides
    if not sys.platform.startswith("linux") or not parent_pid:
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the line above
        _stop(signal.SIGTERM, None)
