"""Set up a course notebook: quiet TensorFlow, readable output.

TensorFlow's C++ core prints notices when it loads (``Could not find cuda
drivers``, ``failed call to cuInit``, oneDNN notes) straight to the process's
standard error, before Python's logging or ``TF_CPP_MIN_LOG_LEVEL`` can stop
all of them. In a notebook they show up as red text that looks like an error
but is not one. :func:`setup_notebook` loads TensorFlow once with that stream
pointed at the null device, so the learner sees only what matters.
"""

from __future__ import annotations

import base64
import contextlib
import html
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


#: glibc's ``mallopt`` parameter number for the arena limit (``M_ARENA_MAX`` in malloc.h).
M_ARENA_MAX = -8
#: Malloc arenas allowed once :func:`limit_malloc_arenas` has run (``MALLOC_ARENA_MAX`` overrides it).
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc keep at most ``arenas`` memory pools; return whether the limit was set.

    By default glibc gives every new thread its own pool ("arena", up to 8 per core), and memory
    freed in a pool is rarely handed back to the system. TensorFlow's threads copy slices of the
    training data every epoch, so resident memory creeps up epoch after epoch. Two pools cost no
    speed and save hundreds of MB (measured in docs/benchmarks.md, Notes).

    The limit works fully only when set before a process starts threads: in a Jupyter kernel,
    whose own threads already hold pools, set the environment variable ``MALLOC_ARENA_MAX=2``
    before starting Jupyter (``binder/start``, ``make lab`` and the grading kernel do; notebook
    07 then stays under the 1.5 GB budget).

    Call it before TensorFlow starts its threads (:func:`load_tensorflow_quietly` does).
    Does nothing (returns False) where the C library is not glibc, or when the environment
    variable ``MALLOC_ARENA_MAX`` is set (glibc then applies that value itself).
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):  # musl or another C library: no mallopt, no arenas
        return False


def load_tensorflow_quietly():
    """Import TensorFlow and Keras and initialise the CPU device without start-up noise.

    Also limits malloc's arenas first (see :func:`limit_malloc_arenas`), so that training on the
    full data stays within Binder's memory, and sizes TensorFlow's and BLAS's thread pools to the
    CPUs this process has (:func:`mnistlib.cpu.apply`) before TensorFlow starts them.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    limit_malloc_arenas()
    from . import cpu

    cpu.apply()  # thread pools sized to this process's CPUs, before TensorFlow's runtime starts them
    with silenced_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery prints the cuInit notice
        tf.constant(0.0) + 1.0  # the first op initialises the runtime
        import keras
    return keras


def setup_notebook(*, keras: bool = True) -> None:
    """Call once at the top of a course notebook.

    Turns on inline plots, shown at their own size (not cropped), and sets matplotlib's figure
    size and resolution. With
    ``keras=True`` it also imports Keras now, with TensorFlow's start-up notices
    silenced; notebooks that never use Keras (01, 08) pass ``keras=False`` and
    start a few seconds sooner.

    Either way it sizes the BLAS (NumPy) and TensorFlow thread pools to the CPUs this kernel really
    has (:mod:`mnistlib.cpu`; ``MNISTLIB_THREADS`` overrides).
    """
    import matplotlib

    from . import cpu
    from .plots import LINE_COLORS

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
        # Show each figure at its own size. Every mnistlib figure lays itself out to fit its canvas,
        # so IPython's default of cropping to the drawn content (bbox_inches="tight") only costs a
        # second full drawing pass: a third to a half of the time it takes to show a figure.
        shell.run_line_magic("config", "InlineBackend.print_figure_kwargs = {'bbox_inches': None}")
        show_figures_with_alt_text(shell)
    matplotlib.rcParams["axes.prop_cycle"] = matplotlib.cycler(color=list(LINE_COLORS))
    if keras:
        load_tensorflow_quietly()
    else:
        cpu.apply()


def figure_html(png: bytes | str, alt: str) -> str:
    """An ``<img>`` of the PNG (bytes, or already base64 text) with ``alt`` as its alternative text."""
    data = png if isinstance(png, str) else base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}">'


def show_figures_with_alt_text(shell) -> None:
    """Show every matplotlib Figure as an HTML ``<img>`` whose ``alt`` says what it shows.

    JupyterLab draws an ``image/png`` output as an ``<img>`` without alternative text, so a screen
    reader says only "image". The Figure's display therefore also carries ``text/html`` (which
    JupyterLab prefers): the same PNG in an ``<img alt="...">``, the text from
    :func:`mnistlib.plots.describe_figure`. The PNG is drawn once and used for both; the plain
    ``image/png`` stays in the output for front ends that do not show HTML.
    Call after ``%matplotlib inline`` (which registers the PNG formatter this builds on).
    """
    from matplotlib.figure import Figure

    from .plots import describe_figure

    formatters = shell.display_formatter.formatters
    png_formatter, html_formatter = formatters["image/png"], formatters["text/html"]
    try:
        draw = png_formatter.lookup_by_type(Figure)
    except KeyError:  # no inline backend: leave the display alone
        return
    if getattr(draw, "mnistlib_alt", False):  # already set up (setup_notebook ran twice)
        return
    last: dict[int, bytes] = {}  # text/html is formatted before image/png: draw once, use twice

    def as_html(fig):
        png = draw(fig)
        if not png:
            return None
        last.clear()
        last[id(fig)] = png
        return figure_html(png, describe_figure(fig))

    def as_png(fig):
        png = last.pop(id(fig), None)
        return png if png is not None else draw(fig)

    as_png.mnistlib_alt = True
    html_formatter.for_type(Figure, as_html)
    png_formatter.for_type(Figure, as_png)
