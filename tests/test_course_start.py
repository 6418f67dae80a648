"""``mnistlib course start``: what it refuses, before it copies anything or starts a server.

Starting it for real (from an empty folder, with the installed wheel: the server's root, notebook
01 through the REST API, --port, --no-browser, a learner's file kept, nothing left running) is
tests/test_wheel.py::test_course_start_copies_the_notebooks_and_opens_notebook_01.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def start(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mnistlib", "course", "start", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, BROWSER="false"),
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("port", "said"),
    [("eighty", "'eighty' is not a port number"), ("70000", "70000 is not a port number: ports go from 1")],
)
def test_a_bad_port_is_refused_with_one_clear_line(tmp_path, port, said):
    done = start("--port", port, cwd=tmp_path)
    assert done.returncode == 2 and said in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == [], "nothing may be copied when the command is refused"


def test_a_file_where_the_folder_should_be_is_refused_and_kept(tmp_path):
    (tmp_path / "my-work").write_text("my notes")
    done = start(cwd=tmp_path)
    assert done.returncode == 2 and "my-work is a file, not a folder" in done.stderr, done.stderr
    assert (tmp_path / "my-work").read_text() == "my notes"


def test_course_help_names_start():
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib", "course", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "mnistlib course start --help" in " ".join(done.stdout.split())
