"""The kernel that runs a learner's notebook while it is graded: ipykernel with limits.

    python -m mnistlib.grading.kernel --memory-mb 2048 --max-output-kb 256 -f CONNECTION_FILE

The course's nbgrader executor (:class:`mnistlib.grading.preprocessors.GradingExecute`)
starts Python kernels with this command instead of a bare ipykernel (it swaps
the ``argv`` of the ``python3`` kernelspec), so ``nbgrader autograde`` and
``mnistlib grade`` both run learners' code under these limits. Before the
kernel starts it

* caps the process's data segment (``RLIMIT_DATA``, in MB): an allocation past
  the cap raises ``MemoryError`` in the learner's cell and the kernel lives on,
  so the rest of the notebook is still graded. Shared memory (a ``memfd`` or
  ``/dev/shm`` mapped) is not data: the grading sandbox's memory cgroup counts it
  when one can be made; otherwise ``--address-space-mb`` caps the whole address
  space (``RLIMIT_AS``), with room for what TensorFlow reserves and never touches
  (:func:`mnistlib.grading.limits.address_space_mb`).
* caps every file it writes (``RLIMIT_FSIZE``, :data:`mnistlib.grading.limits.MAX_FILE_MB`):
  a write past it fails with ``OSError`` (EFBIG), in a memfd too.
* caps what one cell may print (``--max-output-kb`` of stdout + stderr): past the
  cap the cell's further output is dropped and one notice says so, so a print
  loop cannot fill the grader's memory or the feedback.

* limits glibc's malloc to two memory pools (``MALLOC_ARENA_MAX=2``, as on
  Binder; see :func:`mnistlib.notebook.limit_malloc_arenas`), re-starting itself
  once with that variable set, because it only fully works from process start.

With ``--forkserver SOCKET`` this process does not run the kernel itself: it
asks the fork server on SOCKET (:mod:`mnistlib.grading.forkserver`, which has
TensorFlow imported already) to fork one, with the same limits, and stands in
for it until it exits. If no server answers, it starts the kernel as above,
except with ``--inbox FOLDER`` (the server runs in a grading sandbox,
:mod:`mnistlib.grading.sandbox`): then it starts nothing and exits with an error.

The time limit is not here: it is nbgrader's per-cell ``Execute.timeout``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import signal
import socket
import struct
import sys

from ..notebook import MALLOC_ARENAS
from . import limits

OUTPUT_CUT_NOTICE = (
    "[mnistlib grader: this cell printed more than {kb} KB; the rest of its output was dropped]"
)
#: The note the grader itself (:class:`~mnistlib.grading.preprocessors.GradingExecute`) leaves in a
#: cell whose output passed one of its limits, outside the kernel (what was cut, and the limit).
GRADER_CUT_NOTE = (
    "[mnistlib grader: {what} passed the grader's limit of {limit}; the rest of it was dropped, "
    "and is not in the graded notebook or the feedback]"
)


#: What jupyter_client raises when a kernel never answered its first request (or died before it did).
NEVER_ANSWERED = ("Kernel didn't respond", "Kernel died before replying")


def never_answered(error: BaseException | str) -> bool:
    """Whether ``error`` says a kernel never answered at start-up: the machine's failure, not the learner's."""
    return any(words in str(error) for words in NEVER_ANSWERED)


def limited_kernel_argv(
    python: str,
    memory_mb: int,
    max_output_kb: int,
    forkserver: str | None = None,
    inbox: str | None = None,
    as_user: bool = False,
    address_space_mb: int = 0,
) -> list[str]:
    """The kernelspec ``argv`` that starts this launcher with ``python`` and the given limits.

    With ``forkserver`` (a socket path), the kernel is forked from that warm fork server; with
    ``inbox`` too, that server runs in a sandbox (:mod:`mnistlib.grading.sandbox`) whose inbox
    folder this is, and the kernel never runs outside it. With ``as_user`` (no sandbox, as root),
    the kernel runs as an unprivileged user (:mod:`mnistlib.grading.kernel_user`). With
    ``address_space_mb``, its address space is capped too (no memory cgroup holds it).
    """
    argv = [python, "-m", "mnistlib.grading.kernel", "--memory-mb", str(int(memory_mb))]
    if address_space_mb:
        argv += ["--address-space-mb", str(int(address_space_mb))]
    argv += ["--max-output-kb", str(int(max_output_kb))]
    if forkserver:
        argv += ["--forkserver", str(forkserver)]
    if inbox:
        argv += ["--inbox", str(inbox)]
    if as_user:
        argv += ["--as-user"]
    return argv + ["-f", "{connection_file}"]


def _cap(which: int, megabytes: int) -> None:
    """Lower this process's soft and hard limit ``which`` to ``megabytes`` MB (never raise it)."""
    limit = int(megabytes) * 2**20
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(which, (limit, limit))


def limit_memory(memory_mb: int, address_space_mb: int = 0) -> None:
    """Cap the data segment (heap and anonymous mappings) of this process at ``memory_mb`` MB, its
    address space at ``address_space_mb`` MB (0: not capped), every file it writes at
    :data:`~mnistlib.grading.limits.MAX_FILE_MB`, and make it the first process the OOM killer ends
    (before the grader, or a sandbox's server)."""
    try:  # raising one's own score needs no privilege
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past RLIMIT_FSIZE: an OSError, not death
    _cap(resource.RLIMIT_FSIZE, limits.MAX_FILE_MB)
    if memory_mb > 0:
        _cap(resource.RLIMIT_DATA, memory_mb)
    if address_space_mb > 0:
        _cap(resource.RLIMIT_AS, address_space_mb)


class _OutputBudget:
    """Counts the characters a cell writes to stdout + stderr; drops them past the budget."""

    def __init__(self, max_chars: int, kb: int):
        self.max_chars = max_chars
        self.kb = kb
        self.used = 0
        self.cut = False

    def reset(self, *_args) -> None:
        self.used = 0
        self.cut = False

    def wrap(self, stream):
        original_write = stream.write

        def write(text):
            if self.cut:
                return len(text)
            self.used += len(text)
            if self.used > self.max_chars:
                self.cut = True
                keep = max(0, len(text) - (self.used - self.max_chars))
                original_write(text[:keep])
                original_write("\n" + OUTPUT_CUT_NOTICE.format(kb=self.kb) + "\n")
                return len(text)
            return original_write(text)

        stream.write = write


def run_kernel(
    kernel_argv: list[str],
    memory_mb: int,
    max_output_kb: int,
    own_namespace: bool = False,
    address_space_mb: int = 0,
) -> None:
    """Run an ipykernel in this process, under the memory and output limits, until it shuts down.

    ``own_namespace``: this process is in a PID namespace of its own (in a grading sandbox), whose
    processes all die with it, but ``/proc`` shows the sandbox's: ipykernel's search for its child
    processes at shutdown would find the sandbox's and wait for them, so it is skipped.
    """
    limit_memory(memory_mb, address_space_mb)

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    # The grader talks to its kernels with signed messages, over ipc sockets in the sandbox's run folder
    # (TCP on 127.0.0.1 without the sandbox); ipykernel's notice that they are not encrypted would be
    # printed once per notebook into every grading command's output.
    app.log.addFilter(lambda record: "without encryption" not in record.getMessage())
    app.initialize(kernel_argv)
    if own_namespace:
        app.kernel._process_children = list
    if max_output_kb > 0:
        budget = _OutputBudget(max_output_kb * 1024, max_output_kb)
        budget.wrap(sys.stdout)
        budget.wrap(sys.stderr)
        app.shell.events.register("pre_run_cell", budget.reset)
    app.start()


# ----------------------------------------------------------------------------- through a fork server

#: Signals a launcher gets from jupyter_client and passes on to its kernel.
RELAYED_SIGNALS = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


PR_SET_PDEATHSIG = 1


def prctl_death_signal(signum: int) -> None:
    """Have this process get ``signum`` when its parent exits (Linux ``PR_SET_PDEATHSIG``)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signum))


def stand_in(pid: int, workdir: str | None) -> None:
    """Relay the signals this process gets to child ``pid``, reap every child until ``pid`` exits,
    delete ``workdir`` and its connection file, and exit with ``pid``'s status."""

    def relay(signum, _frame):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in RELAYED_SIGNALS:
        signal.signal(signum, relay)
    while True:  # as a namespace's init, also reap the orphans the kernel leaves
        done, status = os.wait()
        if done == pid:
            break
    if workdir:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.remove(f"{workdir}.json")
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def as_unprivileged_user(cwd: str, argv: list[str], env) -> tuple[str, list[str]]:
    """Without a sandbox, as root: prepare the kernel's own folder (:func:`kernel_user.enter`), then
    fork; this process stands in for the kernel (relays signals, deletes the folder at the end,
    exits with its status) and the child returns as the unprivileged user, ready to be the kernel.
    Returns the kernel's working folder and ``argv``; updates ``env`` for it."""
    from . import kernel_user

    cwd, argv, top = kernel_user.enter(cwd, argv, env)
    pid = os.fork()
    if pid:
        stand_in(pid, top)  # never returns
    prctl_death_signal(signal.SIGKILL)
    kernel_user.become()
    return cwd, argv


#: What a launcher sends a fork server first: the length of the JSON request that follows.
REQUEST_HEADER = struct.Struct("!I")


def launch(
    path: str,
    argv: list[str],
    memory_mb: int,
    max_output_kb: int,
    inbox: str | None = None,
    as_user: bool = False,
    address_space_mb: int = 0,
) -> int | None:
    """Have the server at ``path`` fork a kernel; stand in for it; return its exit status.

    Returns None, having started nothing, when no server answers (the caller then starts the
    kernel itself). With ``inbox`` (a sandboxed server's folder for files to hand in), the
    working directory is copied there first: the kernel works on a copy inside its sandbox.
    """
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return None
    files = None
    if inbox:
        import shutil
        import uuid

        files = os.path.join(inbox, f"files-{uuid.uuid4().hex}")
        shutil.copytree(os.getcwd(), files, symlinks=True)
    request = json.dumps(
        {
            "argv": list(argv),
            "cwd": os.getcwd(),
            "files": files,
            "env": dict(os.environ),
            "pid": os.getpid(),
            "memory_mb": int(memory_mb),
            "address_space_mb": int(address_space_mb),
            "max_output_kb": int(max_output_kb),
            "as_user": bool(as_user),
        }
    ).encode()
    stream = conn.makefile("rb")
    try:
        try:
            socket.send_fds(conn, [REQUEST_HEADER.pack(len(request))], [0, 1, 2])
            conn.sendall(request)
            reply = json.loads(stream.readline() or b"{}")
        except (OSError, ValueError):
            reply = {}
        if "pid" not in reply:
            conn.close()
            return None

        # The kernel's pid means nothing here when it runs in another PID namespace: the server,
        # which forked it, sends it the signals jupyter_client sends this process.
        def forward(signum, _frame):
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"signal": int(signum)}).encode() + b"\n")

        for signum in RELAYED_SIGNALS:
            signal.signal(signum, forward)
        try:
            ended = json.loads(stream.readline() or b"{}")
        except (OSError, ValueError):
            ended = {}
        return int(ended.get("exit", 1))
    finally:
        if files:
            import shutil

            shutil.rmtree(files, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mnistlib.grading.kernel", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--memory-mb", type=int, default=limits.MEMORY_MB, help="data segment cap in MB (0: none)"
    )
    parser.add_argument(
        "--address-space-mb",
        type=int,
        default=0,
        help="address space cap in MB (RLIMIT_AS; 0: none), for when no memory cgroup holds the kernel",
    )
    parser.add_argument(
        "--max-output-kb", type=int, default=limits.MAX_OUTPUT_KB, help="output cap per cell in KB (0: none)"
    )
    parser.add_argument(
        "--forkserver",
        metavar="SOCKET",
        help="have the fork server listening on SOCKET fork the kernel (see mnistlib.grading.forkserver)",
    )
    parser.add_argument(
        "--inbox",
        metavar="FOLDER",
        help="the fork server runs in a grading sandbox with this inbox: never start the kernel here",
    )
    parser.add_argument(
        "--as-user",
        action="store_true",
        help="as root: run the kernel as an unprivileged user (see mnistlib.grading.kernel_user)",
    )
    args, kernel_argv = parser.parse_known_args(argv)
    if args.forkserver:
        status = launch(
            args.forkserver,
            kernel_argv,
            args.memory_mb,
            args.max_output_kb,
            args.inbox,
            args.as_user,
            args.address_space_mb,
        )
        if status is not None:
            sys.exit(status)
        if args.inbox:
            sys.exit(
                f"mnistlib grader: the grading sandbox at {args.forkserver} did not answer; no kernel started"
            )
        # no fork server answered: start an ordinary kernel here
    if "MALLOC_ARENA_MAX" not in os.environ and argv is None:
        os.environ["MALLOC_ARENA_MAX"] = str(MALLOC_ARENAS)
        os.execv(sys.executable, [sys.executable, "-m", "mnistlib.grading.kernel", *sys.argv[1:]])
    if args.as_user and os.geteuid() == 0:
        cwd, kernel_argv = as_unprivileged_user(os.getcwd(), kernel_argv, os.environ)
        os.chdir(cwd)
    run_kernel(kernel_argv, args.memory_mb, args.max_output_kb, address_space_mb=args.address_space_mb)


if __name__ == "__main__":
    main()
