"""One grading worker: a throw-away nbgrader course that autogrades a batch of submissions.

    python -m mnistlib.grading_worker BATCH.json RESULT.json

``BATCH.json`` holds the course folder, the limits and a list of jobs
(student, assignment, submitted file), and optionally a ``claims`` folder shared
with other workers (each job is then graded by the first worker to claim it, see
:func:`claim`). The worker

1. makes a fresh course folder (``nbgrader_config.py`` of the course plus the
   grading overrides, and ``source/<id>`` of each assignment it needs);
2. runs nbgrader's ``generate_assignment`` for each assignment, the first time it
   grades one of its submissions (this fills the gradebook with the source cells,
   their checksums and points);
3. puts each submission under ``submitted/<student>/<id>/<id>.ipynb`` (an
   unreadable file becomes an empty notebook, so it scores zero; the reason is
   kept for the report);
4. runs nbgrader's ``autograde`` per submission, and ``generate_feedback`` when
   feedback is asked for, through :class:`nbgrader.apps.NbGraderAPI` (the code
   behind the ``nbgrader`` command, run in-process to save start-up time);
5. reads the scores from the gradebook and the messages from the autograded
   notebooks, and writes one result per job it graded to ``RESULT.json``.

The course config's executor starts each kernel through :mod:`mnistlib.grading_kernel`
(memory and output limits, set here from the command line), in a sandbox per
learner (:mod:`mnistlib.grading_sandbox`) unless the batch says ``"sandbox": false``;
each kernel works on a copy of the submission's own folder under ``autograded/``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from . import grading_diagnose as diagnose

#: Linux's prctl option: the signal this process gets when its parent dies (``PR_SET_PDEATHSIG``).
PR_SET_PDEATHSIG = 1

#: Per-run settings appended to the copied ``nbgrader_config.py``.
OVERRIDES = """
# --- added by mnistlib.grading_worker for this throw-away course ---
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


def _fast_alembic_head() -> None:
    """Give nbgrader the gradebook schema version without its ``alembic heads`` subprocess.

    nbgrader stamps every new gradebook with the alembic head revision, which it
    asks a fresh ``alembic`` process for (several seconds on a busy machine). The
    same answer comes from alembic's Python API in well under a second.
    """
    import nbgrader
    import nbgrader.api

    original = nbgrader.api.get_alembic_version

    def head() -> str:
        try:
            from alembic.config import Config
            from alembic.script import ScriptDirectory

            config = Config()
            config.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
            return ScriptDirectory.from_config(config).get_current_head()
        except Exception:  # fall back to nbgrader's own way
            return original()

    nbgrader.api.get_alembic_version = head


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
    notebook, problem = diagnose.read_submission(Path(job["path"]))
    if notebook is None:
        source = diagnose.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
        target.write_text(json.dumps(diagnose.empty_like(source)))
        return [problem]
    shutil.copyfile(job["path"], target)
    return []


def claim(claims: Path | None, index: int, worker: int) -> bool:
    """Take job ``index`` for this worker; False if another worker took it first.

    Workers share one job list and a ``claims`` folder: creating ``claims/<index>`` exclusively
    is atomic, so each job is graded exactly once, by whichever worker is free first. The file
    holds the worker's number, so that the parent can tell whose jobs a crashed worker had.
    """
    if claims is None:
        return True
    try:
        fd = os.open(claims / str(index), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(str(worker))
    return True


def grade_batch(batch: dict) -> list[dict]:
    """Grade the jobs of ``batch`` this worker claims (see the module docstring); one result each.

    Without ``claims`` in the batch, every job is this worker's. With it, the jobs are shared
    with other workers, taken in list order (put the slowest first) as each worker becomes free.
    """
    jobs = batch["jobs"]
    course = Path(batch["course"])
    config = Path(batch["config"])
    feedback_dir = Path(batch["feedback"]) if batch.get("feedback") else None
    claims = Path(batch["claims"]) if batch.get("claims") else None
    worker = int(batch.get("worker", 0))
    assignments = sorted({job["assignment"] for job in jobs})
    with tempfile.TemporaryDirectory(prefix="mnistlib-grade-") as tmp:
        workdir = Path(tmp)
        limits = {k: int(batch[k]) for k in ("timeout", "memory_mb", "max_output_kb")}
        limits["sandbox"] = bool(batch.get("sandbox", True))
        root = prepare_course(workdir, course, config, assignments, limits)
        os.environ.pop("NBGRADER_EXECUTION", None)  # nbgrader sets it while it executes (quick mode)
        os.environ.pop("MNISTLIB_QUICK", None)  # so quick mode is on while graded, whatever the caller set
        # nbgrader's gradebook runs the `alembic` command: find it next to this Python.
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        os.chdir(root)
        _fast_alembic_head()
        api = _api(root)
        prepared: dict[str, dict] = {}  # assignment -> nbgrader's generate_assignment outcome
        results = []
        for index, job in enumerate(jobs):
            if not claim(claims, index, worker):
                continue
            assignment = job["assignment"]
            if assignment not in prepared:
                prepared[assignment] = api.generate_assignment(assignment, force=True, create=True)
            if not prepared[assignment]["success"]:
                results.append(_failed(job, "could not prepare the assignment", prepared[assignment]))
                continue
            started = time.perf_counter()
            notes = _place(job, root)
            graded = api.autograde(assignment, job["student"], force=True, create=True)
            if feedback_dir is not None and graded["success"]:
                _feedback(api, root, job, feedback_dir)
            result = _collect(root, job, graded, notes, batch)
            result["seconds"] = round(time.perf_counter() - started, 2)
            results.append(result)
        os.chdir(workdir.parent)
        return results


def _feedback(api, root: Path, job: dict, feedback_dir: Path) -> None:
    assignment, student = job["assignment"], job["student"]
    made = api.generate_feedback(assignment, student, force=True)
    html = root / "feedback" / student / assignment / f"{assignment}.html"
    if made["success"] and html.is_file():
        out = feedback_dir / student / f"{assignment}.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(html, out)


def _failed(job: dict, what: str, outcome: dict) -> dict:
    log = (outcome.get("log") or "").splitlines()
    # nbgrader logs the real cause (e.g. a kernel that did not start) before its generic final error
    causes = [line.strip() for line in log if "Error" in line and "Please see" not in line][-3:]
    detail = causes or (outcome.get("error") or "").strip().splitlines()[-3:]
    return {
        **{k: job[k] for k in ("student", "assignment", "path")},
        "score": 0.0,
        "max_score": 0.0,
        "exercises": [],
        "notes": [],
        "error": f"{what}: " + " | ".join(detail),
    }


def _collect(root: Path, job: dict, graded: dict, notes: list[dict], batch: dict) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    assignment, student = job["assignment"], job["student"]
    if not graded["success"]:
        return _failed(job, "nbgrader could not autograde this notebook", graded)
    source = diagnose.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
    graded_nb_path = root / "autograded" / student / assignment / f"{assignment}.ipynb"
    executed = diagnose.read_notebook(graded_nb_path) if graded_nb_path.is_file() else None
    submitted, _ = diagnose.read_submission(Path(job["path"]))
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        try:
            record = gb.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            return _failed(job, "no grades were recorded", graded)
        scores = {g.name: (float(g.score or 0.0), float(g.max_score)) for g in record.grades}
    exercises = []
    messages = diagnose.test_messages(executed, source) if executed is not None else {}
    from .grading_regions import failed_parts

    parts = failed_parts(executed)  # which part of each failing test cell raised: visible or hidden
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
            }
        )
    if submitted is not None:
        notes += diagnose.compare_with_source(submitted, source)
        notes += diagnose.scan_tampering(submitted, source)
    if executed is not None:
        notes += diagnose.execution_notes(executed, timeout=batch["timeout"], memory_mb=batch["memory_mb"])
    return {
        **{k: job[k] for k in ("student", "assignment", "path")},
        "score": sum(e["score"] for e in exercises),
        "max_score": sum(e["max_score"] for e in exercises),
        "exercises": exercises,
        "notes": [n["message"] for n in notes],
        "error": None,
    }


def _stop(signum, _frame) -> None:
    raise SystemExit(128 + signum)  # unwinds: nbclient stops the kernel, the course folder is deleted


def stay_with_parent(parent_pid: int | None) -> None:
    """Stop this worker (SIGTERM) when the ``mnistlib grade`` process that started it dies, even by SIGKILL.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere the parent stops its workers when it is
    stopped itself, which covers Ctrl-C and SIGTERM.
    """
    signal.signal(signal.SIGTERM, _stop)
    if not sys.platform.startswith("linux") or not parent_pid:
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the line above
        _stop(signal.SIGTERM, None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    batch = json.loads(Path(argv[0]).read_text())
    stay_with_parent(batch.get("parent_pid"))
    results = grade_batch(batch)
    Path(argv[1]).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
