"""``mnistlib bench --only gradescope``: each notebook graded as Gradescope grades it, in its default container.

Gradescope's default autograder container has 768 MB of memory, and runs each submission's
``run_autograder`` with a 10-minute timeout (600 s, the autograder settings' default). Its
containers refuse bubblewrap its namespaces (Docker's default seccomp profile), so the grader grades
without the sandbox there, the container being the boundary, and one fork server (one TensorFlow)
forks both the learner's kernel and the checker kernel.

Each worked solution is graded by the Gradescope entry point (``python -m mnistlib.export.gradescope
run``, as ``run_autograder`` calls it, with the export's default settings) in a fresh cgroup standing
in for that container: 768 MB and no swap, a CPU quota of 1.0 and of 0.5 CPU, and a ``bwrap`` on the
PATH that is refused its namespaces as in Gradescope's containers. Per notebook and CPU quota: the
score, the wall time against the 600 s, the cgroup's peak memory (``memory.max_usage_in_bytes``,
cgroup v1's ``memory.peak``: everything charged to the container, page cache included), its
out-of-memory kills, and each process's peak, sampled every :data:`SAMPLE_S` seconds from ``/proc``
(resident set, ``VmHWM``, which the kernel keeps exactly; and proportional set size, PSS, which
shares a page between the processes mapping it, so that the processes' PSS add up to what they
hold together). Needs root and cgroup v1 memory and cpu controllers, like the ``scale`` section.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from pathlib import Path

from ..grading import limits
from .scale import _range, _spread

GRADESCOPE_MB = 768
#: Gradescope's default autograder timeout (the autograder settings' default, 10 minutes).
GRADESCOPE_TIMEOUT_S = 600
#: The CPU quotas measured: a full CPU, and half of one.
CPUS = (1.0, 0.5)
#: Repeats of each notebook and quota (alternating the quotas); MNISTLIB_BENCH_SCALE_REPEATS overrides.
REPEATS = int(os.environ.get("MNISTLIB_BENCH_SCALE_REPEATS") or 2)
SAMPLE_S = 0.2
#: Where the rows measured so far are kept while the section runs.
PARTIAL = Path(tempfile.gettempdir()) / "mnistlib-bench-gradescope-partial.json"
MB = 2**20

#: The processes of one grading, named from their command lines (see :func:`role`).
ROLES = ("grader", "nbgrader worker", "fork server", "kernel", "kernel launcher")


def _log(message: str) -> None:
    print(f"[bench gradescope] {message}", file=sys.stderr, flush=True)


def role(argv: list[str], parent_argv: list[str] | None) -> str:
    """What a process of a Gradescope grading is, from its command line and its parent's.

    The entry point (``mnistlib.export.gradescope run``) forks its nbgrader worker (same command
    line); the fork server (``mnistlib.grading.forkserver``) forks the kernels (same command line
    again); jupyter_client starts a small launcher per kernel (``mnistlib.grading.kernel``).
    """
    text, parent = " ".join(argv), " ".join(parent_argv or [])
    if "mnistlib.grading.forkserver" in text:
        return "kernel" if "mnistlib.grading.forkserver" in parent else "fork server"
    if "mnistlib.grading.kernel" in text:
        return "kernel launcher"
    if "multiprocessing" in text:  # a spawned pool worker
        return "nbgrader worker"
    if "mnistlib.export.gradescope" in text:
        return "nbgrader worker" if "mnistlib.export.gradescope" in parent else "grader"
    return Path(argv[0]).name if argv else "?"


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:  # the process is gone
        return ""


def _field(text: str, name: str) -> int:
    """The number after ``name`` in ``/proc/PID/status``-like (``Name: 12 kB``) or ``memory.stat``-like
    (``name 12``) text; 0 if absent."""
    for line in text.splitlines():
        parts = line.replace(":", " ", 1).split()
        if len(parts) > 1 and parts[0] == name:
            return int(parts[1])
    return 0


class ProcessPeaks:
    """Samples a cgroup v1 memory group and its processes (``cgroup.procs``) in a background thread.

    Reads only what is cheap to read (``/proc/PID/status``, the group's ``memory.stat``): a process's
    ``smaps_rollup`` walks its page tables under its memory-map lock, tens of milliseconds for a
    process with TensorFlow, and sampling it would slow the grading it measures. :meth:`result`:
    per process (by pid) its role, its resident peak (``VmHWM``, kept by the kernel: exact) and the
    largest anonymous resident memory seen (``RssAnon``; a forked kernel's counts the pages it still
    shares with its fork server); for the group, the largest anonymous and shared memory charged to
    it at one sample (``total_rss`` + ``total_shmem``: what no reclaim can drop without swap) and
    its major page faults (``total_pgmajfault``: pages read back from disk, as when the limit
    pushes the libraries' code out of the page cache and it is needed again).
    """

    def __init__(self, procs: Path, interval: float = SAMPLE_S):
        self.procs, self.interval = procs, interval
        self._seen: dict[int, dict] = {}
        self.peak_anon_mb = 0.0
        self.major_faults = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cgroup-process-peaks", daemon=True)

    def _argv(self, pid: int) -> list[str]:
        return [a for a in _read(f"/proc/{pid}/cmdline").split("\0") if a]

    def sample(self) -> None:
        for pid in (int(p) for p in _read(str(self.procs)).split()):
            status = _read(f"/proc/{pid}/status")
            if not status:
                continue
            seen = self._seen.setdefault(pid, {"role": "?", "rss_mb": 0.0, "anon_mb": 0.0})
            # named again at every sample: between its fork and its exec a process still has its
            # parent's command line (the fork server would be taken for an nbgrader worker)
            argv = self._argv(pid)
            if argv:  # a zombie has none: keep its last name
                seen["role"] = role(argv, self._argv(_field(status, "PPid")))
            seen["rss_mb"] = max(seen["rss_mb"], _field(status, "VmHWM") / 1024)
            seen["anon_mb"] = max(seen["anon_mb"], _field(status, "RssAnon") / 1024)
        stat = _read(str(self.procs.parent / "memory.stat"))
        if stat:
            anon = (_field(stat, "total_rss") + _field(stat, "total_shmem")) / MB
            self.peak_anon_mb = max(self.peak_anon_mb, anon)
            self.major_faults = max(self.major_faults, _field(stat, "total_pgmajfault"))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> ProcessPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()  # the group's last counts (its processes have exited)

    def result(self) -> dict:
        return {
            "processes": [p for p in self._seen.values() if p["rss_mb"]],
            "anon_peak_mb": self.peak_anon_mb,
            "major_faults": self.major_faults,
        }


def evict_page_cache(folders: list[Path] | None = None) -> int:
    """Drop from the page cache what no process maps of the files under ``folders`` (default: this
    Python's installed packages, TensorFlow's libraries among them); returns the files advised.

    A new container reads its image's files for the first time, so their pages are charged to it.
    Here they are cached already, from earlier runs, and charged to whoever read them first: a run
    would look smaller than it is. ``POSIX_FADV_DONTNEED`` on these files (the venv's own: no other
    program on the machine maps them) makes the next run read them again, inside its cgroup.
    """
    import sysconfig

    if folders is None:
        paths = sysconfig.get_paths()
        folders = sorted({Path(paths["purelib"]), Path(paths["platlib"])})
    advised = 0
    for folder in folders:
        for path in folder.rglob("*"):
            if path.suffix not in (".so", ".py", ".pyc", ".json") and ".so." not in path.name:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                advised += 1
            finally:
                os.close(fd)
    return advised


def by_role(processes: list[dict]) -> dict:
    """The largest resident and anonymous peak of each role, and how many processes had it."""
    out: dict[str, dict] = {}
    for p in processes:
        row = out.setdefault(p["role"], {"processes": 0, "rss_mb": 0.0, "anon_mb": 0.0})
        row["processes"] += 1
        row["rss_mb"] = max(row["rss_mb"], p["rss_mb"])
        row["anon_mb"] = max(row["anon_mb"], p["anon_mb"])
    return out


def per_notebook(solutions: Path, assignments: list[str], repeats: int) -> dict:
    from .. import data
    from .scale import grade_in_container

    mnist = os.environ.get("MNISTLIB_DATA") or str(data.cache_dir())
    names = [f"{cpus:g} CPU" for cpus in CPUS]
    rows = {}
    for assignment in assignments:
        runs: dict[str, list[dict]] = {name: [] for name in names}
        for repeat in range(repeats):
            order = list(zip(names, CPUS, strict=True))
            for name, cpus in order if repeat % 2 == 0 else reversed(order):
                evict_page_cache()
                evict_page_cache([Path(mnist)])
                run = grade_in_container(
                    assignment,
                    solutions / f"{assignment}.ipynb",
                    (GRADESCOPE_MB, cpus),
                    mnist,
                    sandbox=False,
                    settings={"timeout": limits.CELL_TIMEOUT_S, "memory_mb": limits.MEMORY_MB},
                    sampler=ProcessPeaks,
                )
                runs[name].append(run)
                _log(f"{assignment} ({GRADESCOPE_MB} MB, {name}): {run['seconds']:.1f} s, "
                     f"peak {run['peak_mb']:.0f} MB, {run['score']:g}/{run['max_score']:g}, "
                     f"oom kills {run['oom_kills']}")  # fmt: skip
        rows[assignment] = {name: summary(values) for name, values in runs.items()}
        # what is measured so far, should a long run be stopped before the report is written
        PARTIAL.write_text(json.dumps(rows, indent=1))
    return rows


def summary(values: list[dict]) -> dict:
    """One notebook at one CPU quota, over its repeats."""
    roles: dict[str, dict] = {}
    for run in values:
        for name, row in by_role(run["processes"]).items():
            kept = roles.setdefault(name, {"processes": 0, "rss_mb": [], "anon_mb": []})
            kept["processes"] = max(kept["processes"], row["processes"])
            kept["rss_mb"].append(row["rss_mb"])
            kept["anon_mb"].append(row["anon_mb"])
    return {
        "seconds": _spread([r["seconds"] for r in values]),
        "peak_mb": _spread([r["peak_mb"] for r in values]),
        "anon_peak_mb": _spread([r["anon_peak_mb"] for r in values]),
        "major_faults": _spread([r["major_faults"] for r in values]),
        "cpu_s": _spread([r["cpu_s"] for r in values]),
        "throttled": sum(r["throttled"] > 0 for r in values),
        "score": _spread([r["score"] for r in values]),
        "max_score": values[0]["max_score"],
        "full_marks": sum(r["score"] >= r["max_score"] for r in values),
        "oom_kills": sum(max(0, r["oom_kills"]) for r in values),
        "within_timeout": sum(r["seconds"] <= GRADESCOPE_TIMEOUT_S for r in values),
        "n": len(values),
        "per_process": {
            name: {
                "processes": row["processes"],
                "rss_mb": _spread(row["rss_mb"]),
                "anon_mb": _spread(row["anon_mb"]),
            }
            for name, row in sorted(roles.items(), key=lambda kv: _role_order(kv[0]))
        },
    }


def _role_order(name: str) -> tuple[int, str]:
    return (ROLES.index(name) if name in ROLES else len(ROLES), name)


def bench_gradescope(solutions: Path, quick: bool) -> dict:
    from .machine import machine_info
    from .scale import Cgroup

    if not Cgroup.available():
        raise RuntimeError(
            "bench gradescope needs root and cgroup v1 memory and cpu controllers (/sys/fs/cgroup)"
        )
    assignments = sorted(p.stem for p in solutions.glob("*.ipynb"))
    return {
        "notebooks": per_notebook(
            solutions, assignments[:1] if quick else assignments, 1 if quick else REPEATS
        ),
        "limits": {"memory_mb": GRADESCOPE_MB, "cpus": list(CPUS), "timeout_s": GRADESCOPE_TIMEOUT_S},
        "sample_s": SAMPLE_S,
        "loadavg_1min": os.getloadavg()[0],
        "machine": machine_info(),  # this section's own machine, like scale's (bench.merge)
    }


def verdict(s: dict) -> str:
    """What the table shows, in two sentences: marks and time at the limit, and how close memory came."""
    limit, timeout = s["limits"]["memory_mb"], s["limits"]["timeout_s"]
    rows = [(a, name, run) for a, row in s["notebooks"].items() for name, run in row.items()]
    failed = sorted({a for a, _, run in rows if run["full_marks"] < run["n"]})
    late = sorted({a for a, _, run in rows if run["within_timeout"] < run["n"]})
    runs = sum(run["n"] for _, _, run in rows)
    full = sum(run["peak_mb"]["max"] >= limit - 1 for _, _, run in rows)  # reached in some run
    anon = max(rows, key=lambda r: r[2]["anon_peak_mb"]["max"])
    text = (
        f"Every notebook got full marks in every run at {limit} MB"
        if not failed
        else f"Not every notebook got full marks in every run at {limit} MB: {', '.join(failed)}"
    )
    text += f" and finished within {timeout} s" if not late else f"; over {timeout} s: {', '.join(late)}"
    return (
        text + f" ({runs} runs). The container reached its {limit} MB limit in {full} of "
        f"{len(rows)} notebook and quota pairs: the page cache takes what the processes leave, and "
        "gives it back under pressure. The most that could not be given back (anonymous and shared "
        f"memory: no swap) was {anon[2]['anon_peak_mb']['max']:.0f} MB ({anon[0]}, {anon[1]}), "
        f"{limit - anon[2]['anon_peak_mb']['max']:.0f} MB below the limit."
    )


def render_gradescope(s: dict) -> list[str]:
    limits_ = s["limits"]
    limit, timeout = limits_["memory_mb"], limits_["timeout_s"]
    names = [f"{cpus:g} CPU" for cpus in limits_["cpus"]]
    lines = [
        f"### Gradescope's default container: {limit} MB",
        "",
        "Each worked solution graded by the Gradescope entry point (as `run_autograder` calls it, "
        f"with the export's default settings) in a fresh cgroup of {limit} MB without swap, at a CPU "
        f"quota of {' and of '.join(names)}, without bubblewrap (refused its namespaces, as in "
        "Gradescope's containers): the container is the boundary, and one fork server, one TensorFlow, "
        "forks both the learner's kernel and the checker kernel. Before each run the page cache of "
        "the installed packages and of MNIST is dropped, so that the run reads them again and they are "
        "charged to it, as in a new container. *Peak MB* is the cgroup's (`memory.max_usage_in_bytes`, "
        "cgroup v1's `memory.peak`: everything charged to the container, page cache included); "
        "*anonymous MB* the largest anonymous and shared memory charged to it at one sample (every "
        f"{s['sample_s']:g} s), the part that must fit; *re-read* the pages read back from disk after "
        "the limit pushed them out (major faults). Gradescope stops a submission after "
        f"{timeout} s by default. Median (range):",
        "",
        f"| notebook | CPU | score | full marks | peak MB | anonymous MB | re-read | CPU s | seconds | within {timeout} s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for assignment, row in s["notebooks"].items():
        for name in names:
            run = row[name]
            kills = f" ({run['oom_kills']} out-of-memory kills)" if run["oom_kills"] else ""
            score = f"{run['score']['median']:g} of {run['max_score']:g}"
            lines.append(
                f"| {assignment} | {name} | {score} | {run['full_marks']} of {run['n']}{kills} "
                f"| {_range(run['peak_mb'], digits=0)} | {_range(run['anon_peak_mb'], digits=0)} "
                f"| {run['major_faults']['median']:.0f} "
                f"| {_range(run['cpu_s']) if 'cpu_s' in run else '-'} | {_range(run['seconds'])} "
                f"| {run['within_timeout']} of {run['n']} |"
            )
    lines += ["", verdict(s), ""]
    timed = [(a, name, cpus, row[name]) for a, row in s["notebooks"].items()
             for name, cpus in zip(names, limits_["cpus"], strict=True) if "cpu_s" in row[name]]  # fmt: skip
    if timed:
        held = sum(run["throttled"] for *_, run in timed)
        slowest = max(timed, key=lambda t: t[3]["cpu_s"]["max"] / t[2])
        lines += [
            "*CPU s* is the CPU time of the entry point and every process it waited for. The quota held "
            f"the container back (`cpu.stat`'s `nr_throttled`) in {held} of "
            f"{sum(run['n'] for *_, run in timed)} runs: where it did not, the other work on the machine "
            "gave the run less than its quota, and *seconds* measure the machine's load more than the "
            "quota. On a host of its own a run takes at least its CPU time divided by its quota: at most "
            f"{slowest[3]['cpu_s']['max'] / slowest[2]:.0f} s here ({slowest[0]}, {slowest[1]}), against "
            f"Gradescope's {timeout} s.",
            "",
        ]
    roles = [
        r
        for r in ROLES
        if any(r in run["per_process"] for row in s["notebooks"].values() for run in row.values())
    ]
    if roles:
        lines += [
            "Where the memory goes: each process's peak in MB, resident (`VmHWM`) / anonymous "
            "(`RssAnon`, sampled), the largest over both quotas and the runs. A kernel forked from the "
            "fork server shares the server's TensorFlow until it writes to it, so its resident and "
            "anonymous figures count those shared pages again; *kernel* is the larger of the learner's "
            "and the checker kernel:",
            "",
            "| notebook | " + " | ".join(roles) + " |",
            "|---|" + "---|" * len(roles),
        ]
        for assignment, row in s["notebooks"].items():
            cells = []
            for r in roles:
                per = [run["per_process"][r] for run in row.values() if r in run["per_process"]]
                cells.append(
                    f"{max(p['rss_mb']['max'] for p in per):.0f} / {max(p['anon_mb']['max'] for p in per):.0f}"
                    if per
                    else "-"
                )
            lines.append(f"| {assignment} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(
        f"Load average at the end: {s['loadavg_1min']:.2f} on {s.get('machine', {}).get('cores', '?')} "
        "cores (other work on the machine: the times are longer than on a machine of its own)."
    )
    if s.get("machine"):
        m = s["machine"]
        lines[-1] += f" Measured on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, on {m['date']}."
    lines.append("")
    return lines
