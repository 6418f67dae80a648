"""A sandboxed kernel's own namespaces: nothing one learner's kernel leaves is seen by the next.

One grading sandbox (:mod:`mnistlib.grading.sandbox`: bwrap and a warm fork server) serves
every learner that a grading process grades, so TensorFlow is imported once per process, not
once per learner. What keeps learners apart is done here, in each forked kernel, before any
learner code runs (:func:`enter`):

* new user, PID, IPC and mount namespaces: everything the kernel starts dies with it, and no
  System V or POSIX IPC object outlives it;
* in its mount namespace, the sandbox's writable places are new, empty tmpfs mounts: the
  workspace (:data:`~mnistlib.grading.inside.WORKSPACE`: HOME and the copy of the notebook's
  folder), ``/tmp`` and ``/dev/shm``;
* of the sandbox's host folder only the kernel's own run folder (its sockets, and the checker's
  calls) is visible; the shared run folder, the server's socket and the inbox are not;
* the sandbox's root and ``/dev`` are read-only;
* then the kernel gives up every capability (and can gain none: ``no_new_privs``), so it can
  neither unmount its new mounts to reach the shared ones below nor make anything writable again.

:func:`probe` tries all of it once, when a sandbox's fork server starts. A sandbox whose kernels
cannot be isolated (user namespaces turned off, say) is then used for one learner only, as
before this module existed.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import re
import shutil
from pathlib import Path

from . import inside

# Linux constants (sched.h, mount.h, prctl.h, capability.h).
CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID = 0x10000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# statvfs's f_flag bits and the mount flags a read-only remount must keep (a user namespace may
# not change the ones it inherited).
_KEPT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

#: The user and group a kernel runs as, in its user namespace.
NOBODY = 65534
#: Environment variable naming the sandbox's host folder (holding ``run/`` and ``inbox/``).
HOST_DIR_ENV = "MNISTLIB_SANDBOX_HOST_DIR"
#: Environment variable: "0" gives every learner a sandbox of their own, as if kernels could not
#: be isolated here (an escape hatch; slower: each sandbox imports TensorFlow again).
SHARE_ENV = "MNISTLIB_SANDBOX_SHARED"
#: Environment variable the fork server sets to "1" once :func:`probe` succeeded.
ISOLATED_ENV = "MNISTLIB_SANDBOX_ISOLATED"
#: The file in the run folder where the server writes what :func:`probe` found ("isolated" or why not).
PROBE_FILE = "isolation"

_libc = ctypes.CDLL(None, use_errno=True)


class IsolationError(OSError):
    """A step of a kernel's isolation failed."""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise IsolationError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def raw(text):
        return None if text is None else text.encode()

    result = _libc.mount(raw(source), raw(target), raw(fstype), ctypes.c_ulong(flags), raw(data))
    _check(result, f"mount {target}")


#: Files and folders a kernel's tmpfs may hold per MB of its size (512 MB: 32,768): a kernel that
#: makes millions of empty files stops there, as one that writes too much stops at the size.
INODES_PER_MB = 64


def _tmpfs(target: str, megabytes: int, mode: int) -> None:
    inodes = max(64, megabytes * INODES_PER_MB)
    _mount(
        "tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={megabytes}m,nr_inodes={inodes},mode={mode:o}"
    )


def _read_only(target: str) -> None:
    """Remount the mount at ``target`` read-only, keeping its other flags."""
    flags = os.statvfs(target).f_flag
    kept = sum(ms for st, ms in _KEPT_FLAGS if flags & st)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def _mount_points() -> list[str]:
    """This mount namespace's mount points, in mounting order."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    unescape = functools.partial(re.sub, r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)))
    return [unescape(line.split()[4]) for line in lines]  # \040 for a space, and so on


def own_run_dir(argv: list[str]) -> str:
    """The kernel's own run folder: where its connection file (``-f``) puts its ipc sockets."""
    info = json.loads(Path(argv[argv.index("-f") + 1]).read_text())
    if info.get("transport") != "ipc":
        raise IsolationError(0, "a sandboxed kernel talks over ipc sockets")
    return os.path.dirname(info["ip"])


def _drop_capabilities() -> None:
    """Give up every capability for good: no mount, no remount, nothing gained by exec either."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), "drop a capability")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # fails only where there are none
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: twice, all empty
    _check(_libc.capset(header, data), "capset")


def enter(run_dir: str, workspace_mb: int, tmp_mb: int, fill_workspace=None) -> None:
    """Isolate this (forked, single-threaded) process as described in the module docstring.

    ``run_dir``: the kernel's own run folder (kept, writable). ``fill_workspace``: called once the
    new workspace is mounted and before ``/tmp`` is covered, to copy in what the kernel needs from
    the inbox. Raises :class:`IsolationError` at the first step that fails: a caller must then not
    run learner code in this process.
    """
    host = os.environ[HOST_DIR_ENV].rstrip("/")
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    # The new tmpfs mounts belong to the new user namespace: files can be made there only by a
    # user it maps. It maps this process's user to "nobody", the only user it knows.
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{NOBODY} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{NOBODY} {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # What is mounted under /tmp besides the sandbox's own folder (a venv, the MNIST files): kept
    # through the new /tmp, reached through file descriptors opened before it covers them.
    under_tmp = [p for p in _mount_points() if p.startswith("/tmp/")]
    tops = [p for p in under_tmp if not any(p.startswith(q + "/") for q in under_tmp if q != p)]
    kept = {p: os.open(p, os.O_PATH) for p in tops if p != host and not p.startswith(host + "/")}
    own = os.open(run_dir, os.O_PATH | os.O_DIRECTORY)

    _tmpfs(inside.WORKSPACE, workspace_mb, 0o755)
    inside.make_home()
    if fill_workspace is not None:
        fill_workspace()
    _tmpfs("/tmp", tmp_mb, 0o1777)
    for point, fd in [*kept.items(), (run_dir, own)]:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(point, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(point), exist_ok=True)
            Path(point).touch()
        _mount(f"/proc/self/fd/{fd}", point, None, MS_BIND | MS_REC)
        os.close(fd)
    if os.path.isdir("/dev/shm"):
        _tmpfs("/dev/shm", tmp_mb, 0o1777)
    _read_only("/dev")
    _read_only("/")
    _drop_capabilities()


#: The file in the run folder where the server writes how that folder is limited (:func:`limit_run_folder`).
RUN_LIMIT_FILE = "run-folder"


def limit_run_folder(run_dir: str, megabytes: int) -> str:
    """In a sandbox's fork server, once, before it makes anything: cover the sandbox's run folder
    (the sockets, and each kernel's own folder with the checker's calls: the one place a kernel
    writes that the grader outside reads) with a tmpfs of ``megabytes`` MB and
    :data:`INODES_PER_MB` files per MB, then give up every capability.

    bwrap can limit a tmpfs's size but not its files (``--size``); a mount namespace of the
    server's own can do both. The grader outside reaches the folder through this process's root
    (``/proc/PID/root``, see :class:`mnistlib.grading.sandbox.Sandbox`). Returns what holds now: the
    limits, or why only bwrap's size limit does (the server then goes on as before).
    """
    uid, gid = os.geteuid(), os.getegid()
    try:
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")
    except IsolationError as error:
        return f"size only (bwrap's tmpfs; no files limit: {error})"
    # Not root in here (root would be "nobody"): a kernel's own user namespace (:func:`enter`) may
    # then map this user without the capability Linux asks for to map a parent's root.
    try:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid or NOBODY} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid or NOBODY} {gid} 1")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _tmpfs(run_dir, megabytes, 0o700)
    except OSError as error:  # bwrap's tmpfs is still there, in this namespace's copy of the mounts
        return f"size only (bwrap's tmpfs; no files limit: {error})"
    finally:
        _drop_capabilities()
    return f"tmpfs size={megabytes}m nr_inodes={max(64, megabytes * INODES_PER_MB)}"


def probe(run_dir: str) -> str:
    """Try :func:`enter` in a child process with a throw-away run folder: "isolated", or why not."""
    if os.environ.get(SHARE_ENV) == "0":
        return f"turned off ({SHARE_ENV}=0)"
    folder = os.path.join(run_dir, f"probe-{os.getpid()}")
    os.makedirs(folder)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's report comes back through the pipe
        os.close(read)
        try:
            enter(folder, 1, 1)
            for place in (inside.WORKSPACE, "/tmp", "/"):  # the shared places are out of reach now
                if _libc.umount2(place.encode(), 0) == 0:
                    raise IsolationError(0, f"{place} could be unmounted")
            message = "isolated"
        except Exception as error:  # noqa: BLE001 - every failure is the answer
            message = f"{type(error).__name__}: {error}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    answer = b""
    while chunk := os.read(read, 4096):
        answer += chunk
    os.close(read)
    os.waitpid(pid, 0)
    shutil.rmtree(folder, ignore_errors=True)
    return answer.decode(errors="replace") or "the probe ended without an answer"
