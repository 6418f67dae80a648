"""The benchmark: its arithmetic, its settings, and a --quick smoke run so it cannot rot."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mnistlib import bench

REPO = Path(__file__).resolve().parents[2]
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
    assert "math.ceil(math.floor(len(train_x) * (1 - VALIDATION_SPLIT)) / BATCH_SIZE)" in code
    assert "VALIDATION_SPLIT = 0.1" in code
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
    out, raw = tmp_path / "bench.md", tmp_path / "bench.json"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "mnistlib", "bench", "--quick", "--out", str(out), "--json", str(raw)),
            *("--notebooks", "01-loading-data"),  # the other notebooks run quick in many other tests
        ],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = out.read_text()
    for heading in ("Accuracy against the tutorial", "Training speed", "Each notebook", "Grading", "Data"):
        assert heading in text
    assert "Quick run" in text
    assert [row["notebook"] for row in json.loads(raw.read_text())["notebooks"]] == ["01-loading-data"]
    # The comparison of two speed runs reads what bench writes: a run agrees with itself.
    same = subprocess.run(
        [sys.executable, "-m", "mnistlib.bench.compare", str(raw), str(raw)], capture_output=True, text=True
    )
    assert same.returncode == 0 and "largest difference 0.0%" in same.stdout, same.stdout + same.stderr


def test_spread_gives_the_median_and_range_of_repeats():
    s = bench.spread([2.0, 1.0, 10.0, 3.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (2.5, 1.0, 10.0, 4)
    assert s["spread"] == pytest.approx(9.0 / 2.5)


def test_interleaved_alternates_the_measures_round_by_round():
    calls = []

    def task(name):
        def run():
            calls.append(name)
            return float(len(calls))

        return run

    times = bench.interleaved(
        {"keras": task("keras"), "numpy": task("numpy"), "gemm": task("gemm")}, rounds=3
    )
    assert calls == ["keras", "numpy", "gemm", "gemm", "numpy", "keras", "keras", "numpy", "gemm"]
    # each measure keeps its own repeats, in the order they were taken
    assert times == {"keras": [1.0, 6.0, 7.0], "numpy": [2.0, 5.0, 8.0], "gemm": [3.0, 4.0, 9.0]}


def test_machine_load_reports_the_share_of_stolen_cpu_time():
    before = {"user": 100, "idle": 100, "steal": 0}
    after = {"user": 160, "idle": 120, "steal": 20}
    load = bench.machine_load(before, after)
    assert load["steal"] == pytest.approx(20 / 100)
    assert "loadavg_1min" in load
    assert "steal" not in bench.machine_load(None, after)


def test_accuracy_summary_from_seeds_or_from_a_stored_summary():
    rows = [
        {"model": "network 1", "seed": s, "accuracy": a, "loss": 0.1, "train_s": t, "epochs": 20}
        for s, a, t in [(1, 0.98, 80.0), (0, 0.99, 100.0)]
    ]
    (summary,) = bench.accuracy_summary({"accuracy": rows})
    assert summary["seeds"] == [0, 1]
    assert summary["accuracy"] == pytest.approx(0.985)
    assert summary["accuracy_sd"] == pytest.approx(0.00707, abs=1e-5)
    assert (summary["train_s"], summary["epochs"]) == (90.0, 20)
    stored = [dict(summary, model="network 2")]
    assert bench.accuracy_summary({"accuracy_summary": stored}) == stored


SPEED = {
    "gemm_gflops": 150.0,
    "net1_epoch_s": 4.0,
    "net1_gflops": 75.0,
    "twin_keras_epoch_s": 1.5,
    "twin_keras_gflops": 100.0,
    "twin_numpy_epoch_s": 1.0,
    "twin_numpy_gflops": 150.0,
}


def test_render_gives_each_speed_its_range_and_says_what_varies():
    runs = {"gemm_gflops": [140.0, 150.0, 160.0], "net1_epoch_s": [3.5, 4.0, 4.8]}
    runs |= {"twin_keras_epoch_s": [1.5, 1.4, 1.6], "twin_numpy_epoch_s": [1.0, 0.9, 1.2]}
    speed = dict(SPEED, runs=runs, spread={name: bench.spread(v) for name, v in runs.items()})
    ratios = [n / k for n, k in zip(runs["twin_numpy_epoch_s"], runs["twin_keras_epoch_s"], strict=True)]
    speed["numpy_keras_ratio"] = bench.spread(ratios)["median"]
    speed["spread"]["numpy_keras_ratio"] = bench.spread(ratios)
    speed["load"] = {"loadavg_1min": 1.5, "steal": 0.02}
    text = bench.render({"quick": False, "machine": MACHINE, "speed": speed})
    assert (
        "| network 1, Keras, batch 1000 | 4.00 s/epoch (3.50-4.80, 3 runs) = 75.0 GFLOP/s (50% of GEMM) |"
        in text
    )
    assert "| float32 GEMM (NumPy, 2048²) | 150.0 GFLOP/s (140.0-160.0, 3 runs) |" in text
    assert (
        f"| NumPy time / Keras time | {speed['numpy_keras_ratio']:.2f} ({min(ratios):.2f}-{max(ratios):.2f}"
        in text
    )
    assert bench.SPEED_VARIANCE in text
    assert "load average 1.50" in text and "stolen by the hypervisor 2%" in text


def test_render_marks_a_speed_run_without_repeats_for_re_measuring():
    text = bench.render({"quick": False, "machine": MACHINE, "speed": SPEED})
    assert "| network 1, Keras, batch 1000 | 4.00 s/epoch (range not recorded)" in text
    assert "| NumPy time / Keras time | 0.67 |" in text
    assert "re-measure with `mnistlib bench --only speed`" in text
    assert bench.SPEED_VARIANCE not in text


def test_merge_replaces_the_sections_measured_and_keeps_the_others():
    earlier = {
        "quick": False,
        "machine": MACHINE,
        "accuracy_summary": [{"model": "network 1"}],
        "speed": SPEED,
        "grading": {"one learner": 40.0},
        "notes": "old notes",
    }
    new = {"quick": False, "machine": dict(MACHINE, date="2026-12-02"), "speed": {"x": 1}}
    new["dates"] = {"speed": "2026-12-02"}
    merged = bench.merge(earlier, new)
    assert merged["speed"] == {"x": 1}
    assert merged["grading"] == {"one learner": 40.0} and merged["accuracy_summary"] == [
        {"model": "network 1"}
    ]
    assert merged["dates"] == {"accuracy": "2026-11-29", "speed": "2026-12-02", "grading": "2026-11-29"}
    assert "notes" not in merged
    header = bench.render(dict(merged, speed=SPEED, accuracy_summary=[])).splitlines()[2]
    assert "between 2026-11-29 and 2026-12-02" in header and "speed on 2026-12-02" in header


def test_merge_of_some_notebooks_keeps_the_other_notebooks_rows():
    def row(notebook, mode, seconds):
        return {"notebook": notebook, "mode": mode, "seconds": seconds, "peak_mb": 100.0}

    earlier = {
        "quick": False,
        "machine": MACHINE,
        "notebooks": [
            row("01-a", "quick", 1),
            row("01-a", "full", 2),
            row("09-b", "quick", 3),
            row("09-b", "full", 4),
        ],
    }
    new = {"quick": False, "machine": MACHINE, "notebooks": [row("09-b", "quick", 5), row("09-b", "full", 6)]}
    new["dates"] = {"notebooks": "2026-12-02"}
    merged = bench.merge(earlier, new, notebooks=["09-b"])
    assert [(r["notebook"], r["mode"], r["seconds"]) for r in merged["notebooks"]] == [
        ("01-a", "quick", 1),
        ("01-a", "full", 2),
        ("09-b", "quick", 5),
        ("09-b", "full", 6),
    ]
    assert merged["dates"]["notebooks"] == "2026-12-02"
    # Without a notebook list the section is replaced as a whole (a notebook removed from the course goes).
    assert bench.merge(earlier, new)["notebooks"] == new["notebooks"]


def test_an_unknown_notebook_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as stopped:
        bench.main(["--only", "notebooks", "--notebooks", "09-going-furthr", "--out", "/dev/null"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "no solution notebook 09-going-furthr" in err and "09-going-further" in err


def test_the_committed_report_is_rendered_from_the_committed_data():
    results = json.loads(bench.REPORT_DATA.read_text())
    results["notes"] = bench.REPORT_NOTES.read_text().strip()
    assert bench.REPORT.read_text() == bench.render(results) + "\n"


@pytest.mark.slow
def test_speed_section_times_each_measure_several_times_in_alternation():
    speed = bench.bench_speed(quick=True, rounds=2)
    for name in ("gemm_gflops", "net1_epoch_s", "twin_keras_epoch_s", "twin_numpy_epoch_s"):
        assert len(speed["runs"][name]) == 2
        s = speed["spread"][name]
        assert s["min"] <= speed[name] <= s["max"]
        assert all(value > 0 for value in speed["runs"][name])
    assert speed["numpy_keras_ratio"] > 0
