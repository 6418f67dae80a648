"""Running ``mnistlib grade`` as an instructor types it, for the grading tests."""

from __future__ import annotations

import json
import subprocess
import sys


def mnistlib_grade(*args, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m mnistlib grade ARGS...`` in a new process; its output captured as text."""
    command = [sys.executable, "-m", "mnistlib", "grade", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def results_of(done: subprocess.CompletedProcess) -> list[dict]:
    """The per-notebook results a ``--json`` run printed."""
    return json.loads(done.stdout)["results"]
