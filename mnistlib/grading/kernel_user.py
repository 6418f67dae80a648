"""Without the sandbox, as root: each learner's kernel runs as an unprivileged user (issue 23).

Where bubblewrap cannot make its namespaces (Gradescope's and PrairieLearn's containers, Docker's
default seccomp profile), the grader runs as root, and a kernel started the ordinary way would have
root's rights over everything in the container: the installed answer key (the checks' reference
implementations, the course's source notebooks), the results file, other files of the grader.
PrairieLearn's own Python grader runs learners' code as an unprivileged user for this reason;
so does this one:

* the kernel runs as :data:`USERS`' first account that exists (the container set-up scripts of
  :mod:`mnistlib.export` create ``mnistlib-learner``; else ``nobody``), or ``$MNISTLIB_KERNEL_USER``,
  with no supplementary groups and ``no_new_privs``;
* it works in a folder of its own, owned by that user, holding a copy of the notebook's folder,
  its home, its temporary folder, its connection file and the MNIST files (linked, read-only);
  the folder is deleted when the kernel ends;
* the grader (still root) first takes every other user's access away from the answer key
  (:func:`protect`: ``chmod go-rwx`` on the checks, the source notebooks, a checkout's solutions
  and an nbgrader course's gradebook and submissions), so the kernel's user cannot read it.

Not root and no sandbox (a learner's own machine, macOS): the kernel runs as the grading user, who
can read the answer key; the grader says so in a note. The test cells are still judged in the
checker kernel, and an answer that names the key still scores 0 (:mod:`.answer_key`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import pwd
import shutil
import sys
import tempfile
from pathlib import Path

#: Environment variable naming the account learners' kernels run as (without the sandbox, as root).
USER_ENV = "MNISTLIB_KERNEL_USER"
#: The accounts tried, in order: the one the export set-up scripts create, then ``nobody``.
USERS = ("mnistlib-learner", "nobody")
#: The note when the answer key cannot be protected (no sandbox, not root).
UNPROTECTED_NOTE = (
    "note: grading without the sandbox and not as root: learners' kernels run as you and can read "
    "what you can, the checks' reference code and the course's source notebooks (the answer key) "
    "included; answers that name them still score 0, but install bubblewrap (apt install bubblewrap) "
    "or grade as root to keep the answer key out of their reach"
)

PR_SET_NO_NEW_PRIVS = 38


def wanted() -> bool:
    """Whether kernels started without the sandbox should run as another user: the grader is root."""
    return sys.platform.startswith("linux") and os.geteuid() == 0


@functools.cache
def account() -> pwd.struct_passwd:
    """The unprivileged account learners' kernels run as (see :data:`USERS`)."""
    names = [os.environ[USER_ENV]] if os.environ.get(USER_ENV) else list(USERS)
    for name in names:
        with contextlib.suppress(KeyError):
            found = pwd.getpwnam(name)
            if found.pw_uid != 0:
                return found
    raise RuntimeError(f"no unprivileged account to run learners' kernels as (tried {', '.join(names)})")


def unreachable(paths: list[str | Path]) -> Path | None:
    """The first folder on the way to one of ``paths`` that other users cannot enter, or None."""
    for path in paths:
        for folder in reversed(Path(os.path.realpath(path)).parents):
            if not folder.stat().st_mode & 0o001:
                return folder
    return None


def unreachable_note() -> str | None:
    """Why the kernel's user could not even start Python here (a Python or venv inside root's home,
    say), as a note: learners' kernels then run as root, and the answer key is within their reach.
    None when it can."""
    import mnistlib

    folder = unreachable([sys.executable, sys.base_prefix, sys.prefix, mnistlib.__file__])
    if folder is None:
        return None
    return (
        f"note: learners' kernels cannot run as the unprivileged user {account().pw_name} here: that user "
        f"cannot enter {folder}, on the way to this Python or the course's package, so they run as root "
        "and can read the answer key (the checks' reference code, the source notebooks); install Python "
        "and the course where every user can read them (as the Gradescope and PrairieLearn images do), "
        "or grade in the sandbox (apt install bubblewrap)"
    )


def answer_key_paths(course_root: str | Path | None = None) -> list[Path]:
    """What the kernel's user must not read: the checks, the installed course's source notebooks,
    a checkout's solutions, and, in nbgrader course ``course_root``, its source, gradebook and
    learners' work."""
    from ..course import COURSE, REPO

    package = Path(__file__).resolve().parent.parent
    paths = [package / "checks", Path(COURSE) / "source"]
    if REPO is not None:
        paths.append(REPO / "solutions")
    if course_root is not None:
        root = Path(course_root)
        paths += [root / name for name in ("source", "gradebook.db", "submitted", "autograded", "feedback")]
    return [p.resolve() for p in paths if p.exists()]


def protect(paths: list[Path]) -> list[Path]:
    """Take group's and others' access away from ``paths`` (``chmod go-rwx``; a folder's contents are
    then out of their reach too). Returns the paths it changed."""
    changed = []
    for path in paths:
        mode = path.stat().st_mode & 0o7777
        if mode & 0o077:
            os.chmod(path, mode & ~0o077)
            changed.append(path)
    return changed


def _data_files(env: dict) -> Path | None:
    """The folder of MNIST files the kernel would read (``MNISTLIB_DATA``, else the cache)."""
    from ..data import IDX_SHA256

    folder = env.get("MNISTLIB_DATA") or env.get("MNISTLIB_CACHE")
    if not folder:
        base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or str(Path.home()), ".cache")
        folder = os.path.join(base, "mnistlib")
    folder = Path(folder).expanduser()
    return folder if all((folder / name).is_file() for name in IDX_SHA256) else None


def enter(cwd: str, argv: list[str], env: dict) -> tuple[str, list[str], str]:
    """Prepare the kernel's own folder for :func:`account` (as root): the copy of ``cwd``, its home,
    its connection file (``-f`` in ``argv``) and the MNIST files; update ``env`` for it.

    Returns ``(working folder, argv, the folder to delete when the kernel ends)``.
    """
    from ..data import IDX_SHA256

    user = account()
    top = Path(tempfile.mkdtemp(prefix="mnistlib-kernel-"))
    work = top / Path(cwd).name
    shutil.copytree(cwd, work, symlinks=True)
    home = top / "home"
    for folder in (home, top / "tmp", home / ".ipython", home / ".config" / "matplotlib", home / ".keras"):
        folder.mkdir(parents=True, exist_ok=True)
    argv = list(argv)
    if "-f" in argv:
        connection = top / "connection.json"
        shutil.copyfile(argv[argv.index("-f") + 1], connection)
        argv[argv.index("-f") + 1] = str(connection)
    data = _data_files(env)
    if data is not None:
        (top / "mnist").mkdir()
        for name in IDX_SHA256:
            target = top / "mnist" / name
            source = data / name
            try:
                if not source.stat().st_mode & 0o004:
                    raise OSError("not readable by others: copy it")
                os.link(source, target)  # read-only for the kernel's user: the file stays root's
            except OSError:
                shutil.copyfile(source, target)
                os.chmod(target, 0o444)
        env["MNISTLIB_DATA"] = str(top / "mnist")
    for root, folders, files in os.walk(top):
        for name in [*folders, *files]:
            path = os.path.join(root, name)
            if not (root == str(top / "mnist")):
                os.lchown(path, user.pw_uid, user.pw_gid)
    os.chown(top, user.pw_uid, user.pw_gid)
    os.chmod(top, 0o700)
    for key in [k for k in env if k.startswith("JPY_")]:
        env.pop(key)
    env.update(
        HOME=str(home),
        USER=user.pw_name,
        LOGNAME=user.pw_name,
        IPYTHONDIR=str(home / ".ipython"),
        MPLCONFIGDIR=str(home / ".config" / "matplotlib"),
        JUPYTER_RUNTIME_DIR=str(top),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        KERAS_HOME=str(home / ".keras"),
        TMPDIR=str(top / "tmp"),
        MNISTLIB_ANSWER_KEY_HIDDEN="1",  # mnistlib.prerequisites.ANSWER_KEY_HIDDEN_ENV
    )
    env.pop("MNISTLIB_CACHE", None)
    return str(work), argv, str(top)


def become() -> None:
    """Turn this (forked, root) process into :func:`account`, for good: no groups, no way back."""
    user = account()
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if os.getuid() == 0 or os.geteuid() == 0:  # pragma: no cover - setuid raises first
        raise RuntimeError("the kernel is still root")
