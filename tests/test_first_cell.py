"""The first code cell of every notebook, and the README's links to open a notebook anywhere.

Every notebook's first code cell imports mnistlib and, where the package is missing (Google
Colab, a bare Jupyter), installs it first, saying so in one line. Here: the cell is the same
guard in all nine source notebooks (and so, through the drift test, in the release and the
solutions), it installs the version the notebooks were written for, it is no nbgrader cell, and
where mnistlib is installed it does nothing more than import it, even with ``MNISTLIB_INSTALL``
pointing at a file that does not exist. The install itself is run for real, offline, from an
empty folder with a venv that lacks mnistlib, by
tests/test_wheel.py::test_first_cell_installs_the_missing_package_then_notebook_01_runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import nbformat
import pytest
from doc_commands import REPO, block

import mnistlib
from mnistlib.course import assignment_ids

IDS = assignment_ids()
GUARD_END = "    import mnistlib\n\n"  # the guard ends by importing mnistlib again, after installing it


def first_code_cell(path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    return next(cell for cell in notebook.cells if cell.cell_type == "code")


def guard(source: str) -> str:
    """The install guard at the top of a first cell (up to and including its second import)."""
    assert source.startswith("try:\n    import mnistlib\nexcept ModuleNotFoundError:"), source[:200]
    return source[: source.index(GUARD_END) + len(GUARD_END)]


@pytest.mark.parametrize("folder", ["source", "release"])
def test_every_notebook_starts_with_the_same_install_guard(folder):
    guards = set()
    for assignment in IDS:
        cell = first_code_cell(REPO / "course" / folder / assignment / f"{assignment}.ipynb")
        assert "nbgrader" not in cell.metadata or not cell.metadata.nbgrader.get("grade"), (
            f"{assignment}: the first cell must not be graded"
        )
        text = guard(cell.source)
        guards.add(text)
        rest = cell.source[len(text) :]
        assert rest.startswith("mnistlib.setup_notebook("), f"{assignment}: setup_notebook must follow"
    assert len(guards) == 1, "the nine first cells differ in their install guard"
    (text,) = guards
    assert f'"mnist-keras-course=={mnistlib.__version__}"' in text, (
        "the first cell must install the version of the package the notebooks were written for"
    )
    assert 'os.environ.get("MNISTLIB_INSTALL"' in text
    assert text.count("print(") == 1, "the cell says what it does in one line"
    assert '"--quiet", "--root-user-action=ignore"' in text  # as root (Colab), pip would warn in red


def test_the_guard_is_a_no_op_where_mnistlib_is_installed(tmp_path):
    text = guard(first_code_cell(REPO / "course" / "source" / IDS[0] / f"{IDS[0]}.ipynb").source)
    probe = text + "print('imported', mnistlib.__file__)\n"
    missing = tmp_path / "no-such.whl"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=dict(os.environ, MNISTLIB_INSTALL=str(missing)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"imported {mnistlib.__file__}\n", "the guard printed or installed something"
    assert done.stderr == ""


def test_readme_links_every_notebook_to_binder_and_colab():
    readme = (REPO / "README.md").read_text()
    repo = "mnist-keras-course/mnist-keras-course"  # the placeholder repository of the Binder badge
    rows = [line for line in readme.splitlines() if re.match(r"^\| \d\d \|", line)]
    assert [row[2:4] for row in rows] == [a[:2] for a in IDS]
    for assignment, row in zip(IDS, rows, strict=True):
        path = f"course/release/{assignment}/{assignment}.ipynb"
        assert (REPO / path).is_file()
        binder = f"[Binder](https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/{path})"
        colab = f"[Colab](https://colab.research.google.com/github/{repo}/blob/main/{path})"
        assert f"{binder} · {colab}" in row, f"row {assignment} lacks its Binder and Colab links: {row}"
    first = f"course/release/{IDS[0]}/{IDS[0]}.ipynb"
    assert (
        f"(https://colab.research.google.com/github/{repo}/blob/main/{first})" in readme.split("\n\n")[1]
    ), "the Colab badge belongs beside the Binder badge"


def test_contributing_shows_the_first_cell_as_the_notebooks_have_it():
    shown = block("CONTRIBUTING.md", "Notebook conventions", 0, languages={"python"}).text
    cell = first_code_cell(REPO / "course" / "source" / "02-reshaping" / "02-reshaping.ipynb")
    assert cell.source.startswith(shown), (
        f"CONTRIBUTING.md's first cell differs from the notebooks':\n{shown}"
    )
