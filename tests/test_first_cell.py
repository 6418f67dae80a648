"""The first code cell of every notebook, and the README's links to open a notebook anywhere.

Every notebook's first code cell imports mnistlib and, where the package is missing (Google
Colab, a bare Jupyter), installs it first from the course's repository (the URL of the README's
Binder and Colab links), saying so in one line. Here: the cell is the same guard in all nine source
notebooks (and so, through the drift test, in the release and the solutions), it is no nbgrader
cell, where mnistlib is installed it does nothing more than import it, even with
``MNISTLIB_INSTALL`` pointing at a file that does not exist, and run as on Colab in a kernel that
lacks mnistlib, with no package index to reach, it says in one plain sentence what to do instead,
with no traceback, and stops (a "Run All" goes no further). The install itself is run for real,
offline, from an empty folder with a venv that lacks mnistlib, by
tests/test_wheel.py::test_first_cell_installs_the_missing_package_then_notebook_01_runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig

import nbformat
import pytest
from doc_commands import REPO, block

import mnistlib
from mnistlib.course import assignment_ids

IDS = assignment_ids()
REPOSITORY = "mnist-keras-course/mnist-keras-course"  # the placeholder repository of the README's links
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
    assert f'"git+https://github.com/{REPOSITORY}"' in text, (
        "the first cell must install from the course's repository, the one the README links to"
    )
    assert 'os.environ.get("MNISTLIB_INSTALL"' in text
    assert text.count("print(") == 1, "the cell says what it does in one line"
    assert '"--quiet", "--root-user-action=ignore"' in text  # as root (Colab), pip would warn in red


def test_the_guard_installs_from_the_repository_the_readme_links_to():
    readme = (REPO / "README.md").read_text()
    assert f"https://mybinder.org/v2/gh/{REPOSITORY}/main" in readme
    assert f'pip install "git+https://github.com/{REPOSITORY}"' in readme


def test_run_as_on_colab_without_an_index_the_guard_says_one_sentence_and_stops(tmp_path):
    """A kernel whose Python lacks mnistlib (a venv with the system's packages but not ours) and
    reaches no package index: the first cell prints its one line, then one sentence with the way
    out, no traceback, and the next cell does not run."""
    import nbclient
    from nbclient.exceptions import CellExecutionError

    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # the kernel's dependencies (ipykernel, pip) from this Python's site-packages, but not mnistlib
    site = sysconfig.get_paths()["purelib"]
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "mnistlib.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'mnistlib'\", name='mnistlib')\n"
    )
    kernel = tmp_path / "kernels" / "colab"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "language": "python",
            }
        )
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(blocked), site]),
        JUPYTER_PATH=str(tmp_path),
        PIP_NO_INDEX="1",  # no index reachable, as on a machine offline
        PIP_FIND_LINKS=str(tmp_path / "no-wheels-here"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        # and no network: git (for the git+https URL) and pip go through a proxy nobody listens on
        https_proxy="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        no_proxy="",
        NO_PROXY="",
    )
    env.pop("MNISTLIB_INSTALL", None)
    text = first_code_cell(REPO / "course" / "release" / IDS[0] / f"{IDS[0]}.ipynb").source
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(text), nbformat.v4.new_code_cell("print('next')")]
    )
    client = nbclient.NotebookClient(
        nb, kernel_name="colab", timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    )
    old = dict(os.environ)
    os.environ.update(env)
    try:
        with pytest.raises(CellExecutionError):
            client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    outputs = nb.cells[0].outputs
    assert not [o for o in outputs if o.output_type == "error"], "a traceback in the first cell"
    said = [
        line for o in outputs if o.output_type == "stream" for line in o.text.splitlines() if line.strip()
    ]
    assert said[0].startswith("mnistlib is not installed here: installing"), said
    assert len(said) == 2, said
    sentence = said[1].removeprefix("UsageError: ")
    assert sentence.startswith("The course's package could not be installed from git+https://github.com/"), (
        said
    )
    assert sentence.endswith("(its link is in the course's README).") and sentence.count(". ") == 0, sentence
    assert "Traceback" not in "\n".join(said)
    assert nb.cells[1].outputs == [], "the cell after the failed install ran"


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


def test_readme_quotes_the_install_time_the_benchmark_measured():
    """The README's Colab-like install time is docs/benchmarks.json's ``install`` section
    (``mnistlib bench --only install``): its median, range, number of runs, size and pip's cache."""
    install = json.loads((REPO / "docs" / "benchmarks.json").read_text())["install"]
    readme = " ".join((REPO / "README.md").read_text().split())
    quoted = (
        f"a median of {install['median_s']:.0f} s ({install['min_s']:.0f} to {install['max_s']:.0f} s, "
        f"{len(install['runs'])} runs, {install['installed_gb']:.1f} GB installed"
    )
    assert quoted in readme, f"README does not quote the measured install time: {quoted}"
    assert "mnistlib bench --only install" in readme
    assert install["pip_cache"].split()[0] in readme  # says whether pip's cache was warm
    assert "306 s" not in readme, "the old figure, measured under load, is still there"
