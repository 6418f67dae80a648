"""Shared by the export tests: build an export once, stand in for a grading container's root, run it.

A container root (``/autograder`` for Gradescope, ``/grade`` for PrairieLearn) is a temporary
folder the scripts are pointed at through their environment variable; each case gets its own, so
the cases run at the same time, as the engines' containers would, on the 2 cores here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema

from mnistlib.export import results

DOC = "docs/instructor.md"
REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
RELEASE = REPO / "course" / "release"

#: A bwrap that fails as it does in a Docker container without user namespaces.
FAKE_BWRAP = """#!/bin/sh
echo "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces." >&2
exit 1
"""


def solution(assignment: str) -> str:
    return (SOLUTIONS / f"{assignment}.ipynb").read_text()


def release(assignment: str) -> str:
    return (RELEASE / assignment / f"{assignment}.ipynb").read_text()


def with_bug(text: str, old: str, new: str) -> str:
    """The notebook ``text`` with ``old`` replaced by ``new`` in the one code cell that has it."""
    notebook = json.loads(text)
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code" and old in "".join(c["source"])]
    assert len(cells) == 1, old
    cells[0]["source"] = "".join(cells[0]["source"]).replace(old, new)
    return json.dumps(notebook, indent=1)


def hidden_only_bug_01() -> str:
    """Notebook 01's solution whose get_digit returns uint8 whatever the dtype: only a hidden test sees it."""
    return with_bug(
        solution("01-loading-data"),
        "return images[n - 1]",
        "return images[n - 1].astype(np.uint8)",
    )


def visible_bug_01() -> str:
    """Notebook 01's solution whose label_counts forgets digits that never occur: its visible check fails."""
    return with_bug(
        solution("01-loading-data"), "return np.bincount(labels, minlength=10)", "return np.bincount(labels)"
    )


def fake_bwrap_path(folder: Path) -> str:
    """A PATH whose bwrap fails like Docker's: grading must go on without the sandbox, and say so."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bwrap").write_text(FAKE_BWRAP)
    (folder / "bwrap").chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def submission(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def start(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_all(processes: dict[str, subprocess.Popen], timeout: float = 600) -> dict[str, str]:
    logs = {}
    for case, process in processes.items():
        out, _ = process.communicate(timeout=timeout)
        assert process.returncode == 0, f"{case}: the entry point must always exit 0\n{out[-3000:]}"
        logs[case] = out
    return logs


def valid(payload: dict, schema: str) -> dict:
    jsonschema.validate(payload, results.load_schema(schema))
    return payload


def link_tree(src: Path, dst: Path) -> None:
    """A copy of ``src`` made of hard links (MNIST's 55 MB once on disk, however many roots)."""
    shutil.copytree(src, dst, copy_function=os.link)
