"""The grading limits, defined once: every command, export, kernel and config reads them here.

``mnistlib grade``, the Gradescope and PrairieLearn exports, the limited kernel
(:mod:`mnistlib.grading.kernel`), the nbgrader preprocessor (:class:`GradingExecute
<mnistlib.grading.preprocessors.GradingExecute>`) and the course's ``nbgrader_config.py`` take
their defaults from these names; each can still be set per run (``--timeout``, ``--memory-mb``,
``--max-output-kb``, or the config's ``c.GradingExecute`` traits).
"""

from __future__ import annotations

#: Seconds one cell may run before it is interrupted (and grading goes on with the next cell).
CELL_TIMEOUT_S = 120
#: Memory (data segment, RLIMIT_DATA) one notebook's kernel may use, in MB; 0 for no limit.
MEMORY_MB = 2048
#: Address space (RLIMIT_AS) a kernel may reserve besides MEMORY_MB, in MB, when no memory cgroup can
#: be made (without the sandbox, or where cgroups are not delegated): then a memfd or /dev/shm that
#: a learner maps counts. TensorFlow reserves address space it never touches (thread stacks, arenas):
#: VMPEAK_NOTE measured how much; a correct notebook stays far below.
ADDRESS_SPACE_EXTRA_MB = 6144
#: Largest file a kernel may write (RLIMIT_FSIZE), in MB: a file, or a memfd, past it fails with OSError.
MAX_FILE_MB = 512
#: Output one cell may print before the rest is dropped, in KB; 0 for no limit.
MAX_OUTPUT_KB = 256
#: Output of every kind (text, displays, updates, widget messages) one cell may send the grader, in KB,
#: and how many messages; then the whole notebook's. Counted by the grader, outside the learner's
#: process (GradingExecute.process_message); 0 for no limit.
MAX_CELL_OUTPUT_KB = 4096
MAX_CELL_MESSAGES = 5000
MAX_NOTEBOOK_OUTPUT_KB = 32768
MAX_NOTEBOOK_MESSAGES = 50000


def address_space_mb(memory_mb: int) -> int:
    """The RLIMIT_AS of a kernel whose memory is not held by a cgroup, for ``memory_mb`` (0: none)."""
    return memory_mb + ADDRESS_SPACE_EXTRA_MB if memory_mb > 0 else 0


def add_arguments(parser) -> None:
    """The ``--timeout`` and ``--memory-mb`` options of every command that grades (``mnistlib grade``
    and the exports), with these defaults."""
    parser.add_argument(
        "--timeout",
        type=int,
        default=CELL_TIMEOUT_S,
        help=f"seconds a cell may run before it is stopped (default {CELL_TIMEOUT_S})",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=MEMORY_MB,
        help=f"memory per notebook kernel in MB (default {MEMORY_MB})",
    )
