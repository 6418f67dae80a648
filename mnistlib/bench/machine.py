"""This machine, as each benchmark report describes it (CPU, cores, memory, library versions)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

import numpy as np


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
    from ..notebook import load_tensorflow_quietly

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


def cpu_ticks() -> dict | None:
    """Cumulative CPU time of the whole machine by state (Linux ``/proc/stat``), or None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    return {name: int(value) for name, value in zip(names, fields, strict=False)}


def machine_load(before: dict | None, after: dict | None) -> dict:
    """What else the machine did while we measured: the load average, and the share of CPU time
    stolen by the hypervisor (a virtual machine's neighbours) between two :func:`cpu_ticks` readings."""
    load = {"loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    if before and after:
        total = sum(after.values()) - sum(before.values())
        if total > 0:
            load["steal"] = (after.get("steal", 0) - before.get("steal", 0)) / total
    return load
