"""``mnistlib bench``: measure the course against the tutorial's numbers and the machine.

    mnistlib bench                 # the full run, writes docs/benchmarks.json and docs/benchmarks.md
    mnistlib bench --quick         # a smoke run on the quick-mode subset
    mnistlib bench --only speed    # re-measure one section, keep the others (docs/benchmarks.json)
    mnistlib bench --only notebooks --notebooks 09-going-further   # re-measure one notebook's rows
    mnistlib bench --report-from docs/benchmarks.json   # re-render the report, e.g. after editing the notes

Sections (``--only`` picks some):

* ``accuracy`` -- network 1 and 2 (Keras, the tutorial's settings), the
  hand-written NumPy network of notebook 08 and the convnet of notebook 09,
  each over several seeds, next to the tutorial's published numbers;
* ``speed`` -- float32 GEMM throughput of this machine, seconds per epoch of
  network 1 and the fraction of the GEMM rate it reaches, and the NumPy network
  against the same architecture in Keras at the same batch size; each the median
  of several warmed repeats, measured in alternation, with their range;
* ``notebooks`` -- wall time and peak memory of each solution notebook;
* ``grading`` -- seconds to grade one learner's nine notebooks and a class of 30;
* ``data`` -- cold fetch time by source and warm load time;
* ``scale`` -- a class in one run vs 3 shards, and each notebook graded as in a Gradescope /
  PrairieLearn container (:mod:`mnistlib.bench.scale`; ``--quick`` runs it only when ``--only``
  names it).
* ``gradescope`` -- each notebook graded as Gradescope grades it in its default container: 768 MB,
  1.0 and 0.5 CPU, no bubblewrap; score, peak memory of the container and of each process, and wall
  time against Gradescope's timeout (:mod:`mnistlib.bench.gradescope`; like ``scale``).
* ``threads`` -- today's thread settings against the CPU budget (:mod:`mnistlib.cpu`) on an idle,
  a busy and a CPU-quota-limited machine (:mod:`mnistlib.bench.threads`; like ``scale``, only
  when ``--only`` names it with ``--quick``).

The report (docs/benchmarks.md) is rendered from its data (docs/benchmarks.json) and
hand-written conclusions (docs/benchmarks-notes.md); the notebooks quote their figures
from it (mnistlib/figures.py, filled in by `mnistlib course build`). The networks are not redefined here: their code is read from the worked
solutions (``solutions/<id>.ipynb``), so the benchmark measures what learners see.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..course import checkout
from .machine import cpu_ticks, machine_info, machine_load  # noqa: F401 - part of the bench API

#: bench measures a checkout of the repository (its solutions/) and writes into its docs/;
#: REPO is None when mnistlib is installed from a wheel, and then bench says so and stops.
REPO = checkout()
SOLUTIONS = REPO / "solutions" if REPO else Path("solutions")
#: Alternating repeats of grading one learner with and without the sandbox.
GRADING_REPEATS = 3
SECTIONS = ("accuracy", "speed", "notebooks", "grading", "data", "scale", "gradescope", "threads", "install")
#: Long sections that a --quick run leaves out unless --only names them; they name their own machine.
LONG_SECTIONS = ("scale", "gradescope", "threads", "install")
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
    from ..notebook import load_tensorflow_quietly

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
    from .. import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist(quick=quick)
    flat = lambda images: images.reshape(len(images), -1).astype("float32") / 255  # noqa: E731
    eye = np.eye(10, dtype="float32")
    return flat(x_train), eye[y_train], flat(x_test), eye[y_test], x_train, x_test


# ----------------------------------------------------------------- accuracy


def bench_accuracy(seeds: list[int], quick: bool) -> list[dict]:
    """Test accuracy and loss per model and seed."""
    from ..notebook import load_tensorflow_quietly

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
            rows.append(
                {
                    "model": name,
                    "seed": seed,
                    "accuracy": acc,
                    "loss": loss,
                    "train_s": seconds,
                    "epochs": epochs,
                }
            )
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
                "epochs": settings["epochs"],
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
                "epochs": epochs,
            }
        )
        log(f"convnet seed {seed}: accuracy {acc:.4f} loss {loss:.4f} ({seconds:.0f} s)")
    return rows


# The settings notebooks 08 and 09 use (kept equal to the notebooks by tests/bench/test_bench.py).
SGD_SETTINGS = {"hidden": 128, "epochs": 10, "batch_size": 64, "learning_rate": 0.1}
SGD_SETTINGS_QUICK = {"hidden": 64, "epochs": 1, "batch_size": 64, "learning_rate": 0.1}
CONVNET_EPOCHS = 6
CONVNET_BATCH = 64
CONVNET_PEAK_LEARNING_RATE = 0.002


def convnet_optimizer(keras, epochs: int, n_train: int):
    """Notebook 09's optimizer: Adam, learning rate cosine-decayed from the peak to 0 over the run."""
    # Keras trains on the first floor(90 %) of the images (validation_split=0.1), as notebooks 05 and 09 count
    steps_per_epoch = math.ceil(math.floor(n_train * (1 - 0.1)) / CONVNET_BATCH)
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


def spread(values: list[float]) -> dict:
    """Median, minimum, maximum and relative spread ((max - min) / median) of repeated timings."""
    median = statistics.median(values)
    return {
        "median": median,
        "min": min(values),
        "max": max(values),
        "spread": (max(values) - min(values)) / median,
        "n": len(values),
    }


def interleaved(tasks: dict, rounds: int) -> dict[str, list[float]]:
    """Time each of ``tasks`` (name -> function returning seconds) once per round, ``rounds`` times.

    The tasks alternate (A B C, then C B A, ...) instead of running all of A, then all of B: a
    slow phase of the machine then slows every task alike, and their ratios stay comparable.
    """
    times: dict[str, list[float]] = {name: [] for name in tasks}
    names = list(tasks)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            times[name].append(tasks[name]())
    return times


#: Warmed epochs (or GEMM bursts) per speed measurement; the report gives their median and range.
SPEED_ROUNDS = 7
SPEED_ROUNDS_QUICK = 3


def bench_speed(quick: bool, rounds: int | None = None) -> dict:
    """GEMM rate, Keras seconds per epoch and FLOP fraction; NumPy vs Keras on the same network.

    Each measure is repeated ``rounds`` times, interleaved with the others (see :func:`interleaved`),
    after a discarded warm-up epoch (tracing, thread pools, caches); the report gives the median
    of the repeats and their range.
    """
    from ..notebook import load_tensorflow_quietly

    keras = load_tensorflow_quietly()
    x, y, *_ = _prepared(quick)
    rounds = rounds or (SPEED_ROUNDS_QUICK if quick else SPEED_ROUNDS)
    hidden, batch = 512, 1000

    def keras_epoch(model, optimizer, validation_split):
        """Compile ``model``, train one warm-up epoch, and return a function timing one more epoch."""
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])

        def one_epoch() -> float:
            timer = _EpochTimer()
            callback = keras.callbacks.LambdaCallback(
                on_epoch_begin=timer.on_epoch_begin, on_epoch_end=timer.on_epoch_end
            )
            model.fit(
                x,
                y,
                epochs=1,
                batch_size=batch,
                validation_split=validation_split,
                verbose=0,
                callbacks=[callback],
            )
            return timer.times[0]

        one_epoch()  # the first epoch traces the training function: not a steady-state epoch
        return one_epoch

    keras.utils.set_random_seed(0)
    net1 = keras_epoch(solution_namespace("04-building-the-network")["build_network"](), "rmsprop", 0.1)
    # The hand-written network against the same architecture in Keras: 784-512-10, plain SGD, batch 1000.
    twin_model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    twin = keras_epoch(twin_model, keras.optimizers.SGD(0.1), 0.0)
    sgd = solution_namespace("08-gradient-descent-by-hand")
    sgd["train_sgd"](x[:2000], y[:2000], hidden=hidden, epochs=1, batch_size=batch, learning_rate=0.1, seed=0)
    seeds = iter(range(rounds))

    def numpy_epoch() -> float:
        started = time.perf_counter()
        sgd["train_sgd"](x, y, hidden=hidden, epochs=1, batch_size=batch, learning_rate=0.1, seed=next(seeds))
        return time.perf_counter() - started

    gemm_gflops(n=512, seconds=0.1)  # warm up BLAS threads
    gemm_seconds = 0.5 if quick else 2.0
    before = cpu_ticks()
    runs = interleaved(
        {
            "gemm_gflops": lambda: gemm_gflops(seconds=gemm_seconds),
            "net1_epoch_s": net1,
            "twin_keras_epoch_s": twin,
            "twin_numpy_epoch_s": numpy_epoch,
        },
        rounds,
    )
    load = machine_load(before, cpu_ticks())
    n_train = int(len(x) * 0.9)
    net1_flops = dense_epoch_flops([784, 784, 512, 10], n_train, len(x) - n_train)
    twin_flops = dense_epoch_flops([784, hidden, 10], len(x))
    result: dict = {"rounds": rounds, "runs": runs, "load": load}
    for name, values in runs.items():
        result[name] = statistics.median(values)
    result["spread"] = {name: spread(values) for name, values in runs.items()}
    result["net1_gflops"] = net1_flops / result["net1_epoch_s"] / 1e9
    result["twin_keras_gflops"] = twin_flops / result["twin_keras_epoch_s"] / 1e9
    result["twin_numpy_gflops"] = twin_flops / result["twin_numpy_epoch_s"] / 1e9
    # The ratio per round (both measured minutes apart at most), then its median.
    ratios = [n / k for n, k in zip(runs["twin_numpy_epoch_s"], runs["twin_keras_epoch_s"], strict=True)]
    result["numpy_keras_ratio"] = statistics.median(ratios)
    result["spread"]["numpy_keras_ratio"] = spread(ratios)
    for name in runs:
        s = result["spread"][name]
        log(f"{name}: median {s['median']:.3g} (range {s['min']:.3g}-{s['max']:.3g}, {s['n']} runs)")
    log(f"machine while measuring: {load}")
    return result


# ---------------------------------------------------------------- notebooks


def notebook_ids() -> list[str]:
    """The solution notebooks the notebooks section can measure, by assignment id."""
    return sorted(path.stem for path in SOLUTIONS.glob("*.ipynb"))


def bench_notebooks(quick_only: bool, only: list[str] | None = None) -> list[dict]:
    """Wall time and peak memory of every solution notebook (or those in ``only``), quick mode and
    (unless quick_only) full."""
    from .memory import run_notebook_measured

    rows = []
    for notebook in notebook_ids():
        if only is not None and notebook not in only:
            continue
        path = SOLUTIONS / f"{notebook}.ipynb"
        for quick in (True,) if quick_only else (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                measured = run_notebook_measured(path, quick=quick, workdir=Path(tmp))
            rows.append({"notebook": notebook, "mode": "quick" if quick else "full", **measured})
            log(f"{notebook} {'quick' if quick else 'full'}: {measured}")
    return rows


# ------------------------------------------------------------------ grading


def bench_grading(quick: bool) -> dict:
    """Seconds to grade one learner's nine notebooks (in the grading sandbox and without it), and a
    class of 30 with 1 and 2 jobs (sandboxed, the default)."""
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
    one = f"one learner, {len(learner)} solution notebooks, --jobs 2"
    # Sandboxed (the default where bwrap works) and not, alternating, so that the machine's drift
    # falls on both alike; the table shows the median and the range.
    runs: dict[str, list[float]] = {one: [], f"{one}, --no-sandbox": []}
    for repeat in range(1 if quick else GRADING_REPEATS):
        for key, extra in ((one, []), (f"{one}, --no-sandbox", ["--no-sandbox"])):
            runs[key].append(timed([*learner, "--jobs", "2", *extra]))
            log(f"grading {key} (run {repeat + 1}): {runs[key][-1]:.1f} s")
    for key, values in runs.items():
        result[key] = statistics.median(values)
    result["spread"] = {key: spread(values) for key, values in runs.items()}
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
    from .. import data

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


def accuracy_summary(results: dict) -> list[dict]:
    """Per model: its seeds, mean and standard deviation of test accuracy and loss, training time.

    From the per-seed rows of a run (``results["accuracy"]``), or, for a report whose per-seed
    rows were not kept, the summary stored in their place (``results["accuracy_summary"]``).
    """
    if "accuracy" not in results:
        return results.get("accuracy_summary", [])
    summary = []
    rows = results["accuracy"]
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        several = len(mine) > 1
        summary.append(
            {
                "model": model,
                "seeds": sorted(r["seed"] for r in mine),
                "accuracy": statistics.mean(r["accuracy"] for r in mine),
                "accuracy_sd": statistics.stdev(r["accuracy"] for r in mine) if several else None,
                "loss": statistics.mean(r["loss"] for r in mine),
                "loss_sd": statistics.stdev(r["loss"] for r in mine) if several else None,
                "train_s": statistics.mean(r["train_s"] for r in mine),
                "epochs": mine[0].get("epochs"),
            }
        )
    return summary


def _mean_sd(mean: float, sd: float | None) -> str:
    return f"{mean:.4f}" if sd is None else f"{mean:.4f} ± {sd:.4f}"


def _timing(speed: dict, name: str, unit: str, digits: int = 2) -> str:
    """``median unit (min-max, n runs)``, or the bare value for a run that kept no repeats."""
    value = speed[name]
    s = speed.get("spread", {}).get(name)
    if not s:
        return f"{value:.{digits}f} {unit} (range not recorded)"
    return f"{value:.{digits}f} {unit} ({s['min']:.{digits}f}-{s['max']:.{digits}f}, {s['n']} runs)"


#: What the report says about the spread of the speed measurements.
SPEED_VARIANCE = (
    "Each value is the median of several warmed repeats (the first, tracing epoch is discarded), "
    "with the fastest and slowest repeat in brackets; the measures alternate round by round "
    "(GEMM, network 1, Keras 784-512-10, NumPy 784-512-10, then in reverse order), so a slow phase "
    "of the machine slows all of them alike and the ratios stay comparable. What remains in the "
    "range: other processes and, on a virtual machine, its neighbours taking CPU time (load average "
    "and stolen time below); on 2 cores a single busy process halves the speed of a threaded "
    "matrix product. Keras epochs also vary with its per-step Python work (data slicing and "
    "shuffling, the optimizer and metric updates, callbacks), which is a large share of a step at "
    "this size, and with Python's garbage collections; NumPy's loop has less of both."
)


def render(results: dict) -> str:
    m = results["machine"]
    dates = results.get("dates") or {}
    measured = sorted(set(dates.values()) | {m["date"]})
    when = f"on {m['date']}" if len(measured) == 1 else f"between {measured[0]} and {measured[-1]}"
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `mnistlib bench{' --quick' if results['quick'] else ''}` {when}"
        + (
            " (" + "; ".join(f"{section} on {date}" for section, date in dates.items()) + ")"
            if len(measured) > 1
            else ""
        )
        + ". Regenerate on your own machine with the same command; `--only SECTION` re-measures "
        "one section and keeps the others.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, NumPy {m['numpy']}.",
        "",
    ]
    if results.get("about"):
        lines += [results["about"], ""]
    if results["quick"]:
        lines += [
            "**Quick run**: quick-mode data (3,000 / 1,000 images) and few epochs; not comparable to the tutorial.",
            "",
        ]
    summary = accuracy_summary(results)
    if summary:
        seeds = sorted({seed for row in summary for seed in row["seeds"]})
        lines += [
            "## Accuracy against the tutorial",
            "",
            f"Full test set, seeds {seeds}; mean ± standard deviation over seeds.",
            "",
            "| model | test accuracy | test loss | tutorial (acc / loss) | target | epochs | training time (s) |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in summary:
            tut = TUTORIAL.get(row["model"])
            lines.append(
                f"| {row['model']} | {_mean_sd(row['accuracy'], row['accuracy_sd'])} "
                f"| {_mean_sd(row['loss'], row['loss_sd'])} "
                f"| {f'{tut[0]} / {tut[1]}' if tut else '-'} | ≥ {TARGETS[row['model']]} "
                f"| {row.get('epochs') or '-'} | {row['train_s']:.0f} |"
            )
        lines.append("")
    if "speed" in results:
        s = results["speed"]
        ratio = s.get("numpy_keras_ratio", s["twin_numpy_epoch_s"] / s["twin_keras_epoch_s"])
        ratio_spread = s.get("spread", {}).get("numpy_keras_ratio")
        lines += [
            "## Training speed against the machine",
            "",
            "| measure | median (range) |",
            "|---|---|",
            f"| float32 GEMM (NumPy, 2048²) | {_timing(s, 'gemm_gflops', 'GFLOP/s', 1)} |",
            f"| network 1, Keras, batch 1000 | {_timing(s, 'net1_epoch_s', 's/epoch')} = "
            f"{s['net1_gflops']:.1f} GFLOP/s ({s['net1_gflops'] / s['gemm_gflops']:.0%} of GEMM) |",
            f"| 784-512-10, Keras SGD, batch 1000 | {_timing(s, 'twin_keras_epoch_s', 's/epoch')} = "
            f"{s['twin_keras_gflops']:.1f} GFLOP/s ({s['twin_keras_gflops'] / s['gemm_gflops']:.0%} of GEMM) |",
            f"| 784-512-10, NumPy (notebook 08), batch 1000 | {_timing(s, 'twin_numpy_epoch_s', 's/epoch')} = "
            f"{s['twin_numpy_gflops']:.1f} GFLOP/s ({s['twin_numpy_gflops'] / s['gemm_gflops']:.0%} of GEMM) |",
            f"| NumPy time / Keras time | {ratio:.2f}"
            + (f" ({ratio_spread['min']:.2f}-{ratio_spread['max']:.2f}, per round)" if ratio_spread else "")
            + " |",
            "",
            "FLOPs of an epoch: 2 per multiply-add, training = 3 × forward, validation = 1 × forward.",
            "",
        ]
        if "spread" in s:
            load = s.get("load", {})
            lines += [SPEED_VARIANCE, ""]
            if load:
                steal = f"{load['steal']:.0%}" if load.get("steal") is not None else "unknown"
                lines += [
                    f"While measuring: load average {load.get('loadavg_1min', float('nan')):.2f} "
                    f"(1 minute, at the end), CPU time stolen by the hypervisor {steal}.",
                    "",
                ]
        else:
            lines += [
                "This run kept one median per measure, not its repeats (the range is not recorded), "
                "and measured Keras before NumPy instead of alternating them: re-measure with "
                "`mnistlib bench --only speed`.",
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
        ranges = g.get("spread", {})
        lines += ["## Grading", "", "| what | seconds | runs |", "|---|---|---|"]
        for key, value in g.items():
            if key == "spread":
                continue
            rng = ranges.get(key)
            runs = f"median of {rng['n']}, {rng['min']:.1f}-{rng['max']:.1f}" if rng else "one run"
            lines.append(f"| {key} | {value:.1f} | {runs} |")
        lines.append("")
    if "data" in results:
        lines += ["## Data", "", "| source | seconds | status |", "|---|---|---|"]
        for key, value in results["data"].items():
            lines.append(f"| {key} | {value['seconds']:.2f} | {value['status']} |")
        lines.append("")
    if "scale" in results:
        from .scale import render_scale

        lines += render_scale(results["scale"])
    if "gradescope" in results:
        from .gradescope import render_gradescope

        lines += render_gradescope(results["gradescope"])
    if "threads" in results:
        from .threads import render_threads

        lines += render_threads(results["threads"])
    if "install" in results:
        from .install import render_install

        lines += render_install(results["install"])
    if results.get("notes"):
        lines += ["## Notes", "", results["notes"], ""]
    return "\n".join(lines)


def measure(sections, quick: bool, seeds: int | None, notebooks: list[str] | None = None) -> dict:
    """Run the benchmark ``sections`` (the notebooks section on ``notebooks`` only, if given); the
    results ``render`` turns into the report."""
    results: dict = {"quick": quick, "machine": machine_info(), "dates": {}}
    today = results["machine"]["date"]
    if "data" in sections:
        results["data"] = bench_data()
    if "speed" in sections:
        results["speed"] = bench_speed(quick)
    if "accuracy" in sections:
        results["accuracy"] = bench_accuracy(list(range(seeds or (1 if quick else 3))), quick)
    if "notebooks" in sections:
        results["notebooks"] = bench_notebooks(quick_only=quick, only=notebooks)
    if "grading" in sections:
        results["grading"] = bench_grading(quick)
    if "scale" in sections:
        from .scale import bench_scale

        results["scale"] = bench_scale(SOLUTIONS, quick)
    if "gradescope" in sections:
        from .gradescope import bench_gradescope

        results["gradescope"] = bench_gradescope(SOLUTIONS, quick)
    if "threads" in sections:
        from .threads import bench_threads

        results["threads"] = bench_threads(SOLUTIONS, quick)
    if "install" in sections:
        from .install import bench_install

        results["install"] = bench_install(REPO, runs=1 if quick else 3)
    results["dates"] = {section: today for section in SECTIONS if section in sections}
    return results


def merge(earlier: dict, new: dict, notebooks: list[str] | None = None) -> dict:
    """``earlier``'s results with the sections ``new`` measured replaced, and their dates.

    With ``notebooks`` (a run of some notebooks only), the notebooks section keeps ``earlier``'s rows
    of the other notebooks; its date is then that of its newest rows.
    """
    merged = {key: value for key, value in earlier.items() if key != "notes"}
    if notebooks is not None and "notebooks" in new and "notebooks" in earlier:
        kept = [row for row in earlier["notebooks"] if row["notebook"] not in notebooks]
        order = {"quick": 0, "full": 1}
        new = dict(
            new,
            notebooks=sorted(kept + new["notebooks"], key=lambda r: (r["notebook"], order.get(r["mode"], 2))),
        )
    dates = dict(earlier.get("dates") or {})
    for section in SECTIONS:
        if section not in dates and (section in earlier or f"{section}_summary" in earlier):
            dates[section] = earlier["machine"]["date"]
    if "accuracy" in new:
        merged.pop("accuracy_summary", None)
    merged.update({key: value for key, value in new.items() if key != "dates"})
    if set(new.get("dates") or {}) <= set(LONG_SECTIONS) and "machine" in earlier:
        merged["machine"] = earlier["machine"]  # the long sections name their own machine
    dates.update(new.get("dates") or {})
    merged["dates"] = {section: dates[section] for section in SECTIONS if section in dates}
    return merged


#: The report and the data it is written from; the notes are kept by hand.
_DOCS = REPO / "docs" if REPO else Path("docs")
REPORT = _DOCS / "benchmarks.md"
REPORT_DATA = _DOCS / "benchmarks.json"
REPORT_NOTES = _DOCS / "benchmarks-notes.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mnistlib bench",
        description=__doc__.split("\n\n")[0].replace("``", "`"),  # plain text, not reST
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run on quick-mode data")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per model (default 3; 1 with --quick)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument(
        "--notebooks",
        nargs="+",
        metavar="ID",
        default=None,
        help="measure only these solution notebooks in the notebooks section, e.g. 09-going-further "
        "(the report keeps the other notebooks' rows)",
    )
    parser.add_argument("--out", type=Path, default=None, help="markdown report (default docs/benchmarks.md)")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="the raw results as JSON (default docs/benchmarks.json with the default report); "
        "with --only, the other sections are kept from this file",
    )
    parser.add_argument(
        "--notes",
        type=Path,
        default=None,
        help="a markdown file appended as the notes section (default docs/benchmarks-notes.md "
        "with the default report)",
    )
    parser.add_argument(
        "--report-from",
        type=Path,
        default=None,
        metavar="JSON",
        help="measure nothing: rewrite the report from an earlier run's --json file (e.g. with new --notes)",
    )
    args = parser.parse_args(argv)
    if REPO is None:
        print(
            "error: mnistlib bench measures a checkout of the course repository (its solutions/ and "
            "docs/), but this mnistlib is installed without one. Run it in a clone, with mnistlib "
            "installed from there (pip install -e .).",
            file=sys.stderr,
        )
        return 2
    if args.notebooks is not None:
        unknown = sorted(set(args.notebooks) - set(notebook_ids()))
        if unknown:
            parser.error(
                f"--notebooks: no solution notebook {', '.join(unknown)}; "
                f"the notebooks are {', '.join(notebook_ids())}"
            )
    if args.report_from:
        results = json.loads(args.report_from.read_text())
    else:
        # --quick is a smoke run: it leaves the long sections out unless --only names them
        default = tuple(x for x in SECTIONS if x not in LONG_SECTIONS) if args.quick else SECTIONS
        results = measure(args.only or default, args.quick, args.seeds, args.notebooks)
    quick = results.get("quick")
    out = args.out or (Path(tempfile.gettempdir()) / "benchmarks-quick.md" if quick else REPORT)
    to_docs = out.resolve() == REPORT.resolve()
    data = args.json or (REPORT_DATA if to_docs and not args.report_from else None)
    if data and (args.only or args.notebooks) and not args.report_from and data.exists():
        results = merge(json.loads(data.read_text()), results, args.notebooks)
    notes = args.notes or (REPORT_NOTES if to_docs and REPORT_NOTES.exists() else None)
    if notes:
        results["notes"] = notes.read_text().strip()
    report = render(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
    if data and not args.report_from:
        kept = {key: value for key, value in results.items() if key != "notes"}
        data.write_text(json.dumps(kept, indent=2, default=str) + "\n")
        print(f"data written to {data}", file=sys.stderr)
    if not args.report_from:
        print(report)
    print(f"\nwritten to {out}", file=sys.stderr)
    return 0
