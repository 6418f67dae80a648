"""``mnistlib bench --only scale``: grading beyond one machine, measured on this one.

* **A class in shards**: the same class (learners handing in notebook 02) graded by one
  ``mnistlib grade`` run with ``--jobs 2``, and as 3 shards (``--shard I/3 --jobs 1``) started at
  the same time on this machine, then merged; the two alternate over the repeats. On a cluster
  each shard has its own node; here they share the cores, so this measures the overhead of
  splitting (each shard starts its own workers, sandboxes and TensorFlow), not the speed-up.
* **One container per submission**: each assignment's worked solution graded by the Gradescope
  entry point (``python -m mnistlib.export.gradescope run``, as ``run_autograder`` calls it), in a
  fresh cgroup as a container would be: once without limits (wall time, and the cgroup's peak
  memory: what the container must hold, page cache of what it read included), and once limited like
  Gradescope's default container, 768 MB and half a CPU (``cpu.cfs_quota_us`` = half the period):
  its wall time, and whether the notebook still got full marks. Both with the sandbox inside the
  container, as where the container lets bubblewrap make its namespaces; graded as Gradescope's own
  containers grade, without it, is :mod:`mnistlib.bench.gradescope`'s table. PrairieLearn's default
  limit is a 30 s timeout for the whole job. Needs root and cgroup v1 memory and cpu controllers (as here);
  elsewhere the limited runs are skipped and peak memory is the sampled RSS of the process tree.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

GRADESCOPE_MB, GRADESCOPE_CPU, PRAIRIELEARN_TIMEOUT_S = 768, 0.5, 30
CLASS_SIZE, CLASS_ASSIGNMENT, SHARDS = 12, "02-reshaping", 3
#: Repeats of each measure (alternating conditions); MNISTLIB_BENCH_SCALE_REPEATS overrides (1 on a busy machine).
REPEATS = int(os.environ.get("MNISTLIB_BENCH_SCALE_REPEATS") or 2)
CGROUP_V1 = Path("/sys/fs/cgroup")


def _log(message: str) -> None:
    print(f"[bench scale] {message}", file=sys.stderr, flush=True)


def _spread(values: list[float]) -> dict:
    median = statistics.median(values)
    return {"median": median, "min": min(values), "max": max(values), "n": len(values)}


# ----------------------------------------------------------------------------- a class in shards


def _grade(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mnistlib", "grade", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait(process: subprocess.Popen, ok=(0, 1)) -> None:
    out, err = process.communicate()
    if process.returncode not in ok:
        raise RuntimeError(
            f"{' '.join(map(str, process.args))} failed ({process.returncode}):\n{err.decode()[-2000:]}"
        )


def class_in_shards(solutions: Path, size: int, repeats: int) -> dict:
    runs: dict[str, list[float]] = {
        "one run, --jobs 2": [],
        f"{SHARDS} shards at once, --jobs 1 each, + merge": [],
    }
    shard_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="mnistlib-bench-shards-") as tmp:
        course = Path(tmp)
        for i in range(size):
            target = course / "submitted" / f"learner{i:02d}" / CLASS_ASSIGNMENT / f"{CLASS_ASSIGNMENT}.ipynb"
            target.parent.mkdir(parents=True)
            shutil.copyfile(solutions / f"{CLASS_ASSIGNMENT}.ipynb", target)
        for repeat in range(repeats):
            order = list(runs) if repeat % 2 == 0 else list(reversed(runs))
            for key in order:
                started = time.perf_counter()
                if key.startswith("one run"):
                    _wait(_grade(["submitted", "--jobs", "2", "--csv", "whole.csv"], course))
                else:
                    processes = [_grade(["submitted", "--shard", f"{i}/{SHARDS}", "--jobs", "1"], course)
                                 for i in range(1, SHARDS + 1)]  # fmt: skip
                    ends = []
                    for process in processes:
                        _wait(process, ok=(0,))
                        ends.append(time.perf_counter() - started)
                    shard_times += ends
                    files = [f"mnistlib-shard-{i}-of-{SHARDS}.json" for i in range(1, SHARDS + 1)]
                    _wait(_grade(["merge", *files, "--csv", "merged.csv"], course), ok=(0,))
                    if (course / "merged.csv").read_bytes() != (course / "whole.csv").read_bytes():
                        raise RuntimeError("the merged shards differ from the single run's grades")
                runs[key].append(time.perf_counter() - started)
                _log(f"class of {size}: {key}: {runs[key][-1]:.1f} s")
    return {
        "class": f"{size} learners, {CLASS_ASSIGNMENT}",
        "runs": {key: _spread(values) for key, values in runs.items()},
        "shard_seconds": _spread(shard_times),
    }


# ----------------------------------------------------------------------------- one container per submission


class Cgroup:
    """A fresh cgroup v1 memory + cpu pair (a container's limits); ``None`` limits measure only."""

    def __init__(self, memory_mb: int | None, cpus: float | None):
        name = f"mnistlib-bench-{uuid.uuid4().hex[:8]}"
        self.memory = CGROUP_V1 / "memory" / name
        self.cpu = CGROUP_V1 / "cpu" / name
        self.memory.mkdir()
        self.cpu.mkdir()
        if memory_mb:
            (self.memory / "memory.limit_in_bytes").write_text(str(memory_mb * 2**20))
            (self.memory / "memory.memsw.limit_in_bytes").write_text(str(memory_mb * 2**20))  # no swap either
        if cpus:
            period = int((self.cpu / "cpu.cfs_period_us").read_text())
            (self.cpu / "cpu.cfs_quota_us").write_text(str(int(period * cpus)))

    def enter(self) -> None:  # in the child, before exec: it and all it starts are counted and limited
        for group in (self.memory, self.cpu):
            (group / "cgroup.procs").write_text(str(os.getpid()))

    def throttled(self) -> int:
        """Periods in which the CPU quota stopped the group (0: the quota never bound)."""
        for line in (self.cpu / "cpu.stat").read_text().splitlines():
            if line.startswith("nr_throttled "):
                return int(line.split()[1])
        return 0

    def peak_mb(self) -> float:
        return int((self.memory / "memory.max_usage_in_bytes").read_text()) / 2**20

    def oom_kills(self) -> int:
        for line in (self.memory / "memory.oom_control").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return int((self.memory / "memory.failcnt").read_text()) and -1

    def remove(self) -> None:
        for group in (self.memory, self.cpu):
            for _ in range(50):  # the sandbox's last processes may take a moment to go
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)

    @staticmethod
    def available() -> bool:
        try:
            Cgroup(None, None).remove()
            return True
        except OSError:
            return False


#: What bwrap says in a container that refuses it user namespaces (Docker's default seccomp profile).
REFUSED_BWRAP = (
    "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the kernel does "
    "not allow non-privileged user namespaces.' >&2\nexit 1\n"
)


def grade_in_container(
    assignment: str,
    notebook: Path,
    limits: tuple[int | None, float | None],
    mnist: str,
    sandbox: bool = True,
    settings: dict | None = None,
    sampler=None,
) -> dict:
    """Grade ``notebook`` through the Gradescope entry point in a fresh root and cgroup.

    ``sandbox=False``: bwrap is refused, as in a container without user namespaces (the grader
    then grades without the sandbox, the container being the boundary). ``settings``: the export's
    (``timeout``, ``memory_mb``). ``sampler``: a class taking the cgroup's ``cgroup.procs`` that
    samples its processes while grading (:class:`mnistlib.bench.gradescope.ProcessPeaks`); its
    ``result()`` is added to the run's.
    """
    from ..export import build

    with tempfile.TemporaryDirectory(prefix="mnistlib-bench-container-") as tmp:
        root = Path(tmp)
        (root / "source").mkdir()
        config = build.settings(assignment, **(settings or {"timeout": 120, "memory_mb": 2048}))
        (root / "source" / build.CONFIG).write_text(json.dumps(config))
        (root / "submission").mkdir()
        shutil.copyfile(notebook, root / "submission" / notebook.name)
        env = {**os.environ, "MNISTLIB_DATA": mnist, "MNISTLIB_CACHE": str(root / "cache"), "HOME": str(root)}
        if not sandbox:
            (root / "refused-bwrap").mkdir()
            (root / "refused-bwrap" / "bwrap").write_text(REFUSED_BWRAP)
            (root / "refused-bwrap" / "bwrap").chmod(0o755)
            env["PATH"] = f"{root / 'refused-bwrap'}{os.pathsep}{env.get('PATH', '')}"
        group = Cgroup(*limits)
        try:
            watch = sampler(group.memory / "cgroup.procs") if sampler else contextlib.nullcontext()
            with watch:
                started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
                done = subprocess.run(
                    [sys.executable, "-m", "mnistlib.export.gradescope", "run", "--root", str(root)],
                    env=env,
                    capture_output=True,
                    preexec_fn=group.enter,
                    timeout=1800,
                )
                seconds = time.perf_counter() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the entry point and all it waited for
            cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            written = root / "results" / "results.json"
            # no results.json: the entry point itself was killed (run_autograder would then write a 0)
            results = json.loads(written.read_text()) if written.exists() else {"score": 0}
            run = {
                "seconds": seconds,
                "peak_mb": group.peak_mb(),
                "oom_kills": group.oom_kills(),
                "score": results["score"],
                "max_score": config["points"],
                "exit": done.returncode,
                "cpu_s": cpu_s,
                "throttled": group.throttled(),
            }
            if sampler:
                run.update(watch.result())
            return run
        finally:
            group.remove()


def per_submission(solutions: Path, assignments: list[str], repeats: int) -> dict:
    from .. import data

    mnist = os.environ.get("MNISTLIB_DATA") or str(data.cache_dir())
    conditions = {  # name -> (memory MB, CPUs, sandboxed inside the container)
        "unlimited": (None, None, True),
        "gradescope default": (GRADESCOPE_MB, GRADESCOPE_CPU, True),
    }  # without the sandbox, as Gradescope's containers grade: the gradescope section (bench.gradescope)
    rows = {}
    for assignment in assignments:
        runs: dict[str, list[dict]] = {name: [] for name in conditions}
        for repeat in range(repeats):
            names = list(conditions) if repeat % 2 == 0 else list(reversed(conditions))
            for name in names:
                memory_mb, cpus, sandboxed = conditions[name]
                run = grade_in_container(
                    assignment, solutions / f"{assignment}.ipynb", (memory_mb, cpus), mnist, sandboxed
                )
                runs[name].append(run)
                _log(f"{assignment} ({name}): {run['seconds']:.1f} s, {run['peak_mb']:.0f} MB, "
                     f"{run['score']:g}/{run['max_score']:g}, oom kills {run['oom_kills']}")  # fmt: skip
        rows[assignment] = {
            name: {
                "seconds": _spread([r["seconds"] for r in values]),
                "peak_mb": _spread([r["peak_mb"] for r in values]),
                "full_marks": sum(r["score"] >= r["max_score"] for r in values),
                "oom_kills": sum(max(0, r["oom_kills"]) for r in values),
                "n": len(values),
            }
            for name, values in runs.items()
        }
    return rows


def bench_scale(solutions: Path, quick: bool) -> dict:
    from .machine import machine_info

    if not Cgroup.available():
        raise RuntimeError("bench scale needs root and cgroup v1 memory and cpu controllers (/sys/fs/cgroup)")
    assignments = sorted(p.stem for p in solutions.glob("*.ipynb"))
    result = {
        "containers": per_submission(
            solutions, assignments[:2] if quick else assignments, 1 if quick else REPEATS
        ),
        "class": class_in_shards(solutions, 4 if quick else CLASS_SIZE, 1 if quick else REPEATS),
        "limits": {
            "gradescope_mb": GRADESCOPE_MB,
            "gradescope_cpu": GRADESCOPE_CPU,
            "prairielearn_timeout_s": PRAIRIELEARN_TIMEOUT_S,
        },  # fmt: skip
        "loadavg_1min": os.getloadavg()[0],
        # this section's own machine: a --only scale run must not relabel the others' (bench.merge)
        "machine": machine_info(),
    }
    return result


def _range(s: dict, unit: str = "", digits: int = 1) -> str:
    text = f"{s['median']:.{digits}f}{unit}"
    return text + (
        f" ({s['min']:.{digits}f}-{s['max']:.{digits}f}, {s['n']} runs)" if s["n"] > 1 else " (1 run)"
    )


def render_scale(s: dict) -> list[str]:
    c, limits = s["class"], s["limits"]
    lines = [
        "## Grading at scale",
        "",
        f"A class ({c['class']}) graded in one run and in {SHARDS} shards started together on this "
        "machine, then merged (the merged grades are checked to be identical). Median (range) over "
        "alternating repeats, where there were several:",
        "",
        "| how | seconds |",
        "|---|---|",
    ]
    lines += [f"| {key} | {_range(value)} |" for key, value in c["runs"].items()]
    lines += [
        f"| one shard, from start to its results file | {_range(c['shard_seconds'])} |",
        "",
        "On a cluster each shard has a node of its own; here the shards share 2 cores, so the second "
        "row shows what splitting costs (every shard starts its own workers, sandboxes and TensorFlow), "
        "and the time of one shard is what a node would need for a third of the class.",
        "",
        "### Grading in one container per submission",
        "",
        "Each worked solution graded by the Gradescope entry point in a fresh cgroup, as in a container "
        "that lets bubblewrap make its namespaces, so that the grader sandboxes the learner's kernel "
        "inside it (its fork server imports TensorFlow once more, next to the checker kernel's): "
        f"without limits, and with Gradescope's default {limits['gradescope_mb']} MB and "
        f"{limits['gradescope_cpu']:g} CPU. Gradescope's own containers refuse bubblewrap; how they "
        "grade is the next table's. Peak memory is the cgroup's (page cache included). "
        f"PrairieLearn's default timeout is {limits['prairielearn_timeout_s']} s per job. Median (range):",
        "",
        "| notebook | seconds, no limits | peak MB, no limits | full marks, no limits "
        "| seconds at 768 MB, 0.5 CPU | full marks at 768 MB, 0.5 CPU | within PrairieLearn's 30 s |",
        "|---|---|---|---|---|---|---|",
    ]

    def marks(run: dict) -> str:
        kills = f" ({run['oom_kills']} out-of-memory kills)" if run["oom_kills"] else ""
        return f"{run['full_marks']} of {run['n']}{kills}"

    for assignment, row in s["containers"].items():
        free, capped = row["unlimited"], row["gradescope default"]
        within = "yes" if free["seconds"]["max"] <= limits["prairielearn_timeout_s"] else "no"
        lines.append(
            f"| {assignment} | {_range(free['seconds'])} | {_range(free['peak_mb'], digits=0)} | {marks(free)} "
            f"| {_range(capped['seconds'])} | {marks(capped)} | {within} |"
        )
    lines += ["", f"Load average at the end: {s['loadavg_1min']:.2f} (other work on the machine)."]
    if s.get("machine"):
        m = s["machine"]
        lines[-1] += f" Measured on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, on {m['date']}."
    lines.append("")
    return lines
