"""How many threads a process should compute with: the CPUs it really has, not the machine's.

NumPy's BLAS (OpenBLAS), OpenMP and TensorFlow size their thread pools by the machine's cores
(``os.cpu_count()``). Binder, JupyterHub and Kubernetes give a notebook a *CPU quota* (a cgroup
limit, say half a CPU) on a machine with many cores, and grading with ``--jobs 2`` runs two
kernels on two cores: each library then starts more threads than there are CPUs to run them,
and threads that wait for each other at every matrix product wait for CPU time they will not
get. Measured in docs/benchmarks.md ("Threads on shared and CPU-limited machines").

:func:`budget` decides, in this one place, how many threads a process gets:

* the CPUs it may run on (its affinity, ``os.sched_getaffinity``),
* its cgroup's CPU quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``,
  the tightest along the path to the root), rounded to whole CPUs, at least 1,
* when grading runs several kernels at once (``MNISTLIB_JOBS``, set by ``mnistlib grade``),
  that number of CPUs shared among them (at least 1 each),

whichever is smallest. :func:`apply` sets the BLAS and OpenMP pools (through ``threadpoolctl``)
and TensorFlow's intra- and inter-op pools to it. It runs in :func:`mnistlib.setup_notebook`, in
every grading kernel (:mod:`mnistlib.grading.forkserver`) and in ``mnistlib bench``.

A learner can choose: the environment variable ``MNISTLIB_THREADS`` set to a whole number uses
that many threads, ``off`` leaves every library at its own default (as before this module), and
``auto`` (or unset) lets :func:`budget` decide.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

#: The learner's choice: a whole number of threads, "auto" (the default) or "off".
THREADS_ENV = "MNISTLIB_THREADS"
#: Kernels that grading runs at once (``mnistlib grade --jobs``); each gets its share of the CPUs.
JOBS_ENV = "MNISTLIB_JOBS"
#: TensorFlow's pool sizes, read when its runtime starts (in processes started later, e.g. kernels).
TF_THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@dataclass(frozen=True)
class Budget:
    """The threads a process computes with (``None``: leave the libraries' defaults) and why."""

    threads: int | None
    reason: str
    affinity: int
    quota: float | None
    jobs: int

    def __str__(self) -> str:
        return f"{self.threads} thread(s): {self.reason}" if self.threads else self.reason


# ----------------------------------------------------------------------------- the facts


def affinity_cpus() -> int:
    """The CPUs this process may run on (``os.cpu_count()`` where affinity is unknown)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def _quota_v2(folder: Path) -> float | None:
    try:
        limit, period = (folder / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if limit == "max" else int(limit) / int(period)


def _quota_v1(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def _mounts(mountinfo: str) -> list[tuple[str, Path, str, set[str]]]:
    """Cgroup mounts in ``/proc/self/mountinfo``: (root inside the hierarchy, mount point, "cgroup" or
    "cgroup2", the v1 controllers it carries)."""
    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        after = line.split(" - ", 1)[1].split()
        if len(after) < 3 or after[0] not in ("cgroup", "cgroup2"):
            continue
        found.append((fields[3], Path(fields[4].replace("\\040", " ")), after[0], set(after[2].split(","))))
    return found


def cgroup_quota(proc: Path = Path("/proc/self")) -> float | None:
    """The tightest CPU quota (in CPUs, e.g. 0.5) on this process's cgroup and its ancestors, cgroup
    v2 or v1, or None when there is none (or no cgroups: not Linux).

    Read from ``proc``'s ``cgroup`` (the process's cgroup in each hierarchy) and ``mountinfo`` (where
    each hierarchy is mounted); tests pass a folder of their own with these two files.
    """
    try:
        membership = (proc / "cgroup").read_text()
        mountinfo = (proc / "mountinfo").read_text()
    except OSError:
        return None
    paths_v1: dict[str, str] = {}
    path_v2 = None
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            path_v2 = parts[2]
        for controller in parts[1].split(","):
            paths_v1[controller] = parts[2]
    quotas = []
    for root, mountpoint, kind, options in _mounts(mountinfo):
        if kind == "cgroup2" and path_v2 is not None:
            path, read = path_v2, _quota_v2
        elif kind == "cgroup" and "cpu" in options and "cpu" in paths_v1:
            path, read = paths_v1["cpu"], _quota_v1
        else:
            continue
        # The process's cgroup as seen in this mount (in a container the mount's root is its own cgroup).
        inside = path == root or path.startswith(root.rstrip("/") + "/")
        relative = os.path.relpath(path, root) if inside else "."
        folder = mountpoint / relative if relative != "." else mountpoint
        if ".." in Path(relative).parts or not folder.is_dir():
            folder = mountpoint
        while True:  # a quota on any ancestor limits this cgroup too
            quota = read(folder)
            if quota is not None:
                quotas.append(quota)
            if folder == mountpoint or folder == folder.parent:
                break
            folder = folder.parent
    return min(quotas) if quotas else None


def quota_cpus(quota: float) -> int:
    """A quota in whole CPUs: rounded to the nearest (1.5 -> 2), at least 1 (0.5 -> 1)."""
    return max(1, math.floor(quota + 0.5))


# ----------------------------------------------------------------------------- the decision


def budget(
    jobs: int | None = None,
    *,
    environ=None,
    affinity: int | None = None,
    quota: float | None | bool = True,
) -> Budget:
    """How many threads this process should use (see the module's description).

    ``jobs``: kernels running at once (default ``$MNISTLIB_JOBS``, else 1). ``affinity`` and
    ``quota`` default to this process's (``quota=None``: no quota); ``environ`` to ``os.environ``.
    A value of ``MNISTLIB_THREADS`` that is neither a whole number above 0, ``auto`` nor ``off``
    gets a warning and is ignored.
    """
    environ = os.environ if environ is None else environ
    affinity = affinity_cpus() if affinity is None else affinity
    quota = cgroup_quota() if quota is True else quota
    if jobs is None:
        try:
            jobs = max(1, int(environ.get(JOBS_ENV) or 1))
        except ValueError:
            jobs = 1
    facts = {"affinity": affinity, "quota": quota, "jobs": jobs}
    choice = (environ.get(THREADS_ENV) or "auto").strip().lower()
    if choice == "off":
        return Budget(None, f"{THREADS_ENV}=off: each library keeps its own default", **facts)
    if choice != "auto":
        if choice.isdigit() and int(choice) > 0:
            return Budget(int(choice), f"{THREADS_ENV}={choice}", **facts)
        warnings.warn(
            f"{THREADS_ENV}={environ.get(THREADS_ENV)!r} is not a number of threads: use a whole "
            "number such as 1 or 2, 'auto' (the CPUs this process has) or 'off' (each library's "
            "default). Using 'auto'.",
            stacklevel=2,
        )
    limits = {f"{affinity} CPU(s) to run on": affinity}
    if quota is not None:
        limits[f"a cgroup CPU quota of {quota:g} CPU"] = quota_cpus(quota)
    cpus = min(limits.values())
    if jobs > 1:
        limits[f"{cpus} CPU(s) shared by {jobs} grading kernels"] = max(1, cpus // jobs)
    reason = min(limits, key=limits.get)
    return Budget(limits[reason], reason, **facts)


_applied: dict = {}


def apply(jobs: int | None = None) -> Budget:
    """Size this process's BLAS, OpenMP and TensorFlow thread pools to :func:`budget`; return it.

    BLAS and OpenMP pools are resized now (``threadpoolctl``), also when already started.
    TensorFlow's pools are sized when its runtime starts: before that (TensorFlow not imported, or
    imported but no op run yet, as in a kernel forked from the grading fork server) this sets them;
    after that they stay as they are (:func:`applied` says so). Calling it again is harmless.
    """
    chosen = budget(jobs)
    _applied.clear()
    _applied["budget"] = chosen
    if chosen.threads is None:
        return chosen
    from threadpoolctl import threadpool_limits

    threadpool_limits(chosen.threads)  # process-wide and lasting (not a context manager here)
    _applied["blas"] = chosen.threads
    tf = sys.modules.get("tensorflow")
    if tf is None:  # TensorFlow reads these when its runtime starts
        for variable in TF_THREAD_VARIABLES:
            os.environ.setdefault(variable, str(chosen.threads))
        _applied["tensorflow"] = chosen.threads
        return chosen
    threading = tf.config.threading
    pools = {
        "TF_NUM_INTRAOP_THREADS": (threading.get_intra_op_parallelism_threads, threading.set_intra_op_parallelism_threads),
        "TF_NUM_INTEROP_THREADS": (threading.get_inter_op_parallelism_threads, threading.set_inter_op_parallelism_threads),
    }  # fmt: skip
    _applied["tensorflow"] = chosen.threads
    for variable, (get, set_) in pools.items():
        if os.environ.get(variable):  # set before the process started (e.g. by grading): TensorFlow reads it
            continue
        try:
            if get() != chosen.threads:
                set_(chosen.threads)
        except RuntimeError:  # the runtime has started: its pools keep their size
            _applied["tensorflow"] = None
    return chosen


def applied() -> dict:
    """What the last :func:`apply` did: its ``budget``, the ``blas`` limit and the ``tensorflow``
    pool size it set (None: TensorFlow had started before it)."""
    return dict(_applied)


def describe() -> str:
    """One line for learners: the threads in use and why, and how to choose otherwise."""
    chosen = _applied.get("budget") or budget()
    return (
        f"Computing with {chosen}. Set {THREADS_ENV} (a number, or 'off') before starting Jupyter to choose."
    )
