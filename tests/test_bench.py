"""The benchmark: its arithmetic, its settings, and a --quick smoke run so it cannot rot."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mnistlib import bench

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("mnist_data")  # load_mnist() offline, from a verified copy


def test_dense_epoch_flops_counts_network_1_by_hand():
    # network 1: 784*784 + 784*512 + 512*10 = 1,021,952 multiply-adds per image forward.
    macs = 784 * 784 + 784 * 512 + 512 * 10
    assert (
        bench.dense_epoch_flops([784, 784, 512, 10], 54_000, 6_000)
        == 3 * 2 * macs * 54_000 + 2 * macs * 6_000
    )
    assert bench.dense_epoch_flops([784, 10], 1) == 3 * 2 * 7840


def test_gemm_rate_is_a_plausible_positive_number():
    rate = bench.gemm_gflops(n=256, seconds=0.2)
    assert 0.1 < rate < 100_000


def _cells(assignment: str) -> str:
    notebook = json.loads((REPO / "solutions" / f"{assignment}.ipynb").read_text())
    return "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")


def test_bench_trains_notebook_08_and_09_models_with_the_notebooks_settings():
    """The benchmark reports the notebooks' numbers only if it uses the notebooks' settings."""
    code = _cells("08-gradient-descent-by-hand")
    call = re.search(r"train_sgd\(\s*x_train[^)]*\)", code, flags=re.S)
    assert call, "notebook 08 no longer calls train_sgd(x_train, ...)"
    for key, value in bench.SGD_SETTINGS.items():
        assert re.search(rf"\b{key}\s*=\s*{re.escape(str(value))}\b", code), f"notebook 08: {key}={value}?"
    code = _cells("09-going-further")
    assert re.search(rf"\bEPOCHS = 2 if mnistlib.is_quick\(\) else {bench.CONVNET_EPOCHS}\b", code), (
        "09 epochs?"
    )
    assert re.search(rf"\bBATCH_SIZE = {bench.CONVNET_BATCH}\b", code), "notebook 09 batch size changed"
    assert re.search(rf"\bPEAK_LEARNING_RATE = {bench.CONVNET_PEAK_LEARNING_RATE}\b", code), (
        "09 learning rate?"
    )
    assert "CosineDecay(PEAK_LEARNING_RATE, decay_steps=EPOCHS * steps_per_epoch)" in code
    assert "math.ceil(0.9 * len(train_x) / BATCH_SIZE)" in code
    assert "optimizer=keras.optimizers.Adam(learning_rate=schedule)" in code


MACHINE = {
    "cpu": "X",
    "cores": 2,
    "memory_gb": 24,
    "python": "3.11",
    "tensorflow": "2.21",
    "keras": "3",
    "numpy": "2",
    "date": "2026-11-29",
}


def test_render_makes_the_tables():
    results = {
        "quick": False,
        "machine": MACHINE,
        "accuracy": [
            {"model": "network 1", "seed": 0, "accuracy": 0.981, "loss": 0.08, "train_s": 100},
            {"model": "network 1", "seed": 1, "accuracy": 0.983, "loss": 0.07, "train_s": 100},
        ],
        "grading": {"one learner, nine notebooks": 30.0},
    }
    text = bench.render(results)
    assert "| network 1 | 0.9820 ± 0.0014 |" in text
    assert "0.9822 / 0.0842" in text
    assert "| one learner, nine notebooks | 30.0 |" in text


def test_report_from_an_earlier_run_measures_nothing_and_adds_the_notes(tmp_path):
    results = {
        "quick": False,
        "machine": MACHINE,
        "grading": {"one learner, nine notebooks": 30.0},
    }
    raw, notes, out = tmp_path / "run.json", tmp_path / "notes.md", tmp_path / "bench.md"
    raw.write_text(json.dumps(results))
    notes.write_text("Grading took **30 s**.\n")
    assert bench.main(["--report-from", str(raw), "--notes", str(notes), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| one learner, nine notebooks | 30.0 |" in text
    assert text.rstrip().endswith("## Notes\n\nGrading took **30 s**.")


@pytest.mark.slow
def test_quick_benchmark_runs_end_to_end(tmp_path):
    out = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib", "bench", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = out.read_text()
    for heading in ("Accuracy against the tutorial", "Training speed", "Each notebook", "Grading", "Data"):
        assert heading in text
    assert "Quick run" in text
