"""Which mistake a failing test cell found, carried from the checker kernel to the results.

A check that recognises a mistake raises :class:`mnistlib.checks.CheckFailed` with a stable id
(``flatten_images/not-scaled``, see :func:`mnistlib.checks.fail`). Test cells run in the grader's
checker kernel (:mod:`mnistlib.grading.bridge`), which never runs learner code; there, a
``post_run_cell`` hook (:func:`install`) publishes the id of the cell's failure as a display output
of its own MIME type. Right after the cell, the grader (:class:`~mnistlib.grading.preprocessors.GradingExecute`)
moves that output into the cell's metadata (:func:`record`), so it never shows in feedback, and a
value the learner wrote into their copy of the cell's metadata is replaced. The worker reads it back
from the autograded notebook (:func:`of_notebook`) into each exercise's ``mistake`` in the results.

A failure without a diagnosis (the learner's code raised, a hidden test's bare assert, a time limit)
is :data:`OTHER`; the class report groups those by their message.
"""

from __future__ import annotations

from .regions import is_test_cell

#: The MIME type of the checker's announcement; never rendered, removed before the notebook is saved.
MIME = "application/vnd.mnistlib.mistake+json"
#: ``cell.metadata[METADATA]["mistake"]`` holds the id in the autograded notebook.
METADATA = "mnistlib"
#: The id of a failure no check diagnosed.
OTHER = "other"


def announce(result) -> None:
    """IPython ``post_run_cell`` hook (checker kernel): publish the id of the cell's CheckFailed, if any."""
    mistake = getattr(getattr(result, "error_in_exec", None), "mistake", None)
    if isinstance(mistake, str) and mistake:
        from IPython.display import publish_display_data

        publish_display_data({MIME: {"mistake": mistake}})


def install(shell=None) -> None:
    """Register :func:`announce` in this (checker) kernel, once."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is not None and announce not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", announce)


def record(cell) -> None:
    """Move the checker's announcement out of test ``cell``'s outputs into its metadata (or clear it)."""
    found = None
    kept = []
    for output in cell.get("outputs", []):
        data = output.get("data") or {}
        if output.get("output_type") == "display_data" and MIME in data:
            value = data[MIME].get("mistake") if isinstance(data[MIME], dict) else None
            found = value if isinstance(value, str) else found
        else:
            kept.append(output)
    cell["outputs"] = kept
    meta = cell.setdefault("metadata", {})
    meta.pop(METADATA, None)  # whatever the submission's copy of the cell said
    if found:
        meta[METADATA] = {"mistake": found}


def of_notebook(executed) -> dict[str, str]:
    """``{grade_id: mistake id}`` for the test cells of an autograded notebook that recorded one."""
    found = {}
    for cell in executed.get("cells", []) if executed is not None else []:
        meta = cell.get("metadata", {})
        nbgrader = meta.get("nbgrader", {})
        if is_test_cell(cell):
            mistake = (meta.get(METADATA) or {}).get("mistake")
            if isinstance(mistake, str) and mistake:
                found[nbgrader["grade_id"]] = mistake
    return found


def identify(mistake: str | None, exercise: str) -> str:
    """The id recorded for a failed exercise: the check's, with its exercise added if a hidden test
    raised it without one, else :data:`OTHER`."""
    from ..checks import qualified_mistake

    return qualified_mistake(exercise, mistake) or OTHER
