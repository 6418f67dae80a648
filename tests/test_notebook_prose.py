"""What the notebooks say agrees with what they compute, in quick mode and with the full data (issue 26.4).

* Notebook 09 counts the steps of an epoch with the rule notebook 05 teaches and checks
  (``batches_per_epoch``: the training part rounded down, then cut into batches), for every data size.
* Notebook 01's "always guess the same digit" baseline is quoted for both modes, from the labels.
* Notebook 09's "times fewer weights" and "almost 0 at the last step" are what its cells print.

(Figures measured by ``mnistlib bench`` are tests/test_numbers_agree.py's; these are the ones computed
from the data, the architectures or Keras itself.)
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from notebook_cells import run_answer_cell

from mnistlib.checks.going_further import PARAMETERS as CONVNET_PARAMETERS
from mnistlib.checks.network import TOTAL_PARAMS as NETWORK_1_PARAMETERS
from mnistlib.data.quick import quick_subset

SOURCE = Path(__file__).resolve().parent.parent / "course" / "source"
NB01 = SOURCE / "01-loading-data" / "01-loading-data.ipynb"
NB05 = SOURCE / "05-training" / "05-training.ipynb"
NB09 = SOURCE / "09-going-further" / "09-going-further.ipynb"
#: data sizes: small ones, quick mode's 3,000 and the full 60,000 training images
SIZES = [*range(1, 2001), 3_000, 6_400, 60_000]


def cells(notebook: Path, kind: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == kind]


def prose(notebook: Path) -> str:
    """The notebook's markdown, white space collapsed (a sentence may wrap anywhere)."""
    return " ".join(" ".join(cells(notebook, "markdown")).split())


def assignment(notebook: Path, name: str) -> tuple[str, dict]:
    """The expression assigned to ``name`` in the notebook's code, and the constants its cell sets before."""
    for source in cells(notebook, "code"):
        tree = ast.parse(source)
        constants = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                target = node.targets[0].id
                if target == name:
                    return ast.unparse(node.value), constants
                if isinstance(node.value, ast.Constant):
                    constants[target] = node.value.value
    raise LookupError(f"{notebook.name} assigns no {name}")


def steps_of(expression: str, constants: dict, n: int) -> int:
    scope = {"math": math, "train_x": np.empty((n, 0)), **constants}
    return eval(expression, scope)  # the notebook's own expression, on a made-up data size


def test_notebook_09_counts_steps_per_epoch_as_notebook_05_teaches():
    expression, constants = assignment(NB09, "steps_per_epoch")
    batches_per_epoch = run_answer_cell(NB05, "batches_per_epoch", math=math)["batches_per_epoch"]
    batch, split = constants["BATCH_SIZE"], constants["VALIDATION_SPLIT"]
    wrong = [n for n in SIZES if steps_of(expression, constants, n) != batches_per_epoch(n, batch, split)]
    assert wrong == [], f"09's {expression} disagrees with 05's batches_per_epoch for {wrong[:5]} images"
    fit = next(source for source in cells(NB09, "code") if ".fit(" in source and "convnet" in source)
    assert "validation_split=VALIDATION_SPLIT" in fit, "09 trains with a split other than the one it counts"


def test_the_old_steps_formula_is_found_out():
    old = "math.ceil(0.9 * len(train_x) / BATCH_SIZE)"
    batches_per_epoch = run_answer_cell(NB05, "batches_per_epoch", math=math)["batches_per_epoch"]
    assert steps_of(old, {"BATCH_SIZE": 64}, 72) != batches_per_epoch(72, 64, 0.1)  # 64.8 rows train: 64


@pytest.mark.parametrize("mode", ["full", "quick"])
def test_notebook_01_quotes_the_guess_one_digit_baseline_of_both_modes(mode, mnist_arrays):
    arrays = quick_subset(mnist_arrays) if mode == "quick" else mnist_arrays
    (_, _), (_, y_test) = arrays
    baseline = np.bincount(y_test, minlength=10).max() / len(y_test)
    text = prose(NB01)
    if baseline == 0.1:
        assert "exactly one in ten in quick mode" in text
    else:
        assert f"about {round(100 * baseline)}% on the full test set" in text, baseline


def test_notebook_09_says_how_many_times_fewer_weights_it_prints():
    ratio = NETWORK_1_PARAMETERS / CONVNET_PARAMETERS  # what the cell prints, with :.0f
    assert f"About {ratio:.0f} times fewer weights" in prose(NB09)
    printing = next(source for source in cells(NB09, "code") if "times fewer" in source)
    assert ":.0f} times fewer" in printing


@pytest.mark.parametrize("images", [3_000, 60_000], ids=["quick", "full"])
def test_notebook_09_says_the_schedule_ends_near_not_at_zero(images):
    import keras

    expression, constants = assignment(NB09, "steps_per_epoch")
    steps = steps_of(expression, constants, images)
    epochs = 2 if images == 3_000 else 6
    schedule = keras.optimizers.schedules.CosineDecay(constants["PEAK_LEARNING_RATE"], epochs * steps)
    last = float(keras.ops.convert_to_numpy(schedule(epochs * steps - 1)))
    assert 0 < last < constants["PEAK_LEARNING_RATE"] / 1000
    text = prose(NB09)
    assert re.search(r"half a cosine wave to almost 0 at the last step", text)
    assert "cosine wave to 0 at the last step" not in text
