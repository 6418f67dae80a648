"""A sandbox around every grading kernel: bubblewrap, one per grading process, for every learner.

Learners' notebooks are code the grader runs. Without a sandbox that code has the
grader's access: it could rewrite mnistlib's checks, read the hidden tests in
``course/source`` and ``solutions/``, edit the gradebook, use the network, and
leave processes behind. :class:`GradingExecute <mnistlib.grading.preprocessors.GradingExecute>`
therefore starts each Python kernel in a sandbox made with bubblewrap (``bwrap``,
Debian package ``bubblewrap``): an unprivileged, small, widely packaged tool that
builds Linux namespaces for one command (Flatpak uses it), with no daemon and no
image, so it fits a grading run that forks kernels in a fraction of a second.

Design
------
* One :class:`Sandbox` per grading process (:func:`for_learner`), serving every learner it
  grades, one notebook after the other. It runs a warm fork server
  (:mod:`mnistlib.grading.forkserver`) *inside* bwrap, so every kernel it forks is in the
  sandbox. Each kernel gets namespaces of its own (:mod:`mnistlib.grading.isolation`), so
  nothing one learner's kernel leaves is seen by the next; where that cannot be done, a
  sandbox serves one learner only. The server imports TensorFlow only when the
  notebook uses Keras (:func:`needs_keras`), so NumPy-only notebooks start cheaply.
* Inside bwrap: no network (``--unshare-net``), its own PID namespace, a new session,
  death with the grading process; read-only views of ``/usr``, ``/lib*``,
  ``/bin``, the Python installation, the venv, the ``mnistlib`` package folder only
  (never the repository: ``course/``, ``solutions/`` and the gradebook stay out of
  sight) and the MNIST cache (filled from outside first: no network inside); the answer
  key hidden inside the package (:func:`answer_key_paths`: the checks and an installed
  course's ``source/`` under empty read-only tmpfs); an ``/etc`` of its own with only
  :data:`ETC_KEPT` and short ``passwd``/``group`` files; a private tmpfs of :data:`TMPFS_MB` MB at
  :data:`WORKSPACE` holding HOME, IPython's and matplotlib's folders and a copy of
  each notebook's folder; a small private ``/tmp``. Nothing of the grading user's
  home is visible.
* Two folders per sandbox, at the same path inside and out: ``run/`` (the server's socket, the
  kernels' ``ipc`` sockets and the checker's calls folders) and ``inbox/`` (a host folder,
  read-only inside: connection files, and the copy of the notebook folder the launcher hands
  in). So the grader, and any other client, reach a kernel by its connection file. ``run/`` is
  never the host's disk: a tmpfs of :data:`RUN_MB` MB inside the sandbox, which the fork server
  covers with one limited in files too (:func:`mnistlib.grading.isolation.limit_run_folder`);
  out here ``run`` is a link to it through the server's ``/proc/PID/root``.
* A process limit: a pids cgroup per sandbox (``pids.max`` = :data:`PIDS_MAX`) when
  one can be made, else ``RLIMIT_NPROC`` (which does not bind root; a note says so).
* Per kernel, the forked child enters new user, PID, IPC and mount namespaces (a tiny
  init is its PID 1, the kernel PID 2): the kernel runs as an unprivileged user without
  capabilities, cannot signal the server, sees new empty mounts at the workspace, ``/tmp``
  and ``/dev/shm`` and only its own folder of ``run/``, and every process it started dies
  with the namespace when its notebook ends. The launcher outside relays
  jupyter_client's signals through the server's socket.

The memory cap, output cap (:mod:`mnistlib.grading.kernel`) and per-cell timeout
(nbgrader) apply as before.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import isolation

#: How to get bubblewrap, for the messages.
INSTALL_HINT = "apt install bubblewrap"
# What a process inside the sandbox sees (its workspace, home and environment): mnistlib.grading.inside,
# shared with the fork server and the kernels' namespaces, which run inside.
from .inside import (  # noqa: E402,F401 - part of this module's API too
    ENV_OVERRIDES,
    HOME,
    RUN_MB,
    SANDBOX_ENV,
    SECRET,
    TMP_MB,
    TMPFS_MB,
    WORKSPACE,
    WORKSPACE_ENV,
    make_home,
)

#: Processes (threads count too: TensorFlow starts dozens) one sandbox may have at once.
PIDS_MAX = int(os.environ.get("MNISTLIB_SANDBOX_PIDS_MAX") or 512)


_KERAS = re.compile(r"^\s*(?:import|from)\s+(?:keras|tensorflow)\b", re.MULTILINE)


#: A sandbox's host folder: ``PREFIX`` + random letters in the temporary folder, and the file
#: there naming the process that made it (its pid and start time, which a reused pid does not share).
PREFIX = "mnistlib-sandbox-"
OWNER_FILE = "owner"


def _process_identity(pid: int) -> str | None:
    """``"PID START"`` for a running process (START: its start time in clock ticks), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"  # field 22, counted after the command name


def _cgroup_of(folder: Path) -> Path | None:
    for parent in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if (parent / folder.name / "pids.max").exists():
            return parent / folder.name
    return None


def _end_cgroup(group: Path) -> None:
    """Kill every process left in the pids cgroup ``group``, then remove it."""
    procs = group / "cgroup.procs"
    for _ in range(200):
        pids = procs.read_text().split() if procs.exists() else []
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    try:
        group.rmdir()
    except OSError:
        pass


def sweep_stale() -> list[Path]:
    """Remove the sandboxes whose grading process is gone without closing them (killed outright,
    say): their folders, their cgroups and anything still running there. Returns what it removed.

    A folder whose owner file is missing or unreadable (still being made, another user's) is left.
    """
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = (folder / OWNER_FILE).read_text().split()
        except OSError:
            continue
        if len(owner) != 2 or not owner[0].isdigit() or _process_identity(int(owner[0])) == " ".join(owner):
            continue
        group = _cgroup_of(folder)
        if group is not None:
            _end_cgroup(group)
        if (Path("/sys/fs/cgroup/memory") / folder.name).is_dir():
            _end_cgroup(Path("/sys/fs/cgroup/memory") / folder.name)
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


class SandboxError(RuntimeError):
    """The sandbox could not be made or started."""


@functools.cache
def problem() -> str | None:
    """Why grading sandboxes cannot run here, in a few words; None when they can."""
    if not sys.platform.startswith("linux"):
        return "the grading sandbox needs Linux"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [bwrap, "--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"]
    probe += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap does not run here ({err})"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bwrap does not work here ({last})"
    return None


def remedy(reason: str) -> str:
    """What to do about ``reason`` (from :func:`problem`): install bwrap only when it is missing."""
    if shutil.which("bwrap") is None and sys.platform.startswith("linux"):
        return f"install bubblewrap (`{INSTALL_HINT}`)"
    return "`mnistlib grade --check-sandbox` names the cause and the fix for this machine"


def unavailable_message(reason: str) -> str:
    return (
        f"the grading sandbox cannot run: {reason}; {remedy(reason)}, or grade "
        "without a sandbox (mnistlib grade --no-sandbox; c.GradingExecute.sandbox = False)"
    )


def needs_keras(nb) -> bool:
    """Whether a notebook's code imports Keras or TensorFlow (its kernels then want them preloaded)."""
    cells = nb.get("cells", []) if nb is not None else []
    code = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
    return bool(_KERAS.search(code))


@functools.cache
def ensure_data() -> None:
    """Fill the MNIST cache from out here, once: kernels in a sandbox have no network to fetch it."""
    from .. import data

    if os.environ.get("MNISTLIB_DATA"):
        return
    try:
        data.fetch()
    except Exception as err:  # the notebooks will say that they have no data
        print(f"note: the MNIST cache could not be filled for the grading sandbox: {err}", file=sys.stderr)


#: What of the host's /etc a sandbox sees (Python, TensorFlow, matplotlib, SSL and the dynamic loader
#: need these), in a read-only /etc of its own: never shadow, gshadow, sudoers, ssh keys, machine-id,
#: nor the host's real passwd and group (the sandbox has its own short ones, see :func:`etc_files`).
ETC_KEPT = (
    "hosts",
    "host.conf",
    "nsswitch.conf",
    "gai.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "ssl",
    "pki",
    "ca-certificates",
    "ca-certificates.conf",
    "fonts",
    "localtime",
    "timezone",
    "alternatives",  # Debian's links to BLAS/LAPACK and other libraries
    "mime.types",
    "protocols",
    "services",
    "os-release",
    "debian_version",
    "locale.alias",
    "matplotlibrc",
    "jupyter",
    "ipython",
    "python3",  # Debian's Python reads its sitecustomize.py from /etc/python3.X
)

#: ``import mnistlib.checks`` inside a sandbox, where the checks (the answer key) are hidden.
ANSWER_KEY_STUB = """raise ImportError(
    "mnistlib.checks (the course's checks and their reference answers) is out of reach of a notebook "
    "while it is graded: the grader runs the test cells itself, in a process of its own",
    name="mnistlib.checks",
)
"""


def etc_entries() -> list[str]:
    """The names of the host's /etc that a sandbox sees (:data:`ETC_KEPT`, ``python3.X`` included)."""
    names = [n for n in ETC_KEPT if os.path.lexists(f"/etc/{n}")]
    names += sorted(p.name for p in Path("/etc").glob("python3.*"))
    return names


def etc_files(folder: Path) -> dict[str, Path]:
    """Write the sandbox's own ``passwd`` and ``group`` into ``folder``: root, nobody (the user
    isolated kernels run as) and the user running the sandbox. ``{name in /etc: file}``."""
    uid, gid = os.getuid(), os.getgid()
    users = {0: "root", isolation.NOBODY: "nobody"}
    groups = {0: "root", isolation.NOBODY: "nogroup"}
    users.setdefault(uid, "grader")
    groups.setdefault(gid, "grader")
    passwd = "".join(
        f"{name}:x:{number}:{number if number != uid else gid}:{name}:{HOME}:/usr/sbin/nologin\n"
        for number, name in users.items()
    )
    group = "".join(f"{name}:x:{number}:\n" for number, name in groups.items())
    folder.mkdir(exist_ok=True)
    written = {}
    for name, text in (("passwd", passwd), ("group", group)):
        (folder / name).write_text(text)
        os.chmod(folder / name, 0o644)
        written[name] = folder / name
    return written


def answer_key_paths() -> list[str]:
    """Host folders inside the sandbox's read-only views that hold the answer key: the checks (their
    reference implementations) and the course's source notebooks (solutions, hidden tests). Each is
    covered by an empty tmpfs in the sandbox."""
    from ..course import COURSE

    package = Path(__file__).resolve().parent.parent
    shown = [Path(p) for p in read_only_paths()]
    found = []
    for path in (package / "checks", Path(COURSE).resolve() / "source"):
        if path.is_dir() and any(path == top or top in path.parents for top in shown):
            found.append(str(path))
    return found


def read_only_paths() -> list[str]:
    """Host paths every sandbox sees read-only, at the same place (/etc is its own, see :data:`ETC_KEPT`)."""
    from .. import data

    package = Path(__file__).resolve().parent.parent  # the mnistlib folder
    paths = ["/usr", os.path.realpath(sys.base_prefix), sys.prefix, str(package)]
    paths += _library_paths()
    for place in (data.cache_dir(), Path(os.environ.get("MNISTLIB_DATA") or "/nonexistent")):
        if place.exists():
            paths.append(str(place.resolve()))
    return [p for p in dict.fromkeys(paths) if not p.startswith("/usr/")]


def _library_paths() -> list[str]:
    """Folders outside the venv that this Python imports from (a venv that borrows another's
    packages through a .pth file, user site-packages), and the package folders their links point
    to; never the working folder (``sys.path[0]``) nor a folder holding the course."""
    from ..course import COURSE

    course = os.path.realpath(COURSE)
    checkout = os.path.dirname(course) + os.sep  # a repository's other folders (tests/...) stay out too
    venv = os.path.realpath(sys.prefix) + os.sep
    here = os.path.realpath(os.getcwd())
    found = []
    for entry in sys.path[1:]:
        real = os.path.realpath(entry) if entry and os.path.isdir(entry) else None
        if real is None or real == here or course == real or course.startswith(real + os.sep):
            continue
        if real.startswith(checkout) and not real.startswith(venv):
            continue
        found.append(real)
        if os.path.basename(real) in ("site-packages", "dist-packages"):
            continue
        for name in os.listdir(real):  # a folder of links to packages installed elsewhere
            target = os.path.join(real, name)
            if os.path.islink(target):
                parent = os.path.dirname(os.path.realpath(target))
                if os.path.basename(parent) in ("site-packages", "dist-packages"):
                    found.append(parent)
    return found


def bwrap_argv(run_dir: Path, inbox: Path, command: list[str], own: Path | None = None) -> list[str]:
    """The bwrap command line of a sandbox. ``own``: a host folder for the sandbox's own files
    (its /etc/passwd and group, the stub that says the checks are hidden); by default ``run_dir``'s."""
    own = Path(own or run_dir.parent)
    argv = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
    ]
    argv += ["--die-with-parent", "--new-session"]
    argv += ["--dev", "/dev", "--proc", "/proc"]
    # the tmpfs mounts first: host paths under /tmp bound below stay visible on top of them
    argv += ["--size", str(TMPFS_MB * 2**20), "--perms", "0755", "--tmpfs", WORKSPACE]
    argv += ["--size", str(TMP_MB * 2**20), "--perms", "1777", "--tmpfs", "/tmp"]
    for path in read_only_paths():
        argv += ["--ro-bind", path, path]
    # The answer key is hidden: an empty folder in its place (with a stub that says why for the checks).
    stub = own / "answer-key-stub.py"
    stub.write_text(ANSWER_KEY_STUB)
    for path in answer_key_paths():
        argv += ["--perms", "0755", "--tmpfs", path]
        if os.path.basename(path) == "checks":
            argv += ["--ro-bind", str(stub), f"{path}/__init__.py"]
        argv += ["--remount-ro", path]  # shared by every kernel of the sandbox: nobody writes there
    # A read-only /etc of its own.
    argv += ["--perms", "0755", "--tmpfs", "/etc"]
    for name in etc_entries():
        host = f"/etc/{name}"
        if os.path.islink(host):
            argv += ["--symlink", os.readlink(host), host]
        else:
            argv += ["--ro-bind", host, host]
    for name, file in etc_files(own / "etc").items():
        argv += ["--ro-bind", str(file), f"/etc/{name}"]
    argv += ["--remount-ro", "/etc"]
    for name in ("lib", "lib32", "lib64", "libx32", "bin", "sbin"):
        path = Path("/", name)
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    # run/: a tmpfs of the sandbox's own (never the host's disk), which its fork server covers at
    # once with one that limits its files too (isolation.limit_run_folder); the grader outside
    # reaches it through the server's /proc/PID/root (Sandbox.__init__)
    argv += ["--size", str(RUN_MB * 2**20), "--perms", "0700", "--tmpfs", str(run_dir)]
    argv += ["--ro-bind", str(inbox), str(inbox)]
    argv += ["--chdir", WORKSPACE]
    return [*argv, "--", *command]


#: Memory a sandbox's fork server may use besides its kernel's cap (TensorFlow imported: ~0.7 GB).
SERVER_MB = 1024


def _memory_cgroup(name: str, megabytes: int) -> Path | None:
    """A memory cgroup holding at most ``megabytes`` MB (cgroup v1 or v2; no swap), or None.

    Unlike a kernel's ``RLIMIT_DATA``, it counts every page the sandbox's processes use, memory
    shared through ``memfd`` or ``/dev/shm`` included. Past it, the kernel's OOM killer ends a
    process of the sandbox: the kernel, which asks to be chosen first (``oom_score_adj``).
    """
    if megabytes <= 0:
        return None
    limit = str(megabytes * 2**20)
    for parent, files in (
        (Path("/sys/fs/cgroup/memory"), ("memory.limit_in_bytes",)),
        (Path("/sys/fs/cgroup"), ("memory.max", "memory.swap.max")),
    ):
        group = parent / name
        if not (parent / "cgroup.procs").exists() or (files[0] == "memory.max" and not _v2_memory(parent)):
            continue
        made = not group.exists()
        try:
            group.mkdir(exist_ok=True)  # on cgroup v2, the pids cgroup of the same name
            (group / files[0]).write_text(limit)
            for extra in files[1:]:
                (group / extra).write_text("0")
            return group
        except OSError:
            if made:
                with contextlib.suppress(OSError):
                    group.rmdir()
    return None


def _v2_memory(parent: Path) -> bool:
    try:
        return "memory" in (parent / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


def _pids_cgroup(name: str) -> Path | None:
    """A new pids cgroup limited to :data:`PIDS_MAX` processes (cgroup v1 or v2), or None."""
    for parent in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        group = parent / name
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(PIDS_MAX))
            return group
        except OSError:
            group.rmdir()
    return None


def _server_pid(info: int, bwrap: subprocess.Popen, deadline: float) -> int | None:
    """The host pid of the sandbox's fork server: the child of the process bwrap reports on its
    ``--info-fd`` (its PID 1). Closes ``info``; None when bwrap ended first or never said."""
    import json

    with os.fdopen(info, "rb") as stream:
        try:
            init = int(json.loads(stream.read() or b"{}")["child-pid"])
        except (ValueError, KeyError):
            return None
    while bwrap.poll() is None and time.monotonic() < deadline:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(entry.path, "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == init:
                    return int(entry.name)
        time.sleep(0.01)
    return None


class Sandbox:
    """A bwrap sandbox running a fork server for one learner's kernels (see the module docstring)."""

    def __init__(
        self,
        learner: str = "",
        *,
        keras: bool = True,
        idle_exit: float = 120.0,
        timeout: float = 120.0,
        memory_mb: int = 0,
    ):
        reason = problem()
        if reason:
            raise SandboxError(unavailable_message(reason))
        self.learner, self.keras = learner, keras
        ensure_data()
        sweep_stale()
        self.dir = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.dir / OWNER_FILE).write_text(_process_identity(os.getpid()) or "")
        # The grading user's only (mkdtemp makes it 0700): a kernel is that user in its own user
        # namespace (mnistlib.grading.isolation), so no folder here is open to other accounts.
        self.run_dir, self.inbox = self.dir / "run", self.dir / "inbox"
        self.inbox.mkdir(mode=0o700)
        self.socket = str(self.run_dir / "kernels.sock")
        self.cgroup = _pids_cgroup(self.dir.name)
        self.pids_limit = "cgroup" if self.cgroup else "RLIMIT_NPROC"
        # memory: a cgroup for the whole sandbox when one can be made (each kernel is also capped
        # by RLIMIT_DATA in mnistlib.grading.kernel)
        self.memory_cgroup = _memory_cgroup(self.dir.name, memory_mb + SERVER_MB if memory_mb > 0 else 0)
        env = {k: v for k, v in os.environ.items() if not SECRET.search(k)}
        env.update(SANDBOX_ENV)
        from .. import data
        from ..notebook import MALLOC_ARENAS
        from .forkserver import KERAS_ENV

        env["MNISTLIB_CACHE"] = str(data.cache_dir().resolve())
        env[isolation.HOST_DIR_ENV] = str(self.dir)
        env[KERAS_ENV] = "1" if keras else "0"
        env.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        server = [sys.executable, "-m", "mnistlib.grading.forkserver", self.socket, "0", str(idle_exit)]
        self.log = self.dir / "sandbox.log"
        info_read, info_write = os.pipe()
        argv = bwrap_argv(self.run_dir, self.inbox, server)
        argv[1:1] = ["--info-fd", str(info_write)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=[info_write],
                preexec_fn=self._limit_processes,
            )
        os.close(info_write)
        deadline = time.monotonic() + timeout
        self.server_pid = _server_pid(info_read, self.process, deadline)
        if self.server_pid is not None:
            # run/ is the sandbox's tmpfs: out here, a link into the server's view of it (the
            # grader's own folder, 0700: nobody else, and no kernel, can replace the link)
            self.run_dir.symlink_to(f"/proc/{self.server_pid}/root{self.run_dir}")
        while not os.path.exists(self.socket):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:])
                self.close()
                raise SandboxError(f"the grading sandbox did not start: {tail or 'no message'}")
            time.sleep(0.01)
        # the server wrote, before it listened, whether its kernels get namespaces of their own
        probe_file = self.run_dir / isolation.PROBE_FILE
        self.isolation = probe_file.read_text() if probe_file.is_file() else "not probed"
        self.isolated = self.isolation == "isolated"
        limit_file = self.run_dir / isolation.RUN_LIMIT_FILE
        #: How the run folder (the one place a kernel writes that the grader reads) is limited.
        self.run_limit = limit_file.read_text() if limit_file.is_file() else "unknown"

    def _limit_processes(self) -> None:  # in the bwrap process, before it starts
        if self.cgroup is not None:
            (self.cgroup / "cgroup.procs").write_text(str(os.getpid()))
        if self.memory_cgroup is not None and self.memory_cgroup != self.cgroup:
            (self.memory_cgroup / "cgroup.procs").write_text(str(os.getpid()))
        else:
            resource.setrlimit(resource.RLIMIT_NPROC, (PIDS_MAX, PIDS_MAX))

    def alive(self) -> bool:
        return self.process.poll() is None and os.path.exists(self.socket)

    def configure(self, km) -> None:
        """Have the kernel manager ``km`` talk to its kernel over ipc sockets in this sandbox."""
        import uuid

        name = f"kernel-{uuid.uuid4().hex[:12]}"
        own = self.run_dir / name  # the only part of run/ the kernel sees (mnistlib.grading.isolation)
        own.mkdir(mode=0o700)
        km.transport = "ipc"
        km.ip = str(own / "k")
        km.cache_ports = False
        km.connection_file = str(self.inbox / f"{name}.json")

    def close(self) -> None:
        """Stop the sandbox and everything in it; remove its folders and cgroup."""
        if self.process.poll() is None:
            self.process.kill()  # bwrap's own init then dies, and with it the whole PID namespace
        self.process.wait()
        if self.cgroup is not None:
            _end_cgroup(self.cgroup)
        if self.memory_cgroup is not None and self.memory_cgroup != self.cgroup:
            _end_cgroup(self.memory_cgroup)
        shutil.rmtree(self.dir, ignore_errors=True)


_current: Sandbox | None = None


def for_learner(learner: str, *, keras: bool, memory_mb: int = 0) -> Sandbox:
    """This process's sandbox for ``learner``: the current one, or a new one in its place.

    One sandbox is kept at a time (notebooks are graded one after the other). It serves every
    learner when its kernels are isolated from each other (:mod:`mnistlib.grading.isolation`),
    else only one: a new one is then started for another learner. A new one is also started when
    Keras is needed and the current one's fork server has not imported it, or when it has stopped.
    """
    global _current
    if _current is not None and (
        (_current.learner != learner and not _current.isolated)
        or (keras and not _current.keras)
        or not _current.alive()
    ):
        _current.close()
        _current = None
    if _current is None:
        _current = Sandbox(learner, keras=keras, memory_mb=memory_mb)
        if not _current.isolated:
            print(
                f"note: grading kernels cannot be isolated from each other here ({_current.isolation}): "
                "each learner gets a sandbox of their own, which is slower",
                file=sys.stderr,
            )
        if _current.pids_limit != "cgroup":
            print(
                "note: no pids cgroup could be made: the sandbox limits processes with RLIMIT_NPROC, "
                "which does not hold for root",
                file=sys.stderr,
            )
    return _current


@atexit.register
def close_current() -> None:
    global _current
    if _current is not None:
        _current.close()
        _current = None
