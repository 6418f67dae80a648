"""``mnistlib bench``: measure the course against the tutorial's numbers and the machine.

    mnistlib bench                 # the full run (about 45 minutes on 2 cores), writes docs/benchmarks.md
    mnistlib bench --quick         # a smoke run on the quick-mode subset (about 2 minutes)
    mnistlib bench --only accuracy speed --seeds 3 --out docs/benchmarks.md

Sections (``--only`` picks some):

* ``accuracy`` -- network 1 and 2 (Keras, the tutorial's settings), the
  hand-written NumPy network of notebook 08 and the convnet of notebook 09,
  each over several seeds, next to the tutorial's published numbers;
* ``speed`` -- float32 GEMM throughput of this machine, seconds per epoch of
  network 1 and the fraction of the GEMM rate it reaches, and the NumPy network
  against the same architecture in Keras at the same batch size;
* ``notebooks`` -- wall time and peak memory of each solution notebook;
* ``grading`` -- seconds to grade one learner's nine notebooks and a class of 30;
* ``data`` -- cold fetch time by source and warm load time.

The networks are not redefined here: their code is read from the worked
solutions (``solutions/<id>.ipynb``), so the benchmark measures what learners see.
"""

from __future__ import annotations

import argparse
import ast
import datetime as _dt
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
SECTIONS = ("accuracy", "speed", "notebooks", "grading", "data")
TUTORIAL = {"network 1": (0.9822, 0.0842), "network 2": (0.983, 0.068)}
TARGETS = {
    "network 1": 0.98,
    "network 2": 0.98,
    "NumPy SGD (notebook 08)": 0.97,
    "convnet (notebook 09)": 0.99,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------- machine


def machine_info() -> dict:
    """CPU model, cores, memory and library versions of this machine."""
    import psutil

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from .notebook import load_tensorflow_quietly

    keras = load_tensorflow_quietly()
    import tensorflow as tf

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "date": _dt.date.today().isoformat(),
    }


def gemm_gflops(n: int = 2048, seconds: float = 3.0) -> float:
    """Sustained float32 matrix-multiply rate of NumPy's BLAS, in GFLOP/s (2 n^3 per product)."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b  # warm up threads and caches
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - started) / 1e9


def dense_epoch_flops(widths: list[int], n_train: int, n_val: int = 0) -> float:
    """Floating-point operations of one epoch of a dense network.

    ``widths`` = [784, 784, 512, 10] for network 1. Training costs about three
    times the forward pass (forward, gradient w.r.t. inputs, w.r.t. weights),
    2 FLOPs per multiply-add; validation is one forward pass.
    """
    forward = 2 * sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=False))
    return 3 * forward * n_train + forward * n_val


# ------------------------------------------------------------- solution code


def solution_namespace(assignment: str) -> dict:
    """The functions a worked solution defines (answer cells and given helpers), ready to call."""
    notebook = json.loads((SOLUTIONS / f"{assignment}.ipynb").read_text())
    from .notebook import load_tensorflow_quietly

    keras = load_tensorflow_quietly()
    namespace: dict = {"np": np, "numpy": np, "keras": keras}
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics; they define nothing we need
            continue
        # Only definitions and imports: the answer cells and given helpers, never the training cells.
        keep = [node for node in tree.body if isinstance(node, _DEFINITIONS)]
        if keep:
            module = ast.Module(body=keep, type_ignores=[])
            exec(compile(module, f"{assignment}:{cell.get('id', '?')}", "exec"), namespace)
    return namespace


_DEFINITIONS = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _prepared(quick: bool):
    from . import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist(quick=quick)
    flat = lambda images: images.reshape(len(images), -1).astype("float32") / 255  # noqa: E731
    eye = np.eye(10, dtype="float32")
    return flat(x_train), eye[y_train], flat(x_test), eye[y_test], x_train, x_test


# ----------------------------------------------------------------- accuracy


def bench_accuracy(seeds: list[int], quick: bool) -> list[dict]:
    """Test accuracy and loss per model and seed."""
    from .notebook import load_tensorflow_quietly

    keras = load_tensorflow_quietly()
    x, y, xt, yt, raw_train, raw_test = _prepared(quick)
    epochs = 2 if quick else 20
    rows = []
    builders = [
        ("network 1", solution_namespace("04-building-the-network")["build_network"]),
        ("network 2", solution_namespace("07-dropout")["build_dropout_network"]),
    ]
    for name, build in builders:
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            model = build()
            model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
            started = time.perf_counter()
            model.fit(x, y, epochs=epochs, batch_size=1000, validation_split=0.1, verbose=0)
            seconds = time.perf_counter() - started
            loss, acc = model.evaluate(xt, yt, verbose=0)
            rows.append({"model": name, "seed": seed, "accuracy": acc, "loss": loss, "train_s": seconds})
            log(f"{name} seed {seed}: accuracy {acc:.4f} loss {loss:.4f} ({seconds:.0f} s)")
    sgd = solution_namespace("08-gradient-descent-by-hand")
    settings = SGD_SETTINGS_QUICK if quick else SGD_SETTINGS
    for seed in seeds:
        started = time.perf_counter()
        params, _ = sgd["train_sgd"](x, y, seed=seed, **settings)
        seconds = time.perf_counter() - started
        probs, _ = sgd["forward"](params, xt)
        acc = float(np.mean(probs.argmax(1) == yt.argmax(1)))
        loss = float(sgd["cross_entropy"](probs, yt))
        rows.append(
            {
                "model": "NumPy SGD (notebook 08)",
                "seed": seed,
                "accuracy": acc,
                "loss": loss,
                "train_s": seconds,
            }
        )
        log(f"NumPy SGD seed {seed}: accuracy {acc:.4f} loss {loss:.4f} ({seconds:.0f} s)")
    conv = solution_namespace("09-going-further")
    xc = conv["add_channel_axis"](raw_train)
    xtc = conv["add_channel_axis"](raw_test)
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        model = conv["build_convnet"]()
        epochs = 2 if quick else CONVNET_EPOCHS
        model.compile(
            optimizer=convnet_optimizer(keras, epochs, len(xc)),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        started = time.perf_counter()
        model.fit(
            xc,
            y,
            epochs=epochs,
            batch_size=CONVNET_BATCH,
            validation_split=0.1,
            verbose=0,
        )
        seconds = time.perf_counter() - started
        loss, acc = model.evaluate(xtc, yt, verbose=0)
        rows.append(
            {
                "model": "convnet (notebook 09)",
                "seed": seed,
                "accuracy": acc,
                "loss": loss,
                "train_s": seconds,
            }
        )
        log(f"convnet seed {seed}: accuracy {acc:.4f} loss {loss:.4f} ({seconds:.0f} s)")
    return rows


# The settings notebooks 08 and 09 use (kept equal to the notebooks by tests/test_bench.py).
SGD_SETTINGS = {"hidden": 128, "epochs": 10, "batch_size": 64, "learning_rate": 0.1}
SGD_SETTINGS_QUICK = {"hidden": 64, "epochs": 1, "batch_size": 64, "learning_rate": 0.1}
CONVNET_EPOCHS = 6
CONVNET_BATCH = 64
CONVNET_PEAK_LEARNING_RATE = 0.002


def convnet_optimizer(keras, epochs: int, n_train: int):
    """Notebook 09's optimizer: Adam, learning rate cosine-decayed from the peak to 0 over the run."""
    steps_per_epoch = math.ceil(0.9 * n_train / CONVNET_BATCH)  # validation_split=0.1
    schedule = keras.optimizers.schedules.CosineDecay(
        CONVNET_PEAK_LEARNING_RATE, decay_steps=epochs * steps_per_epoch
    )
    return keras.optimizers.Adam(learning_rate=schedule)


# -------------------------------------------------------------------- speed


class _EpochTimer:
    def __init__(self):
        self.times: list[float] = []

    def on_epoch_begin(self, *_):
        self._t = time.perf_counter()

    def on_epoch_end(self, *_):
        self.times.append(time.perf_counter() - self._t)


def bench_speed(quick: bool) -> dict:
    """GEMM rate, Keras seconds per epoch and FLOP fraction; NumPy vs Keras on the same network."""
    from .notebook import load_tensorflow_quietly

    keras = load_tensorflow_quietly()
    x, y, *_ = _prepared(quick)
    gemm = gemm_gflops(seconds=1.0 if quick else 5.0)
    log(f"GEMM float32: {gemm:.1f} GFLOP/s")
    epochs = 2 if quick else 4

    def keras_epoch_seconds(model, optimizer, validation_split):
        timer = _EpochTimer()
        callback = keras.callbacks.LambdaCallback(
            on_epoch_begin=timer.on_epoch_begin, on_epoch_end=timer.on_epoch_end
        )
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        model.fit(
            x,
            y,
            epochs=epochs,
            batch_size=1000,
            validation_split=validation_split,
            verbose=0,
            callbacks=[callback],
        )
        return statistics.median(timer.times[1:] or timer.times)  # the first epoch includes tracing

    keras.utils.set_random_seed(0)
    net1 = solution_namespace("04-building-the-network")["build_network"]()
    n_train = int(len(x) * 0.9)
    net1_s = keras_epoch_seconds(net1, "rmsprop", 0.1)
    net1_flops = dense_epoch_flops([784, 784, 512, 10], n_train, len(x) - n_train)
    result = {
        "gemm_gflops": gemm,
        "net1_epoch_s": net1_s,
        "net1_gflops": net1_flops / net1_s / 1e9,
    }
    log(f"network 1: {net1_s:.2f} s/epoch, {result['net1_gflops']:.1f} GFLOP/s")

    # The hand-written network against the same architecture in Keras: 784-512-10, plain SGD, batch 1000.
    hidden, batch = 512, 1000
    keras.utils.set_random_seed(0)
    twin = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    twin_s = keras_epoch_seconds(twin, keras.optimizers.SGD(0.1), 0.0)
    sgd = solution_namespace("08-gradient-descent-by-hand")
    sgd["train_sgd"](x[:2000], y[:2000], hidden=hidden, epochs=1, batch_size=batch, learning_rate=0.1, seed=0)
    times = []
    for seed in range(2 if quick else 3):
        started = time.perf_counter()
        sgd["train_sgd"](x, y, hidden=hidden, epochs=1, batch_size=batch, learning_rate=0.1, seed=seed)
        times.append(time.perf_counter() - started)
    numpy_s = statistics.median(times)
    flops = dense_epoch_flops([784, hidden, 10], len(x))
    result.update(
        {
            "twin_keras_epoch_s": twin_s,
            "twin_numpy_epoch_s": numpy_s,
            "twin_keras_gflops": flops / twin_s / 1e9,
            "twin_numpy_gflops": flops / numpy_s / 1e9,
        }
    )
    log(f"784-{hidden}-10 at batch {batch}: Keras {twin_s:.2f} s/epoch, NumPy {numpy_s:.2f} s/epoch")
    return result


# ---------------------------------------------------------------- notebooks


def bench_notebooks(quick_only: bool) -> list[dict]:
    """Wall time and peak memory of every solution notebook, quick mode and (unless quick_only) full."""
    from .memory import run_notebook_measured

    rows = []
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        for quick in (True,) if quick_only else (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                measured = run_notebook_measured(path, quick=quick, workdir=Path(tmp))
            rows.append({"notebook": path.stem, "mode": "quick" if quick else "full", **measured})
            log(f"{path.stem} {'quick' if quick else 'full'}: {measured}")
    return rows


# ------------------------------------------------------------------ grading


def bench_grading(quick: bool) -> dict:
    """Seconds to grade one learner's nine notebooks, and a class of 30 with 1 and 2 jobs."""
    import shutil
    import subprocess

    def timed(args: list[str]) -> float:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "mnistlib", "grade", *args], capture_output=True, text=True
        )
        if done.returncode not in (0, 1) or "Traceback" in done.stderr:
            raise RuntimeError(f"mnistlib grade {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return time.perf_counter() - started

    result = {}
    learner = sorted(str(p) for p in SOLUTIONS.glob("*.ipynb"))
    if quick:
        learner = learner[:2]
    result[f"one learner, {len(learner)} solution notebooks, --jobs 2"] = timed([*learner, "--jobs", "2"])
    size, assignment = (4 if quick else 30), "02-reshaping"
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(size):
            target = Path(tmp) / "submitted" / f"student{i:02d}" / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True)
            shutil.copy2(SOLUTIONS / f"{assignment}.ipynb", target)
        for jobs in (1, 2):
            key = f"class of {size} ({assignment}), --jobs {jobs}"
            result[key] = timed(
                [str(Path(tmp) / "submitted"), "--jobs", str(jobs), "--csv", str(Path(tmp) / "g.csv")]
            )
            log(f"grading {key}: {result[key]:.1f} s")
    return result


# --------------------------------------------------------------------- data


def bench_data() -> dict:
    """Cold fetch time per source into an empty cache, and warm load time."""
    from . import data

    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for source in data.default_sources():
            directory = Path(tmp) / type(source).__name__
            started = time.perf_counter()
            try:
                data.fetch(sources=[source], directory=directory, force=True)
                status = "ok"
            except data.MNISTDataError as err:
                status = "failed: " + str(err).splitlines()[2].strip(" *")[:120]
            result[source.label] = {"seconds": time.perf_counter() - started, "status": status}
            log(f"cold fetch {source.label}: {result[source.label]}")
    data.load_full()
    times = []
    for _ in range(5):
        started = time.perf_counter()
        data.load_full()
        times.append(time.perf_counter() - started)
    result["warm load_mnist()"] = {"seconds": statistics.median(times), "status": "median of 5"}
    return result


# ------------------------------------------------------------------- report


def _mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def render(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `mnistlib bench{' --quick' if results['quick'] else ''}` on {m['date']}. "
        "Regenerate on your own machine with the same command.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, NumPy {m['numpy']}.",
        "",
    ]
    if results["quick"]:
        lines += [
            "**Quick run**: quick-mode data (3,000 / 1,000 images) and few epochs; not comparable to the tutorial.",
            "",
        ]
    if "accuracy" in results:
        rows = results["accuracy"]
        lines += [
            "## Accuracy against the tutorial",
            "",
            f"Full test set, seeds {sorted({r['seed'] for r in rows})}; mean ± standard deviation over seeds.",
            "",
            "| model | test accuracy | test loss | tutorial (acc / loss) | target | training time (s) |",
            "|---|---|---|---|---|---|",
        ]
        for model in dict.fromkeys(r["model"] for r in rows):
            mine = [r for r in rows if r["model"] == model]
            tut = TUTORIAL.get(model)
            lines.append(
                f"| {model} | {_mean_sd([r['accuracy'] for r in mine])} | {_mean_sd([r['loss'] for r in mine])} "
                f"| {f'{tut[0]} / {tut[1]}' if tut else '-'} | ≥ {TARGETS[model]} "
                f"| {statistics.mean(r['train_s'] for r in mine):.0f} |"
            )
        lines.append("")
    if "speed" in results:
        s = results["speed"]
        lines += [
            "## Training speed against the machine",
            "",
            "| measure | value |",
            "|---|---|",
            f"| float32 GEMM (NumPy, 2048²) | {s['gemm_gflops']:.1f} GFLOP/s |",
            f"| network 1, Keras, batch 1000 | {s['net1_epoch_s']:.2f} s/epoch = {s['net1_gflops']:.1f} GFLOP/s "
            f"({s['net1_gflops'] / s['gemm_gflops']:.0%} of GEMM) |",
            f"| 784-512-10, Keras SGD, batch 1000 | {s['twin_keras_epoch_s']:.2f} s/epoch = "
            f"{s['twin_keras_gflops']:.1f} GFLOP/s ({s['twin_keras_gflops'] / s['gemm_gflops']:.0%} of GEMM) |",
            f"| 784-512-10, NumPy (notebook 08), batch 1000 | {s['twin_numpy_epoch_s']:.2f} s/epoch = "
            f"{s['twin_numpy_gflops']:.1f} GFLOP/s ({s['twin_numpy_gflops'] / s['gemm_gflops']:.0%} of GEMM) |",
            f"| NumPy time / Keras time | {s['twin_numpy_epoch_s'] / s['twin_keras_epoch_s']:.2f} |",
            "",
            "FLOPs of an epoch: 2 per multiply-add, training = 3 × forward, validation = 1 × forward.",
            "",
        ]
    if "notebooks" in results:
        lines += [
            "## Each notebook (solution, top to bottom)",
            "",
            "| notebook | mode | wall time (s) | peak memory (MB) |",
            "|---|---|---|---|",
        ]
        for r in results["notebooks"]:
            lines.append(f"| {r['notebook']} | {r['mode']} | {r['seconds']:.1f} | {r['peak_mb']:.0f} |")
        lines.append("")
        lines.append("Peak memory is the kernel process and its children (RSS), sampled every 0.1 s.")
        lines.append("")
    if "grading" in results:
        g = results["grading"]
        lines += ["## Grading", "", "| what | seconds |", "|---|---|"]
        for key, value in g.items():
            lines.append(f"| {key} | {value:.1f} |")
        lines.append("")
    if "data" in results:
        lines += ["## Data", "", "| source | seconds | status |", "|---|---|---|"]
        for key, value in results["data"].items():
            lines.append(f"| {key} | {value['seconds']:.2f} | {value['status']} |")
        lines.append("")
    if results.get("notes"):
        lines += ["## Notes", "", results["notes"], ""]
    return "\n".join(lines)


def measure(sections, quick: bool, seeds: int | None) -> dict:
    """Run the benchmark ``sections``; the results ``render`` turns into the report."""
    results: dict = {"quick": quick, "machine": machine_info()}
    if "data" in sections:
        results["data"] = bench_data()
    if "speed" in sections:
        results["speed"] = bench_speed(quick)
    if "accuracy" in sections:
        results["accuracy"] = bench_accuracy(list(range(seeds or (1 if quick else 3))), quick)
    if "notebooks" in sections:
        results["notebooks"] = bench_notebooks(quick_only=quick)
    if "grading" in sections:
        results["grading"] = bench_grading(quick)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mnistlib bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on quick-mode data")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per model (default 3; 1 with --quick)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--out", type=Path, default=None, help="markdown report (default docs/benchmarks.md)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results as JSON")
    parser.add_argument(
        "--notes", type=Path, default=None, help="a markdown file appended as the notes section"
    )
    parser.add_argument(
        "--report-from",
        type=Path,
        default=None,
        metavar="JSON",
        help="measure nothing: rewrite the report from an earlier run's --json file (e.g. with new --notes)",
    )
    args = parser.parse_args(argv)
    if args.report_from:
        results = json.loads(args.report_from.read_text())
    else:
        results = measure(args.only or SECTIONS, args.quick, args.seeds)
    if args.notes:
        results["notes"] = args.notes.read_text().strip()
    default = REPO / "docs" / "benchmarks.md"
    out = args.out or (
        Path(tempfile.gettempdir()) / "benchmarks-quick.md" if results.get("quick") else default
    )
    report = render(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
    if not args.report_from:
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str))
        print(report)
    print(f"\nwritten to {out}", file=sys.stderr)
    return 0
