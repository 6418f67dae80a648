"""Worked notebooks run once per session, shared by the tests that read what they printed.

The browser test (tests/test_browser.py) runs each worked solution top to bottom in quick mode
in JupyterLab and saves it; tests/test_course_notebooks.py checks the same run for errors and
noise on stderr. Rather than run the nine notebooks a second time with nbclient, the browser
test records each saved notebook here (:func:`remember`) and the other test reads it
(:func:`solution_run`), running the notebook itself only when the browser test did not (no
Chromium, a ``-k`` selection, or another pytest-xdist worker).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

_RUNS: dict[str, nbformat.NotebookNode] = {}


def remember(assignment: str, notebook: dict) -> None:
    """Keep the saved, executed worked notebook of ``assignment`` (quick mode) for this session."""
    _RUNS[assignment] = nbformat.reads(json.dumps(notebook), as_version=4)


def solution_run(assignment: str, path: Path, workdir: Path) -> tuple[nbformat.NotebookNode, str]:
    """The executed worked notebook and who ran it ("the browser test" or "nbclient")."""
    if assignment in _RUNS:
        return _RUNS[assignment], "the browser test"
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=dict(os.environ, MNISTLIB_QUICK="1"))
    _RUNS[assignment] = notebook
    return notebook, "nbclient"
