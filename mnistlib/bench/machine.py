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
