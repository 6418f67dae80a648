"""Output limits the grader enforces itself, outside the learner's process (issue 24, class 4).

A learner's kernel can bypass its own output cap (``type(sys.stdout).write``), send rich
displays, display updates or widget messages, which that cap never saw. The grader
(:class:`GradingExecute`) counts bytes and messages of every kind, per cell and per notebook, as
they arrive, and past a limit keeps nothing more of that cell but one note.
"""

from __future__ import annotations

import json

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mnistlib.grading.preprocessors import GradingExecute

pytestmark = pytest.mark.slow

FLOODS = {
    "bypass": "import sys\ntype(sys.stdout).write(sys.stdout, 'x' * 8_000_000)\nsys.stdout.flush()",
    "displays": (
        "from IPython.display import display\n"
        "for _ in range(30_000):\n    display({'text/plain': ''}, raw=True)"
    ),
    "big_display": "from IPython.display import display\ndisplay({'text/plain': 'y' * 32_000_000}, raw=True)",
    "updates": (
        "from IPython.display import display, update_display\n"
        "display({'text/plain': 'start'}, raw=True, display_id='d')\n"
        "for i in range(20_000):\n    update_display({'text/plain': str(i) * 100}, raw=True, display_id='d')"
    ),
    "comms": (
        "from comm import create_comm\n"
        "c = create_comm(target_name='flood')\n"
        "for i in range(20_000):\n    c.send({'i': 'z' * 1000})"
    ),
    "after": "print('a normal cell after the floods')",
}


@pytest.fixture(scope="module")
def flooded(tmp_path_factory):
    nb = new_notebook(cells=[new_code_cell(code) for code in FLOODS.values()])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = GradingExecute(timeout=300, sandbox=False, max_cell_messages=2000, max_notebook_messages=5000)
    out, _ = executor.preprocess(nb, {"metadata": {"path": str(tmp_path_factory.mktemp("flood"))}})
    return dict(zip(FLOODS, out.cells, strict=True))


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


@pytest.mark.parametrize("name", ["bypass", "displays", "big_display", "updates"])
def test_each_flood_is_cut_with_a_note(flooded, name):
    cell = flooded[name]
    size = len(json.dumps(cell.outputs))
    assert size < 4_300_000, f"{name} kept {size} bytes of output"
    assert len(cell.outputs) <= 2002, f"{name} kept {len(cell.outputs)} outputs"
    assert "passed the grader's limit" in _text(cell), cell.outputs[-1]


def test_printed_text_past_the_cell_limit_is_cut_outside_the_kernel(flooded):
    text = _text(flooded["bypass"])
    assert 200_000 < text.split("[mnistlib grader")[0].count("x") <= 256 * 1024
    assert "this cell's printed text passed the grader's limit of 256 KB" in text


def test_the_notebook_limit_holds_across_cells_and_later_cells_get_a_note(flooded):
    # displays and updates keep 2,000 messages each; the comms pass the notebook's 5,000
    assert "this notebook's output passed the grader's limit of 5000" in _text(flooded["comms"])
    assert "this notebook's output passed" in _text(flooded["after"])
    assert "a normal cell after" not in _text(flooded["after"])


def test_a_flood_ends_in_its_own_cell_and_the_notebook_runs_on(flooded):
    errors = [o for name in FLOODS for o in flooded[name].outputs if o.get("output_type") == "error"]
    assert errors == []
    assert all(flooded[name].get("execution_count") for name in FLOODS)
