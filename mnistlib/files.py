"""Writing a file so that a reader sees the old one or the new one, never half of one.

Used for every file mnistlib writes that someone else may read at the same moment or that an
interrupted run must not leave broken: the MNIST cache, the progress file, grading's timings,
grade CSVs and shard results. The data go to a new file beside the target (same folder, so the
same file system), are flushed to disk, and the file is renamed over the target
(:func:`os.replace`, atomic on POSIX). On any error the new file is removed and the target is
left as it was. The new file is created with the usual permissions (``0o666`` minus the umask),
as :func:`open` would: a shared cache stays readable by the other users of the machine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8", newline=None):
    """Open a new file that replaces ``path`` when the ``with`` block ends without an error.

    ``mode`` is ``"w"`` (text, ``encoding`` and ``newline`` as for :func:`open`) or ``"wb"``. The
    folder is created when missing."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a whole file: mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        if mode == "wb":
            handle = os.fdopen(fd, "wb")
        else:
            handle = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def atomic_write(path: str | os.PathLike, data: bytes | str, *, encoding: str = "utf-8") -> None:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` atomically (see :func:`atomic_open`)."""
    if isinstance(data, str):
        with atomic_open(path, "w", encoding=encoding, newline="") as handle:
            handle.write(data)
    else:
        with atomic_open(path, "wb") as handle:
            handle.write(data)
