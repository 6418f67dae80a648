"""What a learner sees when a check fails, in a real IPython kernel (nbclient).

A failed check shows its message only, the verdict on the first line, without the library's
frames; ``%tb`` and ``MNISTLIB_TRACEBACK=full`` bring the whole traceback back; the learner's own
exception keeps the learner's frames and drops the check's; and while nbgrader executes a notebook
the traceback is IPython's usual one, which grading reads (the cell's line) and cuts to
``CheckFailed: <message>`` for feedback.
"""

from __future__ import annotations

import re

import nbclient
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mnistlib.grading.preprocessors import HideHiddenTests
from mnistlib.grading.regions import failed_line

ANSI = re.compile(r"\x1b\[[0-9;]*m")
IMPORT = "from mnistlib.checks.loading_data import check_get_digit, check_label_counts"
OFF_BY_ONE = "def get_digit(images, n):\n    return images[n]\n\ncheck_get_digit(get_digit)"
CRASHES = "def label_counts(labels):\n    return labels.no_such_attribute\n\ncheck_label_counts(label_counts)"
UNWRITTEN = "def get_digit(images, n):\n    raise NotImplementedError()\n\ncheck_get_digit(get_digit)"


def run(cells: list[str], monkeypatch, **env) -> list[list[str]]:
    """Execute the cells in a fresh kernel; each cell's error traceback as plain text lines."""
    monkeypatch.setenv("MNISTLIB_PROGRESS", "off")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("MNISTLIB_TRACEBACK", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    nbclient.NotebookClient(nb, allow_errors=True, kernel_name="python3", timeout=300).execute()
    shown = []
    for cell in nb.cells:
        lines = []
        for output in cell.outputs:
            if output.output_type == "error":
                lines += ANSI.sub("", "\n".join(output.traceback)).splitlines()
            elif output.output_type == "stream":
                lines += output.text.splitlines()
        shown.append(lines)
    return shown


def test_a_failed_check_shows_the_verdict_then_the_message_and_no_library_frame(monkeypatch):
    _, off_by_one, unwritten = run([IMPORT, OFF_BY_ONE, UNWRITTEN], monkeypatch)
    assert off_by_one[0] == "\u2718 `get_digit` does not pass its check yet:"
    assert off_by_one[1].strip().startswith("expected: get_digit(images, 1) = images[0]")
    assert off_by_one[2].strip().startswith("got:      images[1]")
    assert off_by_one[3].strip().startswith("hint:")
    assert len(off_by_one) == 4
    text = "\n".join(off_by_one)
    assert "Traceback" not in text and "mnistlib/checks" not in text and "File " not in text
    assert unwritten[0].startswith(
        "\u2718 get_digit is not written yet: replace `raise NotImplementedError()`"
    )
    assert "Traceback" not in "\n".join(unwritten)


def test_percent_tb_shows_the_whole_traceback_with_the_library_frames(monkeypatch):
    _, short, full = run([IMPORT, OFF_BY_ONE, "%tb"], monkeypatch)
    assert "Traceback" not in "\n".join(short)
    text = "\n".join(full)
    assert "Traceback (most recent call last)" in text
    assert "mnistlib/checks/loading_data.py" in text and "CheckFailed" in text


def test_instructors_see_the_whole_traceback_with_mnistlib_traceback_full(monkeypatch):
    _, shown = run([IMPORT, OFF_BY_ONE], monkeypatch, MNISTLIB_TRACEBACK="full")
    text = "\n".join(shown)
    assert "Traceback (most recent call last)" in text and "mnistlib/checks/loading_data.py" in text


def test_the_learners_own_exception_shows_only_the_learners_frames(monkeypatch):
    _, crashed = run([IMPORT, CRASHES], monkeypatch)
    text = "\n".join(crashed)
    assert "AttributeError" in text and "no_such_attribute" in text
    assert "return labels.no_such_attribute" in text  # the learner's line, in the learner's function
    assert "mnistlib/" not in text  # none of the check's frames


def test_under_nbgrader_the_traceback_is_kept_for_grading_and_feedback_shows_the_message(monkeypatch):
    _, shown = run([IMPORT, OFF_BY_ONE], monkeypatch, NBGRADER_EXECUTION="autograde")
    text = "\n".join(shown)
    assert "Traceback (most recent call last)" in text and "CheckFailed" in text
    # grading finds the cell's line the check stopped on (regions.py: hidden or visible part)
    assert failed_line([{"output_type": "error", "traceback": shown}]) == 4
    # and the feedback's test cell reads "CheckFailed: <message>", as before
    cell = new_code_cell(
        "check_get_digit(get_digit)",
        metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1, "solution": False}},
        outputs=[
            {"output_type": "error", "ename": "CheckFailed", "evalue": "\n  expected: x", "traceback": shown}
        ],
    )
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.outputs[0]["traceback"] == ["CheckFailed: \n  expected: x"]


@pytest.mark.parametrize("cell", [OFF_BY_ONE, CRASHES])
def test_the_check_still_fails_the_cell(monkeypatch, cell):
    """Whatever it looks like, the error still stops the cell (and with it nbgrader's test cell)."""
    _, shown, after = run(
        [IMPORT, cell + "\nprint('after', 'the check')", "print('next', 'cell')"], monkeypatch
    )
    assert "after the check" not in "\n".join(shown)
    assert after == ["next cell"]
