"""``mnistlib grade``: grade learner notebooks with nbgrader, the way the instructor's nbgrader would.

    mnistlib grade 02-reshaping.ipynb     one notebook: a table of points and messages
    mnistlib grade my-work/               every notebook in a folder (one learner)
    mnistlib grade course/submitted       a class, laid out as submitted/<student>/<id>/
                                          (grades in mnistlib-grades.csv, or --csv FILE)
    mnistlib grade ... --json             machine-readable results
    mnistlib grade --check-sandbox        is grading sandboxed on this machine? if not, why, and the fix
    mnistlib grade ... --report FILE      a class report: the mistakes behind the failures, by name

Each notebook is matched to its assignment (by the ``submitted/<student>/<id>/``
layout, by its file name ``<id>.ipynb``, or by the test cells it contains),
copied into a throw-away nbgrader course next to the course source (the course
installed with mnistlib, or ``--course``), and graded
by nbgrader's own ``autograde`` (hidden tests included, test cells restored
from the source). Work is spread over ``--jobs`` worker processes (default:
every core). The exit status is 0 only when every notebook has full marks.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .. import cpu
from ..course import COURSE  # the course installed with mnistlib (importlib.resources)
from ..files import atomic_open, atomic_write
from . import diagnose, limits, submissions
from . import forkserver as grading_forkserver
from . import report as grading_report
from . import sandbox as grading_sandbox
from .lms import csv_cell

LEARNER = "learner"
#: The grades file of a class run: not ``grades.csv``, which is ``nbgrader export``'s in the same folder.
DEFAULT_CSV = "mnistlib-grades.csv"

CSV_COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]


class GradingError(Exception):
    """A command-line problem worth one clear line (no traceback)."""


# ----------------------------------------------------------------------------- finding submissions


def course_assignments(course: Path) -> dict[str, set[str]]:
    """``{assignment id: grade_ids of its test cells}`` for every source notebook of ``course``."""
    found = {}
    source = course / "source"
    if not source.is_dir():
        raise GradingError(f"{course} has no source/ folder: pass the course folder with --course")
    for folder in sorted(p for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file()):
        notebook = diagnose.read_notebook(folder / f"{folder.name}.ipynb")
        found[folder.name] = set(diagnose.test_ids(notebook))
    return found


def identify(path: Path, assignments: dict[str, set[str]]) -> str | None:
    """The assignment a submitted notebook belongs to, or None."""
    if path.parent.name in assignments and path.stem == path.parent.name:
        return path.stem
    if path.stem in assignments:
        return path.stem
    raw, _ = submissions.read_bytes(path)  # a learner's file: never read through a link
    notebook, _ = diagnose.read_submission(path, raw) if raw is not None else (None, None)
    if notebook is None:
        return None
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    best = max(assignments, key=lambda a: len(assignments[a] & ids), default=None)
    return best if best is not None and assignments[best] & ids else None


def _class_root(folder: Path, assignments: dict[str, set[str]]) -> Path | None:
    """``folder`` (or its ``submitted/``) when laid out as ``<student>/<assignment>/``, else None."""
    for candidate in (folder / "submitted", folder):
        if candidate.is_dir() and any(
            (student / a).is_dir() for student in candidate.iterdir() if student.is_dir() for a in assignments
        ):
            return candidate
    return None


def submission_timestamp(notebook: Path) -> str:
    """When the notebook was handed in, as ``nbgrader export`` writes it; "" when unknown.

    ``nbgrader collect`` leaves ``timestamp.txt`` (``2026-12-02 05:23:21.162918 UTC``) beside
    each submitted notebook; export writes the same time without the zone.
    The file is the learner's: it is read as data (never through a link, at most 200 bytes) and
    parsed as a date; anything that is not one gives "".
    """
    from nbgrader.utils import parse_utc

    raw, _ = submissions.read_bytes(notebook.parent / "timestamp.txt", limit=submissions.MAX_TIMESTAMP_BYTES)
    try:
        return str(parse_utc(raw.decode("utf-8").strip())) if raw else ""
    except (ValueError, OverflowError, UnicodeDecodeError, TypeError):
        return ""


def find_jobs(paths: list[Path], assignments: dict[str, set[str]]) -> tuple[list[dict], list[str], bool]:
    """Jobs ``{"student", "assignment", "path"}`` for the given files / folders; problems; class mode."""
    jobs, problems, is_class = [], [], False
    taken: set[tuple[str, str]] = set()
    shared: dict[str, dict] = {}

    def add(student: str, assignment: str, path: Path, root: Path | None = None) -> None:
        name, n = student, 1
        while (name, assignment) in taken:
            n += 1
            name = f"{student}-{n}"
        taken.add((name, assignment))
        jobs.append(
            {
                "student": name,
                "assignment": assignment,
                "path": str(path.absolute()),  # never resolved: a link is refused, not followed
                "timestamp": submission_timestamp(path),
                "within": str(root.absolute()) if root is not None else None,
            }
        )
        if root is not None:  # how many names a hard-linked notebook has inside the class folder
            inside = shared.setdefault(str(root), submissions.names_inside(root))
            jobs[-1]["names"] = submissions.count_names(path, inside)

    for path in paths:
        if not path.exists():
            problems.append(f"{path}: no such file or folder")
        elif path.is_dir() and (root := _class_root(path, assignments)) is not None:
            is_class = True
            for student in sorted(p for p in root.iterdir() if p.is_dir()):
                for assignment in assignments:
                    notebook = student / assignment / f"{assignment}.ipynb"
                    if os.path.lexists(notebook) and not notebook.is_dir():  # a link, a pipe: refused
                        add(student.name, assignment, notebook, root)
        else:
            files = sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
            if not files:
                problems.append(f"{path}: no .ipynb notebooks in this folder")
            for file in files:
                assignment = identify(file, assignments)
                unreadable = None if assignment is not None else diagnose.read_submission(file)[1]
                if unreadable is not None:  # what is wrong with the file comes first: it is not a notebook
                    problems.append(f"{file}: {unreadable['message']}")
                elif assignment is None:
                    problems.append(
                        f"{file}: cannot tell which assignment this is; name it after one of "
                        f"{', '.join(f'{a}.ipynb' for a in assignments)}"
                    )
                else:
                    add(LEARNER, assignment, file)
    return jobs, problems, is_class


# ----------------------------------------------------------------------------- running workers


#: File in mnistlib's cache folder with how long each assignment last took to grade here (seconds).
TIMINGS_FILE = "grading-seconds.json"


def _timings_path() -> Path:
    from ..data import cache_dir

    return cache_dir() / TIMINGS_FILE


def remembered_seconds(path: Path | None = None) -> dict[str, float]:
    """How long each assignment took to grade the last time, on this machine: ``{assignment: seconds}``.

    Empty when nothing was remembered yet, or the file is unreadable (it is only a hint for the order).
    """
    try:
        values = json.loads((path or _timings_path()).read_text())
        return {str(k): float(v) for k, v in values.items() if isinstance(v, int | float) and v >= 0}
    except (OSError, ValueError, AttributeError):
        return {}


def remember_seconds(results: list[dict], path: Path | None = None) -> None:
    """Keep each graded assignment's median seconds per submission, for the next run's order.

    Writes a new file and renames it over the old one, so a reader never sees half of it; a cache
    folder that cannot be written only means the next run estimates the order from the code.
    """
    taken: dict[str, list[float]] = {}
    for result in results:
        if not result.get("error") and isinstance(result.get("seconds"), int | float):
            taken.setdefault(result["assignment"], []).append(float(result["seconds"]))
    if not taken:
        return
    path = path or _timings_path()
    values = remembered_seconds(path)
    values.update({a: round(statistics.median(seconds), 2) for a, seconds in taken.items()})
    with contextlib.suppress(OSError):  # remembering is an optimisation: never fail a grading run for it
        atomic_write(path, json.dumps(values, indent=1, sort_keys=True))


def grading_cost(course: Path, assignment: str, remembered: dict[str, float] | None = None) -> float:
    """Expected seconds to grade one submission of ``assignment`` (quick mode); only the order matters.

    The time it took the last time on this machine (``remembered``, see :func:`remembered_seconds`),
    else an estimate from its source: 2 s for the kernel and the notebook, 4 s for each Keras
    training run (``.fit(``) in its code.
    """
    if remembered and assignment in remembered:
        return remembered[assignment]
    notebook = diagnose.read_notebook(course / "source" / assignment / f"{assignment}.ipynb")
    if notebook is None:
        return 2.0
    code = "\n".join("".join(c.get("source", "")) for c in notebook["cells"] if c["cell_type"] == "code")
    return 2.0 + 4.0 * code.count(".fit(")


def server_needs_keras(course: Path, assignments: list[str], sandbox: bool) -> bool:
    """Whether the run's fork server should preload TensorFlow and Keras: for the checkers of
    ``assignments`` (:func:`~mnistlib.grading.forkserver.checks_need_keras`), and without the sandbox for
    the learners' kernels too, which it then forks (:func:`~mnistlib.grading.sandbox.needs_keras`)."""
    for assignment in assignments:
        try:
            source = diagnose.read_notebook(course / "source" / assignment / f"{assignment}.ipynb")
        except (OSError, ValueError):  # the worker will say what is wrong with it; preload, as before
            return True
        if grading_forkserver.checks_need_keras(source):
            return True
        if not sandbox and grading_sandbox.needs_keras(source):
            return True
    return False


def order_jobs(jobs: list[dict], cost=lambda assignment: 1) -> list[dict]:
    """The order in which the workers take ``jobs``: the most expensive assignments first.

    Every free worker takes the next job on the list, so starting with the slow ones leaves the
    quick ones to fill the gaps at the end (one learner's training notebooks do not queue up
    behind each other on one worker). Jobs of one assignment stay together, so that a worker
    mostly prepares each assignment once. The sandbox does not change the order: a grading
    process keeps one sandbox for every learner it grades (:func:`mnistlib.grading.sandbox.for_learner`).
    """
    costs = {a: cost(a) for a in {j["assignment"] for j in jobs}}
    return sorted(jobs, key=lambda j: (-costs[j["assignment"]], j["assignment"], j["student"]))


#: TensorFlow's thread-pool sizes, read when a kernel's TensorFlow runtime starts (its first op).
TF_THREAD_VARIABLES = cpu.TF_THREAD_VARIABLES


def worker_env(environ, workers: int, cores: int | None = None) -> dict[str, str]:
    """The environment of the grading workers, and so of the kernels they start.

    Each kernel gets its share of the CPUs (:func:`mnistlib.cpu.budget` with ``workers`` jobs:
    ``cores // workers``, at least 1, ``cores`` by default the CPUs this process has), for its BLAS
    and TensorFlow pools, unless the caller set the thread counts: by default every kernel would
    start a thread per core, and two kernels training at once on two cores then took turns (slower
    in all; docs/benchmarks.md). ``MNISTLIB_JOBS`` tells each kernel's :func:`mnistlib.cpu.apply`
    the number of workers.
    """
    env = dict(environ)
    env[cpu.JOBS_ENV] = str(max(1, workers))
    share = cpu.budget(max(1, workers), environ=env, **({"affinity": cores, "quota": None} if cores else {}))
    if share.threads is not None:
        for variable in TF_THREAD_VARIABLES:
            env.setdefault(variable, str(share.threads))
    return env


def stop_workers(grace: float = 10.0) -> None:
    """Stop this process's grading workers still running (SIGTERM), and kill those left after ``grace`` s.

    A stopped worker stops its kernel and deletes its throw-away course; kernels whose worker is
    killed outright exit when the fork server does, which exits with this process. The workers are
    this process's ``multiprocessing`` children (the pool keeps no public list); multiprocessing's
    resource tracker, which ignores SIGTERM, is not one of them.
    """
    import psutil

    workers = []
    for child in multiprocessing.active_children():
        with contextlib.suppress(psutil.Error):
            workers.append(psutil.Process(child.pid))
    for worker in workers:
        with contextlib.suppress(psutil.Error):
            worker.terminate()
    _, left = psutil.wait_procs(workers, timeout=grace)
    for worker in left:
        with contextlib.suppress(psutil.Error):
            worker.kill()
    psutil.wait_procs(left, timeout=grace)


def _start_method() -> str:
    """How the pool starts its workers: "fork" when this process runs no other thread, else "spawn".

    Forking needs no main module to import again, so ``grade()`` works from a script piped to
    ``python -`` (whose main module ``spawn`` cannot find); with other threads running (a Jupyter
    kernel calling :func:`grade`), forking could copy a lock another thread holds, so the workers
    are spawned there, where the main module is a real one.
    """
    import threading

    return "fork" if threading.active_count() == 1 else "spawn"


#: The error of a notebook whose grading worker died while it graded that notebook alone.
WORKER_DIED = (
    "the grading worker died while grading this notebook alone (it ran out of memory, or was "
    "killed): no grade; the other notebooks were graded by other workers"
)


def _grade_in_pool(jobs: list[dict], workers: int, settings: dict, env: dict, results: dict) -> list[dict]:
    """Grade ``jobs`` in a new pool of up to ``workers`` processes, results into ``results``;
    return the jobs a dead worker took down with the pool (not graded), in their order."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from . import worker

    worker.clear_started(settings["started"])
    pool = ProcessPoolExecutor(
        max(1, min(workers, len(jobs))),
        mp_context=multiprocessing.get_context(_start_method()),
        initializer=worker.start,
        initargs=(settings, env),
    )
    broken = []
    try:
        futures = {pool.submit(worker.grade_job, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                results[job["student"], job["assignment"]] = future.result()
            except BrokenProcessPool:
                broken.append(job)
            except Exception as err:  # a worker that failed to start, or a bug: this job's error
                error = f"the grading worker failed: {type(err).__name__}: {err}"
                results[job["student"], job["assignment"]] = failed_job(job, error)
        pool.shutdown()
    finally:  # stopped (Ctrl-C, SIGTERM) or failed: no worker goes on grading on its own
        pool.shutdown(wait=False, cancel_futures=True)
        stop_workers()
    return [job for job in jobs if job in broken]


def failed_job(job: dict, error: str) -> dict:
    """The result of a job that could not be graded: zero points and the reason."""
    return {**job, "score": 0.0, "max_score": 0.0, "exercises": [], "notes": [], "error": error}


def run_jobs(
    jobs: list[dict],
    *,
    course: Path,
    jobs_n: int,
    timeout: int,
    memory_mb: int,
    max_output_kb: int,
    feedback: Path | None = None,
    sandbox: bool = True,
) -> list[dict]:
    """Grade ``jobs`` in up to ``jobs_n`` worker processes; one result per job, in the given order.

    The jobs go, slowest assignments first (:func:`order_jobs`), to a
    :class:`~concurrent.futures.ProcessPoolExecutor` whose free workers each take the next one
    (:mod:`mnistlib.grading.worker`; forked, or spawned where threads run, see :func:`_start_method`).
    With ``sandbox``, every learner kernel runs in the sandbox its worker starts once and keeps for every
    learner it grades (:mod:`mnistlib.grading.sandbox`); without, kernels are forked from one
    shared fork server (:mod:`mnistlib.grading.forkserver`). Either way the checker kernels are
    forked from that one server of the run, outside the sandbox.
    """
    from . import worker

    config = course / "nbgrader_config.py"
    if not config.is_file():
        config = COURSE / "nbgrader_config.py"
    remembered = remembered_seconds()
    ordered = order_jobs(jobs, lambda a: grading_cost(course, a, remembered))
    results: dict[tuple[str, str], dict] = {}
    workers = max(1, min(jobs_n, len(ordered)))
    env = worker_env(os.environ, workers)
    settings = {
        "course": str(course.resolve()),
        "config": str(config.resolve()),
        "assignments": sorted({job["assignment"] for job in ordered}),
        "parent_pid": os.getpid(),
        "timeout": timeout,
        "memory_mb": memory_mb,
        "max_output_kb": max_output_kb,
        "sandbox": sandbox,
        "feedback": str(feedback.resolve()) if feedback else None,
    }
    with contextlib.ExitStack() as stack:
        # One warm TensorFlow process forks every checker kernel of the run (and, without the sandbox,
        # every learner kernel too), started now so that its imports overlap the workers' start: not
        # one per worker, each started when its first test cell needs a checker. It lives as long as
        # the run (no idle exit: in the sandbox, a long notebook may run for minutes between checkers).
        if grading_forkserver.SUPPORTED:
            env[grading_forkserver.FORKSERVER_ENV] = stack.enter_context(
                grading_forkserver.ForkServer(
                    wait=True,
                    idle_exit=grading_forkserver.RUN_LONG_S,
                    keras=server_needs_keras(course, settings["assignments"], sandbox),
                )
            ).socket
        # A worker that dies (the OOM killer chose it, say) breaks the whole pool: every job still in
        # it fails with BrokenProcessPool. Those jobs are graded again in a new pool, except the ones
        # that were being graded when it broke (each worker marks its job in `started`): each of those
        # is graded alone, so only a notebook that kills its worker by itself fails, with that reason.
        settings["started"] = stack.enter_context(tempfile.TemporaryDirectory(prefix="mnistlib-started-"))
        if _start_method() == "fork":  # imported once here, not by each worker (and each new pool)
            worker.preload()
        pending = ordered
        while pending:
            broken = _grade_in_pool(pending, workers, settings, env, results)
            suspects = [job for job in broken if worker.was_started(settings["started"], job)]
            if broken and (not suspects or len(pending) == 1):  # alone, or workers that never started
                for job in broken:
                    results[job["student"], job["assignment"]] = failed_job(job, WORKER_DIED)
                break
            for job in suspects:
                if _grade_in_pool([job], 1, settings, env, results):
                    results[job["student"], job["assignment"]] = failed_job(job, WORKER_DIED)
            pending = [job for job in broken if job not in suspects]
    remember_seconds(list(results.values()))
    return [
        {
            **not_run_when_unreadable(results[j["student"], j["assignment"]]),
            "timestamp": j.get("timestamp", ""),
        }
        for j in jobs
    ]


#: An exercise's failure in a notebook the grader could not read: its tests ran on an empty notebook.
NOT_RUN = "not run: the notebook could not be read (see above)"


def not_run_when_unreadable(result: dict) -> dict:
    """``result`` with each lost exercise's message saying that nothing ran, when the file was unreadable.

    An unreadable file is graded as an empty notebook, so every test fails on a name that is not
    defined: true, but not the cause (the ``unreadable`` sentence is), which comes first where
    the result is shown (:func:`format_table`, the class report's ungradable list).
    """
    if not result.get("unreadable"):
        return result
    exercises = [
        {**e, "message": NOT_RUN, "mistake": None} if e["score"] < e["max_score"] else e
        for e in result.get("exercises", [])
    ]
    return {**result, "exercises": exercises}


# ----------------------------------------------------------------------------- reporting


def _fmt(x: float) -> str:
    return f"{x:g}"


def format_table(result: dict) -> str:
    """The per-exercise table of one graded notebook, with its notes."""
    head = f"{Path(result['path']).name}  ({result['assignment']}"
    head += f", student {result['student']})" if result["student"] != LEARNER else ")"
    lines = [head]
    if result.get("error"):
        lines.append(f"  ERROR: {result['error']}")
        return "\n".join(lines)
    unreadable = result.get("unreadable")
    if unreadable:  # the cause comes first: no test of it ran, so their messages say nothing about it
        lines.append(f"  NOT GRADED: {unreadable}")
    width = max([len(e["name"]) for e in result["exercises"]] + [8])
    lines.append(f"  {'exercise':<{width}}  {'points':>7}  first failure")
    for e in result["exercises"]:
        pts = f"{_fmt(e['score'])} / {_fmt(e['max_score'])}"
        message = (e["message"] or "").strip().splitlines()
        first = message[0].strip() if message else ""
        lines.append(f"  {e['name']:<{width}}  {pts:>7}  {first}")
        lines += [f"  {'':<{width}}  {'':>7}  {m.strip()}" for m in message[1:]]
    total = f"{_fmt(result['score'])} / {_fmt(result['max_score'])}"
    lines.append(f"  {'total':<{width}}  {total:>7}")
    lines += [f"  note: {n}" for n in result["notes"] if n != unreadable]
    return "\n".join(lines)


def write_csv(results: list[dict], path: Path, assignments: list[str]) -> None:
    """A grades CSV with ``nbgrader export``'s columns: one row per student and assignment.

    Like ``nbgrader export``: ``\\n`` line ends, and the hand-in time in ``timestamp`` where
    the submission has nbgrader's ``timestamp.txt``. Written atomically: a reader never
    sees half a file, and an interrupted run leaves the previous file as it was.
    """
    students = sorted({r["student"] for r in results})
    handed = {(r["student"], r["assignment"]): r for r in results}
    maxima = {r["assignment"]: r["max_score"] for r in results if not r.get("error")}
    with atomic_open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for assignment in assignments:
            for student in students:
                r = handed.get((student, assignment))
                # work not handed in scores 0; work the grader could not grade has no score yet
                score = ("" if r.get("error") else r["score"]) if r else 0.0
                row = {
                    "assignment": assignment,
                    "duedate": "",
                    "timestamp": r.get("timestamp", "") if r else "",
                    "student_id": student,
                    "last_name": "",
                    "first_name": "",
                    "email": "",
                    "raw_score": score,
                    "late_submission_penalty": 0.0,
                    "score": score,
                    "max_score": maxima.get(assignment, 0.0),
                }
                writer.writerow({key: csv_cell(value) for key, value in row.items()})


def remember_grades(results: list[dict]) -> None:
    """Add each graded notebook's score to its learner's progress file (``mnistlib progress``)."""
    from .. import progress

    for r in results:
        if r.get("student") == LEARNER and not r.get("error"):
            progress.record_grade(r["path"], r["assignment"], r["score"], r["max_score"])


def sandbox_choice(wanted: bool, is_class: bool) -> bool:
    """Whether to grade in sandboxes: yes when wanted and bwrap works.

    Without a working bwrap, a learner's own notebooks are graded unsandboxed with a one-line
    note; a class is refused (:class:`GradingError`): other people's code needs the sandbox.
    """
    if not wanted:
        return False
    reason = grading_sandbox.problem()
    if reason is None:
        return True
    if is_class:
        raise GradingError(
            f"grading a class needs the grading sandbox, but {reason}: {grading_sandbox.remedy(reason)}, "
            "or pass --no-sandbox to grade without it"
        )
    print(
        f"note: grading without a sandbox ({reason}; for one: {grading_sandbox.remedy(reason)})",
        file=sys.stderr,
    )
    return False


def full_marks(result: dict) -> bool:
    return not result.get("error") and result["max_score"] > 0 and result["score"] >= result["max_score"]


def grade(
    *paths,
    course: Path | str = COURSE,
    jobs: int | None = None,
    timeout: int = limits.CELL_TIMEOUT_S,
    memory_mb: int = limits.MEMORY_MB,
    quiet: bool = False,
    sandbox: bool = True,
) -> list[dict]:
    """Grade notebooks from Python (e.g. a check cell in a notebook); print the tables; return the results.

    ``grade("02-reshaping.ipynb")`` grades the saved file (save the notebook first),
    exactly as ``mnistlib grade 02-reshaping.ipynb`` does.
    """
    course = Path(course)
    jobs_found, problems, is_class = find_jobs([Path(p) for p in paths], course_assignments(course))
    if problems:
        raise GradingError("; ".join(problems))
    sandbox = sandbox_choice(sandbox, is_class)
    results = run_jobs(
        jobs_found,
        course=course,
        jobs_n=jobs or os.cpu_count() or 1,
        timeout=timeout,
        memory_mb=memory_mb,
        max_output_kb=limits.MAX_OUTPUT_KB,
        sandbox=sandbox,
    )
    if not quiet:
        print("\n\n".join(format_table(r) for r in results))
    remember_grades(results)
    return results


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mnistlib grade",
        description=__doc__.split("\n\n")[0].replace("``", "`"),  # help is plain text, not reST
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1].replace("``", "`"),
    )
    p.add_argument("paths", nargs="+", type=Path, help="notebooks, folders of notebooks, or a class folder")
    p.add_argument(
        "--course",
        type=Path,
        default=COURSE,
        help="the nbgrader course root, e.g. an instructor's own copy (default: the course installed "
        "with mnistlib: `mnistlib course where`)",
    )
    p.add_argument(
        "--jobs", "-j", type=int, default=os.cpu_count() or 1, help="worker processes (default: all cores)"
    )
    limits.add_arguments(p)
    p.add_argument(
        "--max-output-kb",
        type=int,
        default=limits.MAX_OUTPUT_KB,
        help=f"output a cell may print, in KB (default {limits.MAX_OUTPUT_KB})",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--csv",
        type=Path,
        help=f"write a grades CSV with nbgrader export's columns (default for a class folder: {DEFAULT_CSV})",
    )
    p.add_argument("--feedback", type=Path, help="also write nbgrader's HTML feedback to this folder")
    p.add_argument(
        "--lms",
        choices=["canvas"],
        help="write the grades CSV (--csv) in this LMS's gradebook-import format instead of nbgrader's",
    )
    p.add_argument(
        "--canvas-assignment",
        action="append",
        default=[],
        metavar='ID="TITLE (NUMBER)"',
        help="with --lms canvas: the Canvas column for assignment ID, as Canvas's own gradebook export "
        'heads it, e.g. 02-reshaping="Reshaping (123456)", so the import updates that assignment; '
        "once per assignment (default: a column named by the id, which Canvas creates as new)",
    )
    p.add_argument(
        "--shard",
        metavar="I/N",
        help="grade only shard I of N of a class (for batch schedulers); see `mnistlib grade merge --help`",
    )
    p.add_argument(
        "--results",
        type=Path,
        help="with --shard: the shard's results file (default: mnistlib-shard-I-of-N.json)",
    )
    p.add_argument(
        "--check-sandbox",
        action="store_true",
        help="only check, with a tiny notebook, whether grading is sandboxed on this machine, and if "
        "not, say why and how to fix it (no paths needed); exit status 0 when it is",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run learners' code without the bubblewrap sandbox (docs/instructor.md, Sandbox)",
    )
    grading_report.add_arguments(p)
    return p


def lms_columns(args: argparse.Namespace, assignments: list[str]) -> dict[str, str]:
    """The ``--canvas-assignment`` columns, checked before any grading; notes for those without an id."""
    from . import lms as grading_lms

    if args.canvas_assignment and args.lms != "canvas":
        raise GradingError("--canvas-assignment names Canvas columns: use it with --lms canvas")
    columns = grading_lms.canvas_columns(args.canvas_assignment, assignments)
    for column in grading_lms.untargeted(columns):
        print(
            f'note: the Canvas column {column!r} has no assignment id, as in "Title (123456)": '
            "Canvas will create a new assignment of that name",
            file=sys.stderr,
        )
    return columns


def merge_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mnistlib grade merge",
        description="Combine the results files of `mnistlib grade CLASS --shard I/N` into one grades file.",
    )
    p.add_argument(
        "results", nargs="+", type=Path, help="the shards' results files (mnistlib-shard-I-of-N.json)"
    )
    p.add_argument("--csv", type=Path, help="write a grades CSV with nbgrader export's columns")
    p.add_argument(
        "--lms", choices=["canvas"], help="write the CSV for this LMS's gradebook import instead (see --csv)"
    )
    p.add_argument(
        "--canvas-assignment",
        action="append",
        default=[],
        metavar='ID="TITLE (NUMBER)"',
        help='with --lms canvas: the Canvas column for assignment ID, e.g. 02-reshaping="Reshaping (123456)" '
        "(see `mnistlib grade --help`)",
    )
    p.add_argument("--json", action="store_true", help="print the merged results as JSON")

    grading_report.add_arguments(p)
    p.add_argument(
        "--course",
        type=Path,
        default=COURSE,
        help="for --report: the course the shards were graded with, to name each exercise's section "
        "(default: the course installed with mnistlib)",
    )
    return p


def merge_main(argv: list[str]) -> int:
    """``mnistlib grade merge RESULTS...``: combine the shards' results files into one grades file."""
    from . import lms as grading_lms
    from . import shards as grading_shards

    args = merge_parser().parse_args(argv)
    try:
        results, assignments, problems = grading_shards.merge(args.results)
    except grading_shards.ShardError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(
            "error: nothing written: a grades file with missing work would give those learners 0",
            file=sys.stderr,
        )
        return 2
    try:
        known = list(dict.fromkeys([*assignments, *course_assignments(COURSE)]))
        columns = lms_columns(args, known)
    except (GradingError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    csv_path = args.csv or Path(DEFAULT_CSV)
    left_blank = []
    if args.lms:
        left_blank = grading_lms.write(args.lms, results, csv_path, assignments, columns)
        for line in left_blank:
            print(f"error: {line}", file=sys.stderr)
    else:
        write_csv(results, csv_path, assignments)
    if args.report or args.report_json:
        from . import report as grading_report

        grading_report.write(
            results, args.course, html=args.report, json_path=args.report_json, anonymous=args.anonymous
        )
    if args.json:
        print(json.dumps({"results": results, "csv": str(csv_path)}, indent=1))
    else:
        learners = len({r["student"] for r in results})
        print(
            f"merged {len(args.results)} shard(s): {len(results)} notebook(s) of {learners} learner(s); "
            f"grades written to {csv_path}"
        )
    # Merged and written; unlike `mnistlib grade`, low marks are not a failure of the merge, but a
    # notebook left blank because it could not be graded is.
    return 1 if left_blank else 0


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["merge"]:  # mnistlib grade merge RESULTS...: combine shards (mnistlib.grading.shards)
        return merge_main(argv[1:])
    if argv == ["--check-sandbox"]:  # mnistlib grade --check-sandbox: no paths (see build_parser)
        from . import sandbox_check

        return sandbox_check.main()
    args = build_parser().parse_args(argv)
    if args.check_sandbox:
        print("error: --check-sandbox takes no paths or other options", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        assignments = course_assignments(args.course)
        canvas_columns = lms_columns(args, list(assignments))
        jobs, problems, is_class = find_jobs(args.paths, assignments)
        if args.shard:
            from . import shards as grading_shards

            class_jobs = jobs
            shard_index, shard_count, jobs = grading_shards.select(
                jobs, args.shard, lambda a: grading_cost(args.course, a)
            )
            if args.csv or args.report or args.report_json:
                raise GradingError(
                    "--shard writes a results file, not grades: run `mnistlib grade merge` for --csv "
                    "and --report"
                )
            if not jobs and class_jobs:  # more shards than learners: an empty shard is a finished shard
                return grading_shards.write_shard(args, shard_index, shard_count, class_jobs, [], assignments)
        sandbox = sandbox_choice(not args.no_sandbox, is_class) if jobs else False
    except (GradingError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not jobs:
        print("error: nothing to grade", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: workers and kernels too
    try:
        results = run_jobs(
            jobs,
            course=args.course,
            jobs_n=args.jobs,
            timeout=args.timeout,
            memory_mb=args.memory_mb,
            max_output_kb=args.max_output_kb,
            feedback=args.feedback,
            sandbox=sandbox,
        )
    except KeyboardInterrupt:
        print("error: grading stopped before it finished; nothing was written", file=sys.stderr)
        return 130
    seconds = time.perf_counter() - started
    if args.shard:
        return grading_shards.write_shard(args, shard_index, shard_count, class_jobs, results, assignments)
    if not is_class:
        remember_grades(results)
    csv_path = args.csv or (Path(DEFAULT_CSV) if is_class else None)
    replaced = csv_path is not None and csv_path.exists()
    if csv_path and args.lms:
        from . import lms as grading_lms

        left_blank = grading_lms.write(
            args.lms,
            results,
            csv_path,
            [a for a in assignments if any(r["assignment"] == a for r in results)],
            canvas_columns,
        )
        for line in left_blank:
            print(f"error: {line}", file=sys.stderr)
    elif csv_path:
        write_csv(results, csv_path, [a for a in assignments if any(r["assignment"] == a for r in results)])
    if args.report or args.report_json:
        grading_report.write(
            results, args.course, html=args.report, json_path=args.report_json, anonymous=args.anonymous
        )
    score, max_score = sum(r["score"] for r in results), sum(r["max_score"] for r in results)
    if args.json:
        print(
            json.dumps(
                {
                    "results": results,
                    "score": score,
                    "max_score": max_score,
                    "seconds": round(seconds, 1),
                    "problems": problems,
                },
                indent=1,
            )
        )
    else:
        for result in results:
            print(format_table(result))
            print()
        print(
            f"TOTAL {_fmt(score)} / {_fmt(max_score)} over {len(results)} notebook(s) in {seconds:.1f} s"
            + (f"; grades written to {csv_path}" if csv_path else "")
            + (" (it replaced the file of the same name)" if replaced else "")
        )
        if args.report or args.report_json:
            print(
                f"class report written to {' and '.join(str(p) for p in (args.report, args.report_json) if p)}"
            )
    return 0 if not problems and all(full_marks(r) for r in results) else 1
