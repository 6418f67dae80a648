"""``mnistlib bench --only threads``: thread settings on shared and CPU-limited machines.

The same work with today's thread settings (each library's default: ``MNISTLIB_THREADS=off``) and
with the CPU budget of :mod:`mnistlib.cpu` (the default), side by side in one run, under:

* **idle** -- nothing else started by the benchmark (other work on the machine: see the load);
* **1 core** -- the process pinned to one CPU (affinity): the reference, one idle dedicated core;
* **busy** -- a competing CPU-bound process on every core (a shared hub node, a neighbour's job);
* **quota 1.0** and **quota 0.5** -- in a fresh cgroup with a CPU quota of 1 and 0.5 CPU, as
  Binder, JupyterHub or Kubernetes give a pod (needs root and cgroup v1; skipped elsewhere).

Measured: the speed rows (GEMM, network 1, Keras and NumPy 784-512-10, as in the ``speed`` section,
each the median of warmed rounds in one process), notebooks 05, 08 and 09 run top to bottom in a
fresh kernel (quick mode, and 08 also full), and a class of 12 graded with ``--jobs 1`` and ``2``
(today: TensorFlow's threads set to cores / jobs, BLAS at its default, as ``mnistlib grade`` did).
Every measurement runs in a new process started in its condition; today's and the new settings
alternate (A B, then B A) so that the machine's drift falls on both alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import cpu

CONDITIONS = ("idle", "1 core", "busy", "quota 1.0", "quota 0.5")
#: The environment of each setting: today's (every library's default) and the CPU budget's.
SETTINGS = {"today": {cpu.THREADS_ENV: "off"}, "budget": {cpu.THREADS_ENV: "auto"}}
NOTEBOOKS = (
    ("05-training", "quick"),
    ("08-gradient-descent-by-hand", "quick"),
    ("09-going-further", "quick"),
)
#: Full-mode runs, measured when ``MNISTLIB_BENCH_THREADS_FULL=1`` (they multiply the run's length).
NOTEBOOKS_FULL = (
    (("08-gradient-descent-by-hand", "full"),) if os.environ.get("MNISTLIB_BENCH_THREADS_FULL") == "1" else ()
)
CLASS_SIZE, CLASS_ASSIGNMENT = 12, "02-reshaping"
#: Repeats of each notebook and grading measurement (the speed rows repeat inside their process).
REPEATS = int(os.environ.get("MNISTLIB_BENCH_THREADS_REPEATS") or 2)
#: Warmed rounds of each speed row in its process (``MNISTLIB_BENCH_THREADS_ROUNDS`` overrides).
SPEED_ROUNDS = int(os.environ.get("MNISTLIB_BENCH_THREADS_ROUNDS") or 3)
#: The notebooks are not run pinned to one core (the speed rows give that reference): time.
NOTEBOOK_CONDITIONS = tuple(c for c in CONDITIONS if c != "1 core")
RESULT = "RESULT "


def _log(message: str) -> None:
    print(f"[bench threads {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _spread(values: list[float]) -> dict:
    median = statistics.median(values)
    return {"median": median, "min": min(values), "max": max(values), "n": len(values)}


def _clean_env(extra: dict) -> dict:
    """This process's environment without thread settings of its own, plus ``extra``."""
    unset = (
        cpu.THREADS_ENV,
        cpu.JOBS_ENV,
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        *cpu.TF_THREAD_VARIABLES,
    )
    return {**{k: v for k, v in os.environ.items() if k not in unset}, **extra}


@contextlib.contextmanager
def condition(name: str):
    """Set up condition ``name``; yield the ``preexec_fn`` that puts a new process into it."""
    if name == "idle":
        yield None
    elif name == "1 core":
        first = min(os.sched_getaffinity(0))
        yield lambda: os.sched_setaffinity(0, {first})
    elif name == "busy":
        hogs = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cpu.affinity_cpus())
        ]
        try:
            time.sleep(0.5)
            yield None
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
    elif name.startswith("quota "):
        from .scale import Cgroup

        group = Cgroup(None, float(name.split()[1]))
        try:
            yield lambda: (group.cpu / "cgroup.procs").write_text(str(os.getpid()))
        finally:
            group.remove()
    else:
        raise ValueError(f"unknown condition {name!r}; the conditions are {', '.join(CONDITIONS)}")


def _measure(args: list[str], env: dict, preexec) -> dict:
    """Run this module's worker (``python -m mnistlib.bench.threads_worker ARGS``); return its result."""
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib.bench.threads_worker", *args],
        env=env,
        preexec_fn=preexec,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"bench threads {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return json.loads(lines[-1][len(RESULT) :])


def _orders(index: int) -> list[str]:
    return list(SETTINGS) if index % 2 == 0 else list(reversed(SETTINGS))


#: Where :func:`bench_threads` keeps what it has measured so far (a long run on a busy machine may be cut short).
PARTIAL = Path(tempfile.gettempdir()) / "mnistlib-bench-threads-partial.json"


def bench_threads(solutions: Path, quick: bool, conditions=CONDITIONS) -> dict:
    """Measure every workload in every condition with both settings (see the module's description).

    The speed rows first, then grading, then the notebooks; after each measurement the results so far
    are written to :data:`PARTIAL`.
    """
    from .machine import cpu_ticks, machine_info, machine_load
    from .scale import Cgroup

    if not Cgroup.available():
        conditions = [c for c in conditions if not c.startswith("quota")]
        _log("no cgroup v1 cpu controller writable here (root needed): the quota conditions are skipped")
    loads = [os.getloadavg()[0]]
    result: dict = {
        "conditions": list(conditions),
        "speed": {},
        "notebooks": {},
        "budgets": {},
        "grading": {},
        "machine": machine_info(),
    }

    def keep() -> None:
        loads.append(os.getloadavg()[0])
        result["loadavg_1min"] = _spread(loads)
        PARTIAL.write_text(json.dumps(result, indent=1))

    notebooks = NOTEBOOKS[:1] if quick else NOTEBOOKS + NOTEBOOKS_FULL
    repeats = 1 if quick else REPEATS
    before = cpu_ticks()
    for index, name in enumerate(conditions):
        result["speed"][name] = {}
        for setting in _orders(index):
            with condition(name) as preexec:
                args = ["speed", "--rounds", str(1 if quick else SPEED_ROUNDS)] + (
                    ["--quick"] if quick else []
                )
                measured = _measure(args, _clean_env(SETTINGS[setting]), preexec)
            result["speed"][name][setting] = measured
            result["budgets"].setdefault(name, {})[setting] = measured["budget"]
            medians = {k: round(v["median"], 3) for k, v in measured["spread"].items()}
            _log(f"speed, {name}, {setting}: {json.dumps(medians)}")
            keep()
    result["grading"] = grade_class(solutions, 4 if quick else CLASS_SIZE, repeats)
    keep()
    for index, name in enumerate(c for c in conditions if c in NOTEBOOK_CONDITIONS):
        for notebook, mode in notebooks:
            runs: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
            for repeat in range(repeats):
                for setting in _orders(index + repeat):
                    with condition(name) as preexec:
                        measured = _measure(
                            ["notebook", notebook, mode], _clean_env(SETTINGS[setting]), preexec
                        )
                    runs[setting].append(measured["seconds"])
                    _log(f"{notebook} {mode}, {name}, {setting}: {measured['seconds']:.1f} s")
            result["notebooks"].setdefault(f"{notebook} ({mode})", {})[name] = {
                setting: _spread(values) for setting, values in runs.items()
            }
            keep()
    result["steal"] = machine_load(before, cpu_ticks()).get("steal")
    keep()
    return result


def grade_class(solutions: Path, size: int, repeats: int) -> dict:
    """Seconds to grade ``size`` learners' notebook 02 with ``--jobs 1`` and ``2``, today and with the budget."""
    rows: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="mnistlib-bench-threads-") as tmp:
        for i in range(size):
            target = (
                Path(tmp) / "submitted" / f"learner{i:02d}" / CLASS_ASSIGNMENT / f"{CLASS_ASSIGNMENT}.ipynb"
            )
            target.parent.mkdir(parents=True)
            shutil.copyfile(solutions / f"{CLASS_ASSIGNMENT}.ipynb", target)
        for repeat in range(repeats):
            for jobs in (1, 2):
                key = f"class of {size} ({CLASS_ASSIGNMENT}), --jobs {jobs}"
                for setting in _orders(repeat + jobs):
                    extra = dict(SETTINGS[setting])
                    if setting == "today":  # as mnistlib grade set it: TensorFlow's share, BLAS unset
                        share = str(max(1, (os.cpu_count() or 1) // jobs))
                        extra.update({variable: share for variable in cpu.TF_THREAD_VARIABLES})
                    started = time.perf_counter()
                    done = subprocess.run(
                        [sys.executable, "-m", "mnistlib", "grade", "submitted", "--jobs", str(jobs),
                         "--csv", "grades.csv"],
                        cwd=tmp, env=_clean_env(extra), capture_output=True, text=True,
                    )  # fmt: skip
                    seconds = time.perf_counter() - started
                    if done.returncode not in (0, 1):  # 1: not every learner got full marks (e.g. a timeout)
                        raise RuntimeError(f"grading failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
                    if done.returncode == 1:
                        _log(f"{key}, {setting}: not every learner got full marks:\n{done.stdout[-1000:]}")
                    rows.setdefault(key, {s: [] for s in SETTINGS})[setting].append(seconds)
                    _log(f"{key}, {setting}: {seconds:.1f} s")
    return {key: {setting: _spread(values) for setting, values in row.items()} for key, row in rows.items()}


# ----------------------------------------------------------------------------- the report


SPEED_ROWS = (
    ("gemm_gflops", "float32 GEMM (GFLOP/s, higher is better)", True),
    ("net1_epoch_s", "network 1, Keras (s/epoch)", False),
    ("twin_keras_epoch_s", "784-512-10, Keras (s/epoch)", False),
    ("twin_numpy_epoch_s", "784-512-10, NumPy (s/epoch)", False),
)


def _cell(s: dict, digits: int = 2) -> str:
    text = f"{s['median']:.{digits}f}"
    return text + (f" ({s['min']:.{digits}f}-{s['max']:.{digits}f})" if s["n"] > 1 else "")


def slowdowns(t: dict) -> dict:
    """For every measure and condition: the budget's time over today's, and over the budget's time on
    one idle dedicated core (the share the process really gets), from the medians (a rate inverted)."""
    found: dict = {}
    rows = [(key, "speed", key, higher) for key, _, higher in SPEED_ROWS]
    rows += [(key, "notebooks", key, False) for key in t["notebooks"]]
    for name, section, key, higher in rows:
        for condition_ in t["conditions"]:
            if not _measured(t, section, key, condition_):
                continue
            if section == "speed":
                cell = {s: t["speed"][condition_][s]["spread"][key]["median"] for s in SETTINGS}
                ref = (
                    t["speed"]
                    .get("1 core", {})
                    .get("budget", {})
                    .get("spread", {})
                    .get(key, {})
                    .get("median")
                )
            else:
                cell = {s: t["notebooks"][key][condition_][s]["median"] for s in SETTINGS}
                ref = t["notebooks"][key].get("1 core", {}).get("budget", {}).get("median")
            if higher:
                cell = {s: 1 / v for s, v in cell.items()}
                ref = 1 / ref if ref else None
            found.setdefault(name, {})[condition_] = {
                "budget_over_today": cell["budget"] / cell["today"],
                "budget_over_one_core": cell["budget"] / ref if ref else None,
            }
    return found


def _measured(t: dict, section: str, key: str, name: str) -> bool:
    """Whether both settings were measured for ``key`` in condition ``name`` (a run cut short has gaps)."""
    found = t["speed"].get(name, {}) if section == "speed" else t["notebooks"].get(key, {}).get(name, {})
    return all(setting in found for setting in SETTINGS)


def render_threads(t: dict) -> list[str]:
    conditions = t["conditions"]
    ratios = slowdowns(t)
    lines = [
        "## Threads on shared and CPU-limited machines",
        "",
        "The same work with today's thread settings (each library's default, `MNISTLIB_THREADS=off`) and "
        "with the CPU budget of `mnistlib.cpu` (the default since), in one run, alternating. Conditions: "
        "*idle* (nothing else started by the benchmark), *1 core* (pinned to one CPU: the reference, "
        "one idle dedicated core), *busy* (a CPU-bound process on every core competing), *quota 1.0* "
        "and *quota 0.5* (a cgroup with a CPU quota of 1 and 0.5 CPU, as a Binder or JupyterHub pod). "
        "Median (range); *budget/today* < 1 is faster with the budget; *budget/1 core* is the time "
        "against one idle dedicated core's (for GEMM: the inverse rate).",
        "",
        "Threads the budget chose: "
        + "; ".join(f"{name}: {t['budgets'][name]['budget']}" for name in conditions if name in t["budgets"])
        + ".",
        "",
        "| measure | condition | today | budget | budget/today | budget/1 core |",
        "|---|---|---|---|---|---|",
    ]
    for key, label, _higher in SPEED_ROWS:
        for name in (c for c in conditions if _measured(t, "speed", key, c)):
            cells = [
                _cell(t["speed"][name][s]["spread"][key], 1 if key == "gemm_gflops" else 2) for s in SETTINGS
            ]
            r = ratios[key][name]
            vs = f"{r['budget_over_one_core']:.2f}" if r["budget_over_one_core"] else "-"
            lines.append(
                f"| {label} | {name} | {cells[0]} | {cells[1]} | {r['budget_over_today']:.2f} | {vs} |"
            )
    for key, by_condition in t["notebooks"].items():
        for name in (c for c in conditions if _measured(t, "notebooks", key, c)):
            cells = [_cell(by_condition[name][s], 1) for s in SETTINGS]
            r = ratios[key][name]
            vs = f"{r['budget_over_one_core']:.2f}" if r["budget_over_one_core"] else "-"
            lines.append(
                f"| notebook {key}, s | {name} | {cells[0]} | {cells[1]} | {r['budget_over_today']:.2f} | {vs} |"
            )
    if t["grading"]:
        lines += [
            "",
            "Grading, in the idle condition (sandboxed, as by default; seconds):",
            "",
            "| class | today | budget |",
            "|---|---|---|",
        ]
        for key, row in t["grading"].items():
            lines.append(f"| {key} | {' | '.join(_cell(row[s], 1) if s in row else '-' for s in SETTINGS)} |")
        speedups = grading_speedups(t)
        if speedups:
            lines += [
                "",
                "`--jobs 2` against `--jobs 1` (medians): "
                + "; ".join(f"{setting} {value:.2f}x" for setting, value in speedups.items())
                + ".",
            ]
    load = t["loadavg_1min"]
    lines += [
        "",
        f"Load average (1 minute, which counts the benchmark's own processes, its competing ones "
        f"included) during this run: median {load['median']:.1f}, {load['min']:.1f}-{load['max']:.1f} "
        f"over {load['n']} readings, on {t['machine']['cores']} cores, on {t['machine']['date']}.",
        "",
    ]
    if t.get("note"):
        lines += [t["note"], ""]
    return lines


#: The training rows whose slowdown on a busy machine the notebooks quote (seconds per epoch).
TRAINING_ROWS = ("net1_epoch_s", "twin_keras_epoch_s", "twin_numpy_epoch_s")


def busy_slowdowns(t: dict, condition_: str = "busy") -> list[float]:
    """With the budget: each training row's time in ``condition_`` over its time in the idle
    condition (medians); what the notebooks quote as "expect training to take X to Y times as long"."""
    speed = t["speed"]
    return [
        speed[condition_]["budget"]["spread"][key]["median"]
        / speed["idle"]["budget"]["spread"][key]["median"]
        for key in TRAINING_ROWS
    ]


def grading_speedups(t: dict) -> dict:
    """``--jobs 1`` time over ``--jobs 2`` time (medians), per setting."""
    one = next((row for key, row in t["grading"].items() if key.endswith("--jobs 1")), None)
    two = next((row for key, row in t["grading"].items() if key.endswith("--jobs 2")), None)
    if not one or not two:
        return {}
    return {s: one[s]["median"] / two[s]["median"] for s in SETTINGS if s in one and s in two}


# ----------------------------------------------------------------------------- the workers: bench.threads_worker
