"""python -m mnistlib.bench.compare: whether two speed runs agree, row by row."""

from __future__ import annotations

import json
import subprocess
import sys

from mnistlib import bench
from mnistlib.bench import compare


def speed_run(gemm=200.0, net1=2.1, keras=0.9, numpy=0.8) -> dict:
    """A speed section as bench_speed writes it (the GFLOP/s from the same FLOP counts)."""
    net1_flops = bench.dense_epoch_flops([784, 784, 512, 10], 54_000, 6_000)
    twin_flops = bench.dense_epoch_flops([784, 512, 10], 60_000)
    return {
        "gemm_gflops": gemm,
        "net1_epoch_s": net1,
        "twin_keras_epoch_s": keras,
        "twin_numpy_epoch_s": numpy,
        "net1_gflops": net1_flops / net1 / 1e9,
        "twin_keras_gflops": twin_flops / keras / 1e9,
        "twin_numpy_gflops": twin_flops / numpy / 1e9,
        "numpy_keras_ratio": numpy / keras,
    }


def run(tmp_path, first: dict, second: dict, *extra: str) -> subprocess.CompletedProcess:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"speed": first}))
    b.write_text(json.dumps({"speed": second}))
    return subprocess.run(
        [sys.executable, "-m", "mnistlib.bench.compare", str(a), str(b), *extra],
        capture_output=True,
        text=True,
    )


def test_two_runs_within_ten_percent_agree(tmp_path):
    done = run(tmp_path, speed_run(), speed_run(gemm=205.0, net1=2.15, keras=0.92, numpy=0.82))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every row within 10%" in done.stdout
    assert len(done.stdout.strip().splitlines()) == 2 + len(compare.ROWS)


def test_one_row_beyond_the_bound_fails_and_is_named(tmp_path):
    done = run(tmp_path, speed_run(), speed_run(numpy=0.92))  # NumPy 15% slower, the rest equal
    assert done.returncode == 1
    flagged = [line for line in done.stdout.splitlines() if "more than 10%" in line and "largest" not in line]
    assert [line.split("  ")[0] for line in flagged] == [
        "784-512-10 NumPy, s/epoch",
        "784-512-10 NumPy, share of GEMM",
        "NumPy time / Keras time",
    ]
    assert "largest difference 15.0%" in done.stdout


def test_the_bound_is_a_parameter(tmp_path):
    second = speed_run(net1=2.0)  # 5% faster
    assert run(tmp_path, speed_run(), second).returncode == 0
    assert run(tmp_path, speed_run(), second, "--within", "0.04").returncode == 1


def test_the_difference_is_relative_to_the_smaller_value():
    rows = dict(
        (label, d) for label, _, _, d in compare.differences(speed_run(gemm=100), speed_run(gemm=110))
    )
    assert abs(rows["float32 GEMM, GFLOP/s"] - 0.10) < 1e-12
    rows = dict(
        (label, d) for label, _, _, d in compare.differences(speed_run(gemm=110), speed_run(gemm=100))
    )
    assert abs(rows["float32 GEMM, GFLOP/s"] - 0.10) < 1e-12


def test_a_file_without_a_speed_run_is_a_clear_error(tmp_path):
    done = run(tmp_path, speed_run(), {})
    assert done.returncode == 2 and "b.json" in done.stderr and "lacks gemm_gflops" in done.stderr
    (tmp_path / "a.json").write_text(json.dumps({"accuracy": []}))
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib.bench.compare", str(tmp_path / "a.json"), str(tmp_path / "a.json")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "has no speed section" in done.stderr
    (tmp_path / "a.json").write_text("{not json")
    assert compare.main([str(tmp_path / "a.json"), str(tmp_path / "a.json")]) == 2
    assert compare.main([str(tmp_path / "missing.json"), str(tmp_path / "a.json")]) == 2
