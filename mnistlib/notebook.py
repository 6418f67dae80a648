"""Set up a course notebook: quiet TensorFlow, readable output.

TensorFlow's C++ core prints notices when it loads (``Could not find cuda
drivers``, ``failed call to cuInit``, oneDNN notes) straight to the process's
standard error, before Python's logging or ``TF_CPP_MIN_LOG_LEVEL`` can stop
all of them. In a notebook they show up as red text that looks like an error
but is not one. :func:`setup_notebook` loads TensorFlow once with that stream
pointed at the null device, so the learner sees only what matters.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def silenced_stderr():
    """Point file descriptor 2 at the null device for the duration of the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def load_tensorflow_quietly():
    """Import TensorFlow and Keras and initialise the CPU device without start-up noise."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with silenced_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery prints the cuInit notice
        tf.constant(0.0) + 1.0  # the first op initialises the runtime
        import keras
    return keras


def setup_notebook(*, quiet: bool = True) -> None:
    """Call once at the top of a course notebook.

    Imports Keras with TensorFlow's start-up notices silenced, turns on inline
    plots, and sets matplotlib's figure size and resolution.
    """
    import matplotlib

    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (6, 4)})
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        # Registers the PNG formatter for Figure objects, so the Figures that mnistlib.plots
        # returns are drawn when they are the last expression of a cell.
        shell.run_line_magic("matplotlib", "inline")
    if quiet:
        load_tensorflow_quietly()
