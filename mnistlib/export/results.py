"""Grade one container's submission with ``mnistlib grade``'s pipeline; turn it into an engine's results.json.

:func:`grade_submission` is what runs inside a Gradescope or PrairieLearn container: it finds the
one notebook in the submission folder, makes sure it is this assignment's, and grades it exactly as
``mnistlib grade`` does (:func:`mnistlib.grading.command.run_jobs`: nbgrader's autograde, the checker
kernel, hidden tests restored from the course in the installed package). It never raises for a
bad submission: no notebook, several notebooks, another assignment's notebook or a file that is
not a notebook come back as a ``refused`` outcome with a message for the learner.

Sandbox: containers of both engines are throw-away, one per submission, without network on
PrairieLearn (and Gradescope's, whose network the instructor controls). When bubblewrap can make
its namespaces there (it needs unprivileged user namespaces, which Docker's default seccomp
profile may refuse), every kernel runs in it as on a grading machine; when it cannot, the
notebook is graded without it, the container is the boundary, and the results say so.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ..course import COURSE
from ..grading import command as grading
from ..grading import diagnose, limits
from ..grading import sandbox as grading_sandbox

NO_SANDBOX_NOTE = (
    "Graded without the bubblewrap sandbox ({reason}): this container, used for this one submission "
    "and then thrown away, is the boundary around the learner's code."
)


#: For the instructor, when kernels die in a container: its memory is the usual cause (benchmarks.md).
CONTAINER_HINT = (
    "Note for the instructor: kernels that die at start in a grading container usually mean the "
    "container has too little memory (docs/instructor.md, Grading at scale)."
)


def find_notebooks(folder: Path) -> list[Path]:
    """Every ``.ipynb`` under ``folder`` (any depth; Jupyter's checkpoints and hidden folders skipped)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*.ipynb")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def which_assignment(notebook, name: str, assignments: dict[str, set[str]]) -> str | None:
    """The assignment a readable notebook's test cells (or, without any, its file name) belong to."""
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    overlap = {a: len(tests & ids) for a, tests in assignments.items()}
    best = max(overlap, key=overlap.get, default=None)
    if best is not None and overlap[best] > 0:
        return best
    return Path(name).stem if Path(name).stem in assignments else None


def refused(assignment: str, message: str) -> dict:
    return {"status": "refused", "assignment": assignment, "message": message, "result": None, "notes": []}


def grade_submission(
    folder: Path,
    assignment: str,
    *,
    course: Path = COURSE,
    timeout: int = limits.CELL_TIMEOUT_S,
    memory_mb: int = limits.MEMORY_MB,
    max_output_kb: int = limits.MAX_OUTPUT_KB,
) -> dict:
    """Grade the notebook in ``folder`` as ``assignment``: ``{"status", "message", "result", "notes"}``.

    ``status`` is ``graded`` (``result`` is ``mnistlib grade``'s result for it) or ``refused``
    (``message`` says why, for the learner); ``notes`` are for everyone (e.g. no sandbox here).
    """
    expected = f"{assignment}.ipynb"
    notebooks = find_notebooks(folder)
    if not notebooks:
        return refused(
            assignment, f"No notebook found in your submission. Upload your {expected} (the .ipynb file)."
        )
    if len(notebooks) > 1:
        names = ", ".join(str(p.relative_to(folder)) for p in notebooks)
        return refused(
            assignment,
            f"Your submission has {len(notebooks)} notebooks ({names}); upload only {expected}, so that "
            "the grader knows which one to grade.",
        )
    path = notebooks[0]
    notebook, problem = diagnose.read_submission(path)
    if notebook is None:
        return refused(
            assignment,
            f"{problem['message']} Download it again from Jupyter (File > Download) and upload that "
            f"{expected}.",
        )
    assignments = grading.course_assignments(course)
    found = which_assignment(notebook, path.name, assignments)
    if found is not None and found != assignment:
        return refused(
            assignment,
            f"{path.name} is the notebook of assignment {found}, not of this one ({assignment}): "
            f"upload your {expected}.",
        )
    notes = []
    reason = grading_sandbox.problem()
    if reason is not None:
        notes.append(NO_SANDBOX_NOTE.format(reason=reason))
    with tempfile.TemporaryDirectory(prefix="mnistlib-submission-") as tmp:
        copy = Path(tmp) / expected  # graded under its assignment's name, wherever it was uploaded
        shutil.copyfile(path, copy)
        job = {"student": grading.LEARNER, "assignment": assignment, "path": str(copy), "timestamp": ""}
        (result,) = grading.run_jobs(
            [job],
            course=course,
            jobs_n=1,
            timeout=timeout,
            memory_mb=memory_mb,
            max_output_kb=max_output_kb,
            sandbox=reason is None,
        )
    result["path"] = str(path)
    if result.get("error"):
        return {
            "status": "refused",
            "assignment": assignment,
            "message": f"The grader could not grade {path.name}, most likely not because of your notebook: "
            f"your instructor sees the details and can grade it again. ({result['error']})"
            + (f" {CONTAINER_HINT}" if "Kernel died" in result["error"] else ""),
            "result": result,
            "notes": notes,
        }
    return {"status": "graded", "assignment": assignment, "message": "", "result": result, "notes": notes}


def crashed(assignment: str, err: BaseException) -> dict:
    return refused(
        assignment,
        "The autograder hit an internal problem and could not grade this submission "
        f"({type(err).__name__}: {err}). Your instructor sees the details; submitting again will not help "
        "until they have looked.",
    )


# ----------------------------------------------------------------------------- Gradescope


def _first_lines(message: str | None, passed: str) -> str:
    return (message or "").strip() or passed


def gradescope(outcome: dict, config: dict, seconds: float) -> dict:
    """Gradescope's results.json for an outcome of :func:`grade_submission` (or :func:`crashed`).

    Per exercise two tests: ``N.1`` the checks in the learner's notebook (always ``visible``:
    they are the checks the learner runs themselves), and ``N.2`` all its tests, hidden ones
    included, with the exercise's points, its message and ``config["hidden_visibility"]``
    (``after_published`` unless the export said otherwise). Gradescope hides the total while a
    scored test is hidden. A refused submission scores 0 with the reason in ``output``.
    """
    hidden = config.get("hidden_visibility", "after_published")
    points = float(config.get("points") or 0.0)
    notes = list(outcome.get("notes", []))
    common = {"execution_time": max(0, round(seconds)), "stdout_visibility": "hidden"}
    if outcome["status"] != "graded":
        message = "\n\n".join([outcome["message"], *notes])
        test = {"name": "Your submission", "number": "0", "score": 0.0, "max_score": points}
        test.update(output=outcome["message"], visibility="visible")
        return {"score": 0.0, "output": message, **common, "tests": [test]}
    result = outcome["result"]
    tests = []
    for number, exercise in enumerate(result["exercises"], start=1):
        passed = exercise["score"] >= exercise["max_score"]
        in_hidden = not passed and exercise.get("failed_in") == "hidden"
        visible_ok = passed or in_hidden
        tests.append(
            {
                "name": f"{exercise['name']}: the checks in your notebook",
                "number": f"{number}.1",
                "status": "passed" if visible_ok else "failed",
                "output": "These checks pass."
                if visible_ok
                else _first_lines(exercise["message"], "These checks do not pass."),
                "visibility": "visible",
            }
        )
        tests.append(
            {
                "name": f"{exercise['name']}: all tests, hidden ones included",
                "number": f"{number}.2",
                "score": exercise["score"],
                "max_score": exercise["max_score"],
                "output": "All tests pass."
                if passed
                else _first_lines(exercise["message"], "A test does not pass."),
                "visibility": hidden,
            }
        )
    notes += [f"Note: {n}" for n in result.get("notes", [])]
    output = "\n".join(notes) if notes else f"Graded {result['assignment']}.ipynb."
    return {"score": result["score"], "output": output, **common, "tests": tests}


# ----------------------------------------------------------------------------- PrairieLearn


def prairielearn(outcome: dict, config: dict, seconds: float) -> dict:
    """PrairieLearn's results.json: ``score`` in [0, 1], ``gradable``, ``message``, one test per exercise.

    A refused submission is not gradable (PrairieLearn then awards nothing and costs the learner no
    attempt) and its reason is both the message and a ``format_errors`` entry.
    """
    notes = list(outcome.get("notes", []))
    if outcome["status"] != "graded":
        return {
            "gradable": False,
            "score": 0.0,
            "message": outcome["message"],
            "format_errors": [outcome["message"]],
            "output": "\n".join(notes),
            "tests": [],
        }
    result = outcome["result"]
    tests = [
        {
            "name": e["name"],
            "description": f"the checks in your notebook and the hidden tests of {e['name']}",
            "points": e["score"],
            "max_points": e["max_score"],
            "message": "All tests pass."
            if e["score"] >= e["max_score"]
            else (e["message"] or "A test does not pass."),
        }
        for e in result["exercises"]
    ]
    notes += [f"Note: {n}" for n in result.get("notes", [])]
    score = result["score"] / result["max_score"] if result["max_score"] else 0.0
    return {
        "gradable": True,
        "score": min(1.0, max(0.0, score)),
        "message": f"{result['score']:g} of {result['max_score']:g} points ({seconds:.0f} s).",
        "output": "\n".join(notes),
        "tests": tests,
    }


def load_schema(name: str) -> dict:
    from importlib.resources import files

    return json.loads(files("mnistlib.export").joinpath("schemas", name).read_text(encoding="utf-8"))
