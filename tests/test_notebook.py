"""setup_notebook(): the first cell of every notebook leaves a clean, quiet Keras behind.

TensorFlow's C++ core writes start-up notices (CUDA, cpu_feature_guard/oneDNN, absl) straight to
file descriptor 2, which Jupyter shows as red text. Each check runs in a fresh interpreter,
because those notices appear only on the first import in a process. (Without setup_notebook,
a plain `import keras` in this environment prints them: "Could not find cuda drivers",
"cpu_feature_guard", "absl::InitializeLog"; that control is not repeated here, it costs a
second TensorFlow start-up.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

NOISE = ("cuda", "onednn", "absl", "cpu_feature_guard", "tensorflow binary is optimized")

NOTEBOOK_CELLS = textwrap.dedent(
    """
    import mnistlib
    mnistlib.setup_notebook()

    import keras
    import matplotlib
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64)
    model = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0)
    predicted = model.predict(x[:5], verbose=0).argmax(axis=1)
    print("dpi", matplotlib.rcParams["figure.dpi"], "figsize", list(matplotlib.rcParams["figure.figsize"]))
    print("trained", sorted(history.history), predicted.shape)
    """
)


def run_python(code: str, **env_changes) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as in a fresh Jupyter kernel
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_setup_notebook_then_training_writes_nothing_to_stderr():
    done = run_python(NOTEBOOK_CELLS)
    assert done.returncode == 0, done.stderr
    assert "trained ['accuracy', 'loss', 'val_accuracy', 'val_loss'] (5,)" in done.stdout
    assert "dpi 100.0 figsize [6.0, 4.0]" in done.stdout
    noisy = [word for word in NOISE if word in done.stderr.lower()]
    assert done.stderr == "", f"stderr is not empty (mentions {noisy}):\n{done.stderr}"


ARENA_PROBE = textwrap.dedent(
    """
    import ctypes, sys, threading
    from mnistlib.notebook import limit_malloc_arenas
    if sys.argv[1] == "limit":
        print("limited", limit_malloc_arenas(), flush=True)
    barrier = threading.Barrier(8)
    def work():  # eight threads allocating at once: by default glibc gives each its own arena
        barrier.wait()
        data = [bytearray(1000) for _ in range(1000)]
        barrier.wait()
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctypes.CDLL("libc.so.6").malloc_stats()  # one "Arena N:" block per arena, on stderr
    """
)


def _arenas(mode: str, **env) -> tuple[int, str]:
    run = subprocess.run(
        [sys.executable, "-c", ARENA_PROBE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
        check=True,
    )
    return run.stderr.count("Arena "), run.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc arenas are glibc's (Linux)")
def test_limit_malloc_arenas_keeps_busy_threads_to_two_memory_pools():
    unlimited, _ = _arenas("none", MALLOC_ARENA_MAX=None)
    limited, said = _arenas("limit", MALLOC_ARENA_MAX=None)
    assert unlimited > 2, "the probe should make glibc open an arena per thread"
    assert "limited True" in said and limited == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc arenas are glibc's (Linux)")
def test_limit_malloc_arenas_leaves_an_explicit_malloc_arena_max_alone():
    arenas, said = _arenas("limit", MALLOC_ARENA_MAX="3")
    assert "limited False" in said and arenas == 3


@pytest.mark.slow
def test_figures_are_shown_at_their_own_size_in_a_kernel():
    """In a real kernel, a mnistlib figure comes out as a PNG of exactly figsize x dpi pixels: drawn once,
    not cropped to its content by a second drawing pass (IPython's default, bbox_inches="tight")."""
    import base64
    import struct

    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import mnistlib\nmnistlib.setup_notebook(keras=False)"),
        nbformat.v4.new_code_cell("from mnistlib import plots\nplots.plot_label_counts(list(range(10)))"),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    (output,) = notebook.cells[1].outputs
    png = base64.b64decode(output["data"]["image/png"])
    width, height = struct.unpack(">II", png[16:24])  # the PNG header's IHDR chunk
    assert (width, height) == (500, 280), "plot_label_counts is 5 x 2.8 inches at 100 dpi"
    # ... and also as HTML, the same picture in an <img> whose alt text says what it shows (JupyterLab
    # prefers the HTML; its own rendering of image/png has no alt text for a screen reader to read)
    page = "".join(output["data"]["text/html"])
    assert page.startswith('<img src="data:image/png;base64,') and 'alt="' in page
    assert "".join(output["data"]["image/png"]).strip() in page, "one drawing, used for both"
    alt = page.split('alt="', 1)[1].split('"', 1)[0]
    assert "how many of each digit" in alt and "x axis digit" in alt and "y axis images" in alt, alt
