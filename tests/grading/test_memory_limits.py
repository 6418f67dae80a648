"""Memory a learner's kernel uses outside its data segment still counts (issue 24, class 4).

``RLIMIT_DATA`` caps a kernel's heap, but not pages of a ``memfd`` (or ``/dev/shm``) written with
``os.write``. The grading sandbox runs in a memory cgroup when one can be made, which counts every
page; past it the kernel (which asks the OOM killer to choose it first) is ended, the cell records
why, and the notebook goes on in a new kernel.
"""

from __future__ import annotations

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

MEMFD = (
    "import os\n"
    "fd = os.memfd_create('hoard')\n"
    "chunk = b'1' * 2**20\n"
    "for _ in range(3000):\n"
    "    os.write(fd, chunk)\n"
    "print('kept 3000 MB in a memfd')\n"
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
