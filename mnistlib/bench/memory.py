"""Peak memory and wall time of a notebook, measured the way Binder would feel it.

:func:`run_notebook_measured` executes a notebook with nbclient in a fresh
``python3`` kernel and samples the resident set size (RSS) of the kernel
process and all its children every ``interval`` seconds with psutil. The peak
of that sum is what matters on Binder, whose pods are killed above 2 GB; the
course's budget is 1.5 GB per notebook, full data, full epochs.

RSS counts pages shared between processes once per process, so the sum over a
kernel and its children slightly overstates the truth: a safe-side number.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from ..notebook import MALLOC_ARENAS

MB = 2**20

#: What ``binder/start`` exports before Jupyter starts, so kernels measured here run as on Binder.
#: (``MALLOC_ARENA_MAX=2``: see :func:`mnistlib.notebook.limit_malloc_arenas`.)
BINDER_ENVIRONMENT = {"MALLOC_ARENA_MAX": str(MALLOC_ARENAS)}


class RSSSampler:
    """Samples the RSS of a process and its children (recursively) in a background thread.

    ``peak_bytes`` is the largest sum seen; ``samples`` how many samples were taken.
    Use as a context manager around the work, after the process exists.
    """

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid = pid
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-sampler-{pid}", daemon=True)

    def rss_now(self) -> int:
        """Bytes resident now in the process and its living children (0 once it has exited)."""
        import psutil

        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in processes:
            with contextlib.suppress(psutil.Error):  # a child may exit between listing and reading
                total += process.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self.rss_now())
            self.samples += 1
            self._stop.wait(self.interval)

    def start(self) -> RSSSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> RSSSampler:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB


@contextlib.contextmanager
def _environment(changes: dict[str, str | None]):
    """Set (value) or unset (None) environment variables for the duration of the block."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def high_water_mark_bytes(pid: int) -> int:
    """The kernel's own peak RSS so far (Linux ``VmHWM``), exact between samples; 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _kernel_pid(client) -> int:
    """The operating-system pid of the kernel an nbclient client has started."""
    provisioner = getattr(client.km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    if process is not None:
        return process.pid
    pid = getattr(provisioner, "pid", None)
    if pid is None:
        raise RuntimeError("cannot find the kernel's process id (not a local kernel?)")
    return pid


def run_notebook_measured(
    path: os.PathLike | str,
    *,
    quick: bool,
    workdir: os.PathLike | str | None = None,
    timeout: int = 1800,
    interval: float = 0.1,
    kernel_name: str = "python3",
) -> dict:
    """Execute the notebook at ``path``; return its wall time and peak kernel memory.

    ``quick`` sets ``MNISTLIB_QUICK`` to 1 or 0 for the kernel (0 means full data, even
    under nbgrader); the kernel also gets :data:`BINDER_ENVIRONMENT`, as on Binder. The
    kernel runs in ``workdir`` (default: the notebook's folder); the notebook file itself
    is not changed. ``timeout`` is seconds per cell.

    Returns ``{"seconds": wall time in s (kernel start to last cell), "peak_mb": peak RSS of
    the kernel and its children in MiB (the larger of the sampled sum and the kernel's own
    ``VmHWM`` read after every cell, which catches spikes between samples), "cells": code cells executed, "samples": samples taken}``.
    A cell error raises nbclient's ``CellExecutionError`` (after the kernel is shut down).
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    workdir = Path(workdir) if workdir is not None else path.parent
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(workdir)}},
    )
    sampler: RSSSampler | None = None
    high_water = 0

    def start_sampling(**_):
        nonlocal sampler
        sampler = RSSSampler(_kernel_pid(client), interval=interval).start()

    def read_high_water(**_):
        nonlocal high_water
        if sampler is not None:
            high_water = max(high_water, high_water_mark_bytes(sampler.pid))

    client.on_notebook_start = start_sampling
    client.on_cell_executed = read_high_water
    started = time.perf_counter()
    try:
        changes = {
            "MNISTLIB_QUICK": "1" if quick else "0",
            "TF_CPP_MIN_LOG_LEVEL": None,
            **BINDER_ENVIRONMENT,
        }
        with _environment(changes):
            client.execute()
    finally:
        if sampler is not None:
            sampler.stop()
    seconds = time.perf_counter() - started
    peak = max(sampler.peak_bytes if sampler else 0, high_water)
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(peak / MB, 1),
        "cells": sum(cell.cell_type == "code" for cell in notebook.cells),
        "samples": sampler.samples if sampler else 0,
    }
