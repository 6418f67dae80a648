"""A correctly named notebook that is broken: ``mnistlib grade`` names the real cause first.

Each kind of broken file (empty, not text, not JSON, JSON that is no notebook, a notebook format
this grader cannot read, a notebook that breaks the format's rules) gets one sentence from
:func:`mnistlib.grading.diagnose.read_submission` that starts with the file's name and its cause,
and says the file scores zero. ``mnistlib grade`` shows that sentence on the line after the
notebook's name, before the table, and the exercises' rows say that nothing ran instead of
blaming a name that is "not defined" (the empty notebook the file is graded as defines none).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mnistlib.grading import command, diagnose

NOTEBOOK = "01-loading-data.ipynb"  # a correctly named file: the grader knows which assignment it is

#: kind -> (the file's bytes, how its sentence starts after "<name> ")
BROKEN = {
    "empty": (b"", "is empty (no cells, no text at all), so it scores zero: save the notebook"),
    "blank lines": (b"\n \n", "is empty (no cells, no text at all)"),
    "not text": (b"\x89PNG\r\n\x1a\n\x00\x00", "is not a notebook: it is not text (byte 1 is not UTF-8)"),
    "not JSON": (
        b"my notes\n",
        "is not a notebook: its text is not valid JSON (line 1, column 1: Expecting value)",
    ),
    "cut short": (b'{"cells": [', "is not a notebook: its text is not valid JSON (line 1, column 12"),
    "a JSON list": (
        b"[1, 2, 3]",
        'is not a notebook: its JSON is a list, where a notebook is an object with "cells"',
    ),
    "a JSON string": (b'"hello"', "is not a notebook: its JSON is a string, where a notebook is an object"),
    "null": (b"null", "is not a notebook: its JSON is null, where a notebook is an object"),
    "no nbformat": (b'{"cells": [], "metadata": {}}', 'is not a notebook: its JSON has no "nbformat" field'),
    "nbformat as text": (
        b'{"nbformat": "4", "nbformat_minor": 5, "metadata": {}, "cells": []}',
        'is not a notebook: its "nbformat" field is "4", where a notebook has a whole number from 1 to 4',
    ),
    "nbformat 0": (
        b'{"nbformat": 0, "metadata": {}, "cells": []}',
        'is not a notebook: its "nbformat" field is 0, where',
    ),
    "nbformat too new": (
        b'{"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}',
        "is in notebook format 5, newer than the format 4 this grader reads, so it scores zero: save it",
    ),
    "a cell without its keys": (
        b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}',
        "is JSON but not a valid Jupyter notebook (",
    ),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_each_broken_file_gets_one_sentence_naming_its_cause_first(kind, tmp_path):
    content, starts = BROKEN[kind]
    path = tmp_path / NOTEBOOK
    path.write_bytes(content)
    notebook, problem = diagnose.read_submission(path)
    assert notebook is None
    message = problem["message"]
    assert message.startswith(f"{NOTEBOOK} {starts}"), message
    assert "scores zero" in message and message.endswith("."), message
    assert message.count(". ") == 0, f"more than one sentence: {message}"
    assert "object has no attribute" not in message and "Unsupported nbformat" not in message, message


@pytest.mark.parametrize(
    "notebook",
    [
        {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]},
        {"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": []},
    ],
    ids=["nbformat 3", "nbformat 4.2"],
)
def test_an_older_notebook_format_is_read_not_refused(notebook, tmp_path):
    """nbformat converts formats 1 to 3 and older 4.x: such a notebook is graded, not given zero."""
    path = tmp_path / NOTEBOOK
    path.write_text(json.dumps(notebook))
    read, problem = diagnose.read_submission(path)
    assert problem is None and read.nbformat == 4


def test_a_byte_order_mark_or_a_stray_byte_in_a_string_is_no_reason_for_zero(tmp_path):
    cell = {
        "cell_type": "code",
        "metadata": {},
        "source": "x = 'caf\xe9'",
        "outputs": [],
        "execution_count": None,
    }
    text = json.dumps(
        {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [cell]}, ensure_ascii=False
    )
    path = tmp_path / NOTEBOOK
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("latin-1"))
    read, problem = diagnose.read_submission(path)
    assert problem is None and read.cells[0].source.startswith("x = 'caf")


def test_the_table_shows_the_cause_before_the_exercises():
    """What an unreadable file's result looks like once graded (as the worker returns it)."""
    reason = f"{NOTEBOOK} is not a notebook: its text is not valid JSON (line 1, column 1: Expecting value)."
    result = {
        "student": command.LEARNER,
        "assignment": "01-loading-data",
        "path": f"/x/{NOTEBOOK}",
        "score": 0.0,
        "max_score": 3.0,
        "unreadable": reason,
        "notes": [reason],
        "exercises": [
            {"name": "get_digit", "score": 0.0, "max_score": 2.0, "message": "`get_digit` is not defined"},
            {
                "name": "label_counts",
                "score": 0.0,
                "max_score": 1.0,
                "message": "`label_counts` is not defined",
            },
        ],
    }
    lines = command.format_table(command.not_run_when_unreadable(result)).splitlines()
    assert lines[1] == f"  NOT GRADED: {reason}", lines
    assert not any("not defined" in line for line in lines), lines
    assert [line.split()[0] for line in lines if command.NOT_RUN in line] == ["get_digit", "label_counts"]
    assert sum(reason in line for line in lines) == 1, "the cause is said twice"
    readable = dict(result, unreadable=None, notes=[])
    assert command.not_run_when_unreadable(readable) is readable


@pytest.mark.slow
def test_grade_on_broken_but_correctly_named_notebooks_says_the_cause_first(tmp_path):
    """The real command, three broken files named after three assignments."""
    files = {
        "01-loading-data": (b"{ not json", "is not a notebook: its text is not valid JSON"),
        "02-reshaping": (b"", "is empty (no cells, no text at all)"),
        "03-one-hot-labels": (b'{"nbformat": 5, "metadata": {}, "cells": []}', "is in notebook format 5"),
    }
    paths = []
    for assignment, (content, _) in files.items():
        path = tmp_path / f"{assignment}.ipynb"
        path.write_bytes(content)
        paths.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib", "grade", "--no-sandbox", "--jobs", "2", *paths],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1, done  # graded, and not full marks
    blocks = {
        block.splitlines()[0].split()[0]: block.splitlines() for block in done.stdout.split("\n\n")[:-1]
    }
    for assignment, (_, cause) in files.items():
        lines = blocks[f"{assignment}.ipynb"]
        assert lines[1].startswith(f"  NOT GRADED: {assignment}.ipynb {cause}"), lines
        assert not any("is not defined" in line for line in lines), lines
    assert "TOTAL 0 / " in done.stdout
