"""How much memory a notebook's kernel took while it was graded, for the class report.

After the notebook's last cell, :class:`~mnistlib.grading.preprocessors.GradingExecute` asks the
learner's kernel for its peak resident memory (``getrusage(RUSAGE_SELF).ru_maxrss``) through the
execute request's ``user_expressions``, and keeps it in the autograded notebook's metadata
(:data:`METADATA`); the value a submission carried there is dropped first. The kernel runs the
learner's code, so the figure is what the kernel *reported*: good for spotting a notebook that needs
far more memory than the others, never used to grade. A kernel restarted after a crash reports its
own peak since the restart.
"""

from __future__ import annotations

import sys

#: ``notebook.metadata[METADATA]["kernel_peak_mb"]`` in the autograded notebook.
METADATA = "mnistlib_usage"
#: Evaluated in the learner's kernel: its peak resident set size (KiB on Linux, bytes on macOS).
PEAK_EXPRESSION = "__import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss"
#: Larger figures are not believed (a kernel over 1 TB was not graded here).
MAX_MB = 1024 * 1024


def peak_mb(reply: dict | None, platform: str = sys.platform) -> float | None:
    """The peak in MB from an execute reply with ``user_expressions={"peak": PEAK_EXPRESSION}``."""
    try:
        found = reply["content"]["user_expressions"]["peak"]
        value = int(str(found["data"]["text/plain"]).strip())
    except (KeyError, TypeError, ValueError):
        return None
    megabytes = value / (1024 * 1024) if platform == "darwin" else value / 1024
    return round(megabytes, 1) if 0 < megabytes <= MAX_MB else None


def of_notebook(executed) -> float | None:
    """The peak the autograded notebook's kernel reported, in MB, or None."""
    meta = (executed.get("metadata", {}) if executed is not None else {}).get(METADATA) or {}
    value = meta.get("kernel_peak_mb")
    return float(value) if isinstance(value, int | float) and 0 < value <= MAX_MB else None
