"""Warm grading kernels: fork each one from a process that has already imported TensorFlow.

    python -m mnistlib.grading.forkserver SOCKET PARENT_PID [IDLE_EXIT_S]

Importing TensorFlow takes seconds of CPU, and every notebook graded needs a
fresh kernel that pays it again: most of the time spent grading the early
notebooks (docs/benchmarks.md, Notes). The fork server pays it once. It
imports TensorFlow, Keras, NumPy, matplotlib, ipykernel and mnistlib (without
running anything that starts threads), listens on a Unix socket, and for each
kernel asked for it forks a child that becomes that kernel: a separate
process with its own memory, working directory, environment and limits,
starting in a small fraction of that time.

How a kernel is asked for: nbgrader (through jupyter_client) starts the
kernelspec's command, ``python -m mnistlib.grading.kernel --forkserver SOCKET
...`` (see :mod:`mnistlib.grading.kernel`). That small *launcher* process
sends the server its command-line arguments, working directory, environment,
limits, process id and its stdin/stdout/stderr, then stands in for the kernel:

* signals jupyter_client sends it (interrupt, terminate) are passed on to the kernel,
  through the server (the kernel's pid may be in another PID namespace);
* it exits when the kernel exits, with the kernel's exit status;
* when the launcher dies (even by ``SIGKILL``), the server sees its connection
  close and kills the kernel; when the server dies, its kernels die too.

In a grading sandbox (:mod:`mnistlib.grading.sandbox`) the server runs inside
bubblewrap, imports TensorFlow only when asked to, and each kernel works on a
copy of its folder in a tmpfs of its own, in user, PID, IPC and mount namespaces
of its own (:mod:`mnistlib.grading.isolation`), so that everything it started
ends with it and nothing it left is seen by the next learner's kernel.

When no server answers on the socket, the launcher starts an ordinary kernel
itself: the fork server only ever saves time, it is never needed.

The server exits when the process that started it (``PARENT_PID``) exits, or
after ``IDLE_EXIT_S`` seconds (default 120) with no kernel running.
:func:`shared_server` starts one per grading process, on first use, and a new
one if the last has exited.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import gc
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from ..notebook import MALLOC_ARENAS, silenced_stderr
from . import inside, isolation
from .kernel import (
    REQUEST_HEADER,
    as_unprivileged_user,
    prctl_death_signal,
    run_kernel,
    stand_in,
)
from .regions import is_test_cell

#: Whether kernels can be forked here: the server watches processes through Linux's pidfds.
SUPPORTED = sys.platform.startswith("linux")

#: Environment variable naming the socket of a running fork server, for the grading processes to share.
FORKSERVER_ENV = "MNISTLIB_FORKSERVER"

#: Modules imported once by the server, so that kernels forked from it start with them loaded: the
#: libraries and the kernel's own start-up imports (ipykernel's debugger alone pulls in debugpy).
#: :func:`preload` adds every mnistlib module a course notebook's own cells import. None of them
#: starts a thread when imported (TensorFlow starts its thread pools at the first op). Never
#: ``mnistlib.checks``: it holds the reference implementations (the answer key), and a learner's
#: kernel forked from here would have them in memory; the test cells that import the checks run in
#: the checker kernel, which imports them in about 0.1 s.
PRELOAD = (
    "numpy",
    "tensorflow",
    "keras",
    "matplotlib",
    "matplotlib.backends.backend_agg",
    "matplotlib_inline.backend_inline",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",
    "ipywidgets",
    "sqlite3",
    "mnistlib",
)

#: mnistlib modules outside ``plots`` and ``checks`` that the notebooks import.
NOTEBOOK_EXTRAS = (
    "mnistlib.data",
    "mnistlib.widgets",
    "mnistlib.progress",  # the "you are here" map cells
    "mnistlib.hints",  # a failing check's further hints
    "mnistlib.prerequisites",  # mnistlib.needs() in cells after an exercise
    "mnistlib.grading.bridge",  # answers the checker's calls to the learner's functions
)


#: The answer key: what no learner's kernel may have loaded (see :data:`PRELOAD`).
ANSWER_KEY_MODULES = "mnistlib.checks"


def notebook_modules() -> list[str]:
    """The mnistlib modules course notebooks' own cells import: data, widgets, ``plots`` and its
    modules. Not ``checks`` (:data:`PRELOAD` says why)."""
    import pkgutil

    from .. import plots

    names = [*NOTEBOOK_EXTRAS, "mnistlib.plots"]
    names += [m.name for m in pkgutil.iter_modules(plots.__path__, "mnistlib.plots.")]
    return sorted(names)


#: Environment variable: "0" when the server should not import TensorFlow and Keras (notebooks without them).
KERAS_ENV = "MNISTLIB_FORKSERVER_KERAS"

#: A line of code importing Keras or TensorFlow, or the checks' Keras helpers (``from ._keras import``).
_KERAS_IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:keras|tensorflow|\._keras)\b", re.MULTILINE)
#: A checks module a test cell names: ``mnistlib.checks.reshaping`` gives "reshaping".
_CHECKS_MODULE = re.compile(r"\bmnistlib\.checks\.(\w+)")


@functools.cache
def _checks_module_uses_keras(topic: str) -> bool:
    """Whether ``mnistlib.checks.<topic>`` imports Keras (read from its file; nothing is imported)."""
    source = resources.files(__package__.rpartition(".")[0]).joinpath("checks", f"{topic}.py")
    try:
        return bool(_KERAS_IMPORT.search(source.read_text(encoding="utf-8")))
    except OSError:  # not a module of its own: say yes, the safe side (preloading only costs time)
        return True


def checks_need_keras(nb) -> bool:
    """Whether the test cells of notebook ``nb`` want TensorFlow and Keras in their checker kernel.

    They do when the cells import either, or import a module of :mod:`mnistlib.checks` that does. A
    checker forked from a server without them still works: should a check need Keras after all (a
    learner's function handing back a Keras tensor, say), the checker imports it then, seconds later.
    So a run grading only notebooks whose checks are NumPy code skips one import of TensorFlow:
    seconds of CPU, and that memory, per run.
    """
    cells = nb.get("cells", []) if nb is not None else []
    code = "\n".join("".join(c.get("source", "")) for c in cells if is_test_cell(c))
    if _KERAS_IMPORT.search(code):
        return True
    return any(_checks_module_uses_keras(topic) for topic in set(_CHECKS_MODULE.findall(code)))


# Linux constants (prctl, unshare).
CLONE_NEWUSER, CLONE_NEWPID = 0x10000000, 0x20000000


def without_keras() -> list[str]:
    """The modules to preload for notebooks that use neither TensorFlow nor Keras."""
    return [m for m in (*PRELOAD, *notebook_modules()) if m not in ("tensorflow", "keras")]


#: A server with no kernel running for this long exits, so that a long-lived process that grades now
#: and then (a Jupyter server running nbgrader's formgrader) does not hold TensorFlow's memory for good.
IDLE_EXIT_S = 120.0
#: The idle exit of a server that serves one grading run and ends with it (a day: epoll's limit is ~24 days).
RUN_LONG_S = 86400.0


# ----------------------------------------------------------------------------- the server


def preload(modules: tuple[str, ...] | list[str] | None = None) -> list[str]:
    """Import ``modules`` (default: :data:`PRELOAD` and :func:`notebook_modules`) with TensorFlow's
    start-up notices silenced; return the ones that failed.

    Then freeze everything imported so far out of the garbage collector's reach (:func:`gc.freeze`):
    a kernel's collections would otherwise walk TensorFlow's millions of objects again and again,
    and touching them makes the kernel copy the server's memory pages it shares.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    failed = []
    with silenced_stderr():
        for name in modules if modules is not None else [*PRELOAD, *notebook_modules()]:
            try:
                __import__(name)
            except Exception:  # a missing optional module only means a slower kernel start
                failed.append(name)
    gc.collect()
    gc.freeze()
    return failed


def _receive_request(conn: socket.socket) -> tuple[dict, list[int]]:
    """Read one request: a length header with the launcher's three standard streams, then JSON."""
    header, fds, _flags, _addr = socket.recv_fds(conn, REQUEST_HEADER.size, 3)
    if len(header) != REQUEST_HEADER.size or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ConnectionError("incomplete request")
    (length,) = REQUEST_HEADER.unpack(header)
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise ConnectionError("request cut short")
        body += chunk
    return json.loads(body), fds


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass  # the launcher is gone; its kernel exits by itself


def serve(path: str, parent_pid: int, idle_exit: float = IDLE_EXIT_S) -> None:
    """Listen on the Unix socket ``path`` and fork a kernel per request until ``parent_pid`` exits
    (0: no such watch; a sandboxed server ends with its sandbox), or until no kernel has run for
    ``idle_exit`` seconds."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for nbgrader is not for the server
    if os.environ.get(inside.WORKSPACE_ENV):  # in a sandbox: a limited run folder first
        limited = isolation.limit_run_folder(os.path.dirname(path), inside.RUN_MB)
        Path(os.path.dirname(path), isolation.RUN_LIMIT_FILE).write_text(limited)
        # can each kernel get namespaces of its own?
        found = isolation.probe(os.path.dirname(path))
        Path(os.path.dirname(path), isolation.PROBE_FILE).write_text(found)
        if found == "isolated":
            os.environ[isolation.ISOLATED_ENV] = "1"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)  # launchers may connect while the imports below run; they wait in the backlog
    preload(None if os.environ.get(KERAS_ENV, "1") != "0" else without_keras())
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, ("accept", None))
    server_fds = [listener.fileno(), selector.fileno()]
    if parent_pid:
        try:
            parent = os.pidfd_open(parent_pid)
        except ProcessLookupError:
            return
        selector.register(parent, selectors.EVENT_READ, ("parent", None))
        server_fds.append(parent)
    # For each kernel: its pid, a pidfd to see it exit, and the launcher's connection, which carries
    # the signals to relay and whose end means the launcher is gone.
    kernels: dict[int, dict] = {}
    while True:
        events = selector.select(timeout=None if kernels else idle_exit)
        if not events and not kernels:  # idle: give the memory back (a new server starts on demand)
            listener.close()
            os.unlink(path)
            return
        for key, _ in events:
            what, kernel = key.data
            if kernel is not None and kernel["pid"] not in kernels:
                continue  # this kernel's other event, in the same batch, already dealt with it
            if what == "parent":
                listener.close()
                os.unlink(path)
                return
            if what == "accept":
                conn, _ = listener.accept()
                try:
                    request, fds = _receive_request(conn)
                except (OSError, ValueError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:  # the new kernel: let go of everything that belongs to the server
                    close = [*server_fds, conn.fileno()]
                    for other in kernels.values():
                        close += [other["kernel_fd"], other["conn"].fileno()]
                    _child(request, fds, close=close)  # never returns
                for fd in fds:
                    os.close(fd)
                kernel = {"pid": pid, "conn": conn, "kernel_fd": os.pidfd_open(pid), "buffer": b""}
                kernels[pid] = kernel
                selector.register(kernel["kernel_fd"], selectors.EVENT_READ, ("kernel", kernel))
                selector.register(conn, selectors.EVENT_READ, ("launcher", kernel))
                _send(conn, {"pid": pid})
            elif what == "launcher":  # a signal to relay, or the launcher is gone (even killed)
                try:
                    data = kernel["conn"].recv(4096)
                except OSError:
                    data = b""
                if not data:  # the kernel goes with its launcher, even if it is stuck
                    selector.unregister(kernel["conn"])
                    os.kill(kernel["pid"], signal.SIGKILL)  # not reaped yet: the pid is still this kernel's
                    continue
                kernel["buffer"] += data
                *lines, kernel["buffer"] = kernel["buffer"].split(b"\n")
                for line in lines:
                    with contextlib.suppress(ValueError, KeyError, OSError):
                        os.kill(kernel["pid"], int(json.loads(line)["signal"]))
            else:  # the kernel exited: tell its launcher, which then exits with the same status
                selector.unregister(kernel["kernel_fd"])
                os.close(kernel["kernel_fd"])
                with contextlib.suppress(KeyError, ValueError):
                    selector.unregister(kernel["conn"])
                _, status = os.waitpid(kernel["pid"], 0)
                with contextlib.suppress(OSError):  # what the kernel started (unsandboxed: its group)
                    os.killpg(kernel["pid"], signal.SIGKILL)
                _send(kernel["conn"], {"exit": os.waitstatus_to_exitcode(status)})
                kernel["conn"].close()
                del kernels[kernel["pid"]]


def _enter_workspace(request: dict, argv: list[str], env: dict) -> tuple[str, list[str]]:
    """In a sandbox: copy the notebook's folder (and the connection file) into the private tmpfs.

    Returns the kernel's working directory and its ``argv`` with the copied connection file. The
    kernel runs as an unprivileged user (see :func:`_kernel_namespaces`), so what it may write is
    made writable for everyone: inside its own sandbox that is only the learner.
    """
    import shutil

    workspace = Path(os.environ[inside.WORKSPACE_ENV])
    for key in [k for k in env if inside.SECRET.search(k)] + ["JPY_PARENT_PID", FORKSERVER_ENV]:
        env.pop(key, None)
    env.update({k: os.environ[k] for k in inside.ENV_OVERRIDES if k in os.environ})
    name = f"{Path(request['cwd']).name}-{os.getpid()}"
    cwd = workspace / name
    shutil.copytree(request["files"], cwd, symlinks=True)
    argv = list(argv)
    if "-f" in argv:
        connection = cwd.parent / f"{name}.json"  # deleted with the folder (see stand_in)
        shutil.copyfile(argv[argv.index("-f") + 1], connection)
        argv[argv.index("-f") + 1] = str(connection)
        os.chmod(connection, 0o666)
    for folder, _dirs, files in os.walk(cwd):
        os.chmod(folder, 0o777)
        for file in files:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(folder, file), 0o666)
    return str(cwd), argv


def _kernel_namespaces(workdir: str) -> bool:
    """Put the kernel into its own user and PID namespace: it runs as an unprivileged user, sees
    none of the sandbox's other processes, and everything it starts dies with it.

    Called in the forked child; returns in the kernel (True), or False when the namespaces could
    not be made (then the kernel runs in this process, and the server kills its process group at
    the end). Two processes stay behind, each :func:`stand_in` for the next: this child (in the
    server's namespace; it deletes the kernel's working copy ``workdir`` at the end) and PID 1 of
    the new namespace, a small init whose exit ends the namespace and every process in it. The
    kernel itself is PID 2, so that it can die like any process (a PID 1 ignores even its own
    ``SIGKILL``). Each of them dies when its parent does.
    """
    if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0:
        return False
    _stand_ins(workdir)
    return True


def _isolated_kernel(request: dict, argv: list[str], env: dict) -> tuple[str, list[str]]:
    """In a sandbox that serves several learners: the kernel in namespaces of its own, with new
    empty writable places (:func:`mnistlib.grading.isolation.enter`), working on its copy of the
    notebook's folder there. Returns in the kernel, as :func:`_enter_workspace` does; raises when
    the kernel cannot be isolated (it then never runs)."""
    entered = {}

    def fill_workspace():
        entered["cwd"], entered["argv"] = _enter_workspace(request, argv, env)

    run_dir = isolation.own_run_dir(argv)
    isolation.enter(run_dir, inside.TMPFS_MB, inside.TMP_MB, fill_workspace)
    _stand_ins(entered["cwd"])
    return entered["cwd"], entered["argv"]


def _stand_ins(workdir: str) -> None:
    """Fork twice, each parent a :func:`stand_in` for its child: returns in the grandchild, PID 2
    of the PID namespace just made (see :func:`_kernel_namespaces`)."""
    for cleanup in (workdir, None):
        pid = os.fork()
        if pid:
            stand_in(pid, cleanup)  # never returns
        prctl_death_signal(signal.SIGKILL)


def _child(request: dict, fds: list[int], close: list[int]) -> None:
    """In the forked child: become the kernel the launcher asked for, then exit."""
    code = 1
    try:
        for fd in close:
            os.close(fd)
        os.setsid()  # out of the server's session: signals for the server are not for kernels
        prctl_death_signal(signal.SIGKILL)  # the server gone (even killed), its kernels go too
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        env, argv = dict(request["env"]), list(request["argv"])
        # ipykernel read JPY_PARENT_PID when the server imported it; give it this kernel's value
        parent_handle = int(env.get("JPY_PARENT_PID") or 0)
        cwd, own_namespace = request["cwd"], False
        if os.environ.get(isolation.ISOLATED_ENV) == "1":  # a sandbox serving several learners
            cwd, argv = _isolated_kernel(request, argv, env)
            parent_handle, own_namespace = 1, True
        elif os.environ.get(inside.WORKSPACE_ENV):  # a sandbox for one learner's kernels
            cwd, argv = _enter_workspace(request, argv, env)
            parent_handle = 1  # no parent to poll (the launcher is outside; the server watches it)
            own_namespace = _kernel_namespaces(cwd)
        elif request.get("as_user"):  # no sandbox, as root: the kernel runs as an unprivileged user
            cwd, argv = as_unprivileged_user(cwd, argv, env)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        from .. import cpu

        cpu.apply()  # this kernel's share of the CPUs ($MNISTLIB_JOBS), before TensorFlow starts its pools
        import numpy as np

        np.random.seed()  # fresh entropy, as in a newly started process (Python's random reseeds itself)
        if "matplotlib" in sys.modules:  # imported before this kernel's environment was known
            import matplotlib

            matplotlib.rcParams["backend"] = os.environ.get(
                "MPLBACKEND", "module://matplotlib_inline.backend_inline"
            )
        argv.append(f"--IPKernelApp.parent_handle={parent_handle}")
        sys.argv = [sys.executable, "-m", "mnistlib.grading.kernel", *argv]
        run_kernel(
            argv,
            int(request["memory_mb"]),
            int(request["max_output_kb"]),
            own_namespace,
            int(request.get("address_space_mb") or 0),
        )
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        # Exit without the exit handlers (IPython's history writer, TensorFlow's clean-up): they
        # only tidy a process about to vanish, and cost about half a second per kernel.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# ----------------------------------------------------------------------------- the launcher side


# ----------------------------------------------------------------------------- starting one


class ForkServer:
    """A running fork server (a child process of this one) and its socket."""

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        wait: bool = False,
        timeout: float = 120.0,
        idle_exit: float = IDLE_EXIT_S,
        keras: bool = True,
    ):
        self._tmp = None
        self.keras = keras
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mnistlib-forkserver-")
            directory = self._tmp.name
        self.socket = str(Path(directory) / "kernels.sock")
        env = dict(os.environ)
        env.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env[KERAS_ENV] = "1" if keras else "0"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mnistlib.grading.forkserver",
                self.socket,
                str(os.getpid()),
                str(idle_exit),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if wait:
            self.wait_listening(timeout)

    def wait_listening(self, timeout: float = 120.0) -> None:
        """Wait until the socket exists (launchers may connect from then on)."""
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the grading fork server did not start")
            time.sleep(0.01)

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server (kernels it forked live on until their launchers stop them)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


_shared: ForkServer | None = None


def shared_server(keras: bool = True) -> str:
    """The socket of this process's fork server: the one named by ``$MNISTLIB_FORKSERVER``, or one
    started now (and stopped when this process exits). ``keras``: whether the kernels it will fork want
    TensorFlow and Keras preloaded; a server started without them is replaced by one with them when
    a later notebook does (the old one ends with its last kernel, at its idle exit)."""
    global _shared
    if os.environ.get(FORKSERVER_ENV):
        return os.environ[FORKSERVER_ENV]
    if _shared is None or _shared.process.poll() is not None or (keras and not _shared.keras):
        _shared = ForkServer(wait=True, keras=keras)
        atexit.register(_shared.close)
    return _shared.socket


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 3):
        print("usage: python -m mnistlib.grading.forkserver SOCKET PARENT_PID [IDLE_EXIT_S]", file=sys.stderr)
        return 2
    if os.environ.get(inside.WORKSPACE_ENV):  # in a sandbox: the home its kernels write to
        inside.make_home()
    serve(argv[0], int(argv[1]), float(argv[2]) if len(argv) == 3 else IDLE_EXIT_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
