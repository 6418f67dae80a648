"""Memory a learner's kernel uses outside its data segment still counts (issue 24, class 4).

``RLIMIT_DATA`` caps a kernel's heap, but not pages of a ``memfd`` (or ``/dev/shm``) written with
``os.write`` or mapped. The grading sandbox runs in a memory cgroup when one can be made, which counts every
page; past it the kernel (which asks the OOM killer to choose it first) is ended, the cell records
why, and the notebook goes on in a new kernel.
"""

from __future__ import annotations

import re

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mnistlib.grading import sandbox as grading_sandbox
from mnistlib.grading.preprocessors import GradingExecute

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        grading_sandbox.problem() is not None, reason=f"no bwrap: {grading_sandbox.problem()}"
    ),
]

MEMFD = (  # memfds of 250 MB: one file may hold at most limits.MAX_FILE_MB (RLIMIT_FSIZE)
    "import os\n"
    "chunk = b'1' * 2**20\n"
    "for _ in range(12):\n"
    "    fd = os.memfd_create('hoard')\n"
    "    for _ in range(250):\n"
    "        os.write(fd, chunk)\n"
    "print('kept 3000 MB in memfds')\n"
)


def _can_make_a_memory_cgroup() -> bool:
    group = grading_sandbox._memory_cgroup("mnistlib-probe-memory", 64)
    if group is None:
        return False
    group.rmdir()
    return True


@pytest.mark.skipif(not _can_make_a_memory_cgroup(), reason="no memory cgroup can be made here")
def test_a_memfd_past_the_cap_ends_the_kernel_not_the_grading(tmp_path):
    nb = new_notebook(
        cells=[new_code_cell("print('first')"), new_code_cell(MEMFD), new_code_cell("print('on')")]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = GradingExecute(timeout=120, memory_mb=512)
    out, _ = executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    texts = [
        "".join(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream") for c in out.cells
    ]
    errors = [[o.get("ename") for o in c.outputs if o.get("output_type") == "error"] for c in out.cells]
    assert "kept 3000 MB" not in texts[1]
    assert errors[1] == ["KernelDied"], out.cells[1].outputs
    assert texts[2] == "on\n" and errors[2] == []


MAPPED = (
    "import mmap, os, resource\n"
    "print('address space cap MB:', resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20)\n"
    "held = []\n"
    "for i in range(24):\n"
    "    fd = os.memfd_create(f'hoard{i}')\n"
    "    os.ftruncate(fd, 2**28)\n"
    "    m = mmap.mmap(fd, 2**28)\n"
    "    m.write(b'1' * 2**28)\n"
    "    held.append(m)\n"
    "    print(f'hoard: {256 * len(held)} MB', flush=True)\n"
)
KERAS_FIT = (
    "import keras\n"
    "from mnistlib import data\n"
    "(x, y), _ = data.load_mnist()\n"
    "model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), "
    "keras.layers.Dense(128, activation='relu'), keras.layers.Dense(10, activation='softmax')])\n"
    "model.compile('adam', 'sparse_categorical_crossentropy', metrics=['accuracy'])\n"
    "model.fit(x[:6000] / 255.0, y[:6000], epochs=1, batch_size=128, verbose=0)\n"
    "print('trained under the cap')\n"
)


def test_without_a_memory_cgroup_a_mapped_memfd_counts_and_keras_still_trains(
    tmp_path, monkeypatch, mnist_idx_dir
):
    """Where no memory cgroup can be made, the kernel's address space is capped (RLIMIT_AS at
    memory_mb + ADDRESS_SPACE_EXTRA_MB): a Keras network trains under it, memfds mapped and filled
    then stop at the cap with an error in their cell, and the kernel lives on."""
    from mnistlib.grading import limits

    monkeypatch.setattr(grading_sandbox, "_memory_cgroup", lambda name, megabytes: None)
    monkeypatch.setenv("MNISTLIB_DATA", str(mnist_idx_dir))
    grading_sandbox.close_current()  # a sandbox made before (with a cgroup) is not this case
    nb = new_notebook(cells=[new_code_cell(KERAS_FIT), new_code_cell(MAPPED), new_code_cell("print('on')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = GradingExecute(timeout=300, memory_mb=1024)
    try:
        out, _ = executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    finally:
        grading_sandbox.close_current()
    texts = [
        "".join(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream") for c in out.cells
    ]
    errors = [[o.get("ename") for o in c.outputs if o.get("output_type") == "error"] for c in out.cells]
    cap = limits.address_space_mb(1024)
    assert "trained under the cap" in texts[0] and errors[0] == [], out.cells[0].outputs
    assert f"address space cap MB: {cap}" in texts[1], texts[1]
    held = [int(n) for n in re.findall(r"hoard: (\d+) MB", texts[1])]
    assert max(held, default=0) < cap and "hoard: 6144 MB" not in texts[1], held
    assert errors[1] and errors[1][0] in ("OSError", "MemoryError"), out.cells[1].outputs
    assert texts[2] == "on\n" and errors[2] == [], out.cells[2].outputs
