"""Peak-memory measurement of a notebook (mnistlib.bench.memory, mnistlib/bench/notebook_memory.py) on tiny
notebooks whose memory use we know: it must see a big array in the kernel and in a child process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mnistlib.bench.memory import run_notebook_measured

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# writes what quick mode the kernel was given into its working folder
SMALL = "import os\nopen('quick.txt', 'w').write(os.environ['MNISTLIB_QUICK'])"
# 400 MB touched in the kernel for a second, freed, then 300 MB held by a child process
BIG = """\
import subprocess, sys, time
import numpy as np
block = np.ones(400 * 2**20, dtype=np.uint8)
time.sleep(1.0)
del block
child = "import numpy as np, time; b = np.ones(300 * 2**20, dtype=np.uint8); time.sleep(1.5)"
subprocess.run([sys.executable, "-c", child], check=True)
"""


def write_notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def test_peak_memory_sees_the_kernel_and_its_children_and_sets_quick_mode(tmp_path):
    small = run_notebook_measured(
        write_notebook(tmp_path / "small.ipynb", SMALL), quick=True, workdir=tmp_path
    )
    assert (tmp_path / "quick.txt").read_text() == "1"
    big = run_notebook_measured(write_notebook(tmp_path / "big.ipynb", BIG), quick=False, workdir=tmp_path)
    assert small["cells"] == 1 and small["samples"] > 0 and small["seconds"] > 0
    assert 20 < small["peak_mb"] < 300, small
    assert big["peak_mb"] > small["peak_mb"] + 350, (small, big)  # the 400 MB array, at least
    assert big["seconds"] > 2.5  # 1 s + 1.5 s of sleeping


def test_quick_mode_and_working_folder_reach_the_kernel(tmp_path):
    path = write_notebook(tmp_path / "env.ipynb", SMALL)
    for quick, expected in ((True, "1"), (False, "0")):
        workdir = tmp_path / f"run-{expected}"
        workdir.mkdir()
        run_notebook_measured(path, quick=quick, workdir=workdir)
        assert (workdir / "quick.txt").read_text() == expected
    assert nbformat.read(path, as_version=4).cells[0].outputs == [], "the notebook file must not change"


def test_benchmark_script_reports_json_and_fails_over_the_budget(tmp_path):
    big = write_notebook(tmp_path / "big.ipynb", BIG)
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "notebook_memory.py"),
            str(big),
            "--limit-mb",
            "250",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "over the 250 MB budget: big" in done.stdout
    (row,) = json.loads(out.read_text())["results"]
    assert row["notebook"] == "big" and row["mode"] == "full" and row["peak_mb"] > 350
