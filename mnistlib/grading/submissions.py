"""Submissions taken as data: what a learner hands in is never followed, only read (issue 24).

A submission folder comes from a learner: through an archive upload, ``cp -a`` or ``rsync -a``
it may hold symbolic links (to another learner's notebook, to the hidden tests in
``source/``), hard links to files elsewhere on the grading host, devices or pipes (a read that
never ends), or files far larger than any notebook. Read by path, each of these would have the
grader read, copy or hand to the learner's kernel something that is not the learner's work.

So, before anything reads a submitted file, :func:`refusal` says why it must not be read (or
None): a symbolic link (the file itself, or a folder on the way from the class folder), not a
regular file, a hard link (another name for a file elsewhere), or larger than the limit.
:func:`read_bytes` reads a file that passed, through one descriptor opened without following
links, checking the same again on what it opened. Used by

* ``mnistlib grade`` (:func:`mnistlib.grading.command.find_jobs`, and the worker's
  :func:`~mnistlib.grading.worker._place`): a refused notebook is graded as an empty one (it
  scores zero) with a note saying why;
* ``nbgrader autograde``: the course's ``nbgrader_config.py`` calls :func:`guard_nbgrader`, so
  nbgrader refuses a submitted notebook that is refused here (with the reason in its log) and
  never copies a refused extra file of the submission folder into the folder the learner's
  kernel runs in (nbgrader's ``init_assignment`` would otherwise copy a link's target).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Largest notebook read from a submission (the course's notebooks with outputs are under 2 MB).
MAX_NOTEBOOK_BYTES = 32 * 2**20
#: Largest other file of a submission folder handed to the learner's kernel.
MAX_FILE_BYTES = 32 * 2**20
#: Largest ``timestamp.txt`` read.
MAX_TIMESTAMP_BYTES = 200


def _mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB"


def _why(info: os.stat_result, name: str, limit: int, names: int = 1) -> str | None:
    if stat.S_ISLNK(info.st_mode):
        return f"{name} is a symbolic link: a submission must hold the file itself"
    if not stat.S_ISREG(info.st_mode):
        return f"{name} is not a regular file (a device, pipe, socket or folder)"
    if info.st_nlink > max(1, names):
        return (
            f"{name} is a hard link to a file outside the class folder (it has {info.st_nlink} names): "
            "collect submissions with a plain copy, not `cp -l` or `rsync --link-dest`"
        )
    if info.st_size > limit:
        return f"{name} is {_mb(info.st_size)}, more than the {_mb(limit)} a submitted file may have"
    return None


def refusal(
    path: Path | str, within: Path | str | None = None, limit: int = MAX_NOTEBOOK_BYTES, names: int = 1
) -> str | None:
    """Why the submitted file ``path`` must not be read, or None when it may.

    ``within``: the class folder the submission was found in; no folder between it and ``path``
    may be a symbolic link either (``submitted/alice -> bob``). ``names``: how many names the
    file has inside the class folder (:func:`count_names`): a file with more names than that is a
    hard link to a file outside it (the course's source notebook, say) and is refused. Learners'
    files that are one file (a class collected with ``cp -l``) stay readable: none is outside.
    """
    path = Path(os.path.abspath(path))
    if within is not None:
        within = Path(os.path.abspath(within))
        try:
            parts = path.relative_to(within).parts[:-1]
        except ValueError:
            return f"{path.name} is outside the class folder {within}"
        folder = within
        for part in parts:
            folder = folder / part
            try:
                if stat.S_ISLNK(os.lstat(folder).st_mode):
                    return f"the folder {part} of {path.name} is a symbolic link"
            except OSError as err:
                return f"{path.name} could not be read: {err.strerror}"
    try:
        info = os.lstat(path)
    except OSError as err:
        return f"{path.name} could not be read: {err.strerror}"
    return _why(info, path.name, limit, names)


def names_inside(folder: Path | str) -> dict[tuple[int, int], int]:
    """``{(device, inode): names}`` for the files in ``folder`` (recursively) that have several names."""
    counts: dict[tuple[int, int], int] = {}
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(os.path.join(parent, name))
            except OSError:
                continue
            if info.st_nlink > 1 and stat.S_ISREG(info.st_mode):
                key = (info.st_dev, info.st_ino)
                counts[key] = counts.get(key, 0) + 1
    return counts


def count_names(path: Path | str, inside: dict[tuple[int, int], int]) -> int:
    """How many names the file ``path`` has in the folder whose :func:`names_inside` is ``inside``."""
    try:
        info = os.lstat(path)
    except OSError:
        return 1
    return inside.get((info.st_dev, info.st_ino), 1)


def read_bytes(
    path: Path | str, within: Path | str | None = None, limit: int = MAX_NOTEBOOK_BYTES, names: int = 1
) -> tuple[bytes | None, str | None]:
    """``(content, None)`` of a submitted file that passes :func:`refusal`, else ``(None, why)``.

    Read through one descriptor opened without following links and without waiting on a pipe;
    what it opened is checked again, so a file swapped after the check is refused too.
    """
    why = refusal(path, within, limit, names)
    if why is not None:
        return None, why
    name = Path(path).name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        return None, f"{name} could not be read: {err.strerror}"
    try:
        why = _why(os.fstat(fd), name, limit, names)
        if why is not None:
            return None, why
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, 2**20)):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        return None, f"{name} grew past {_mb(limit)} while it was read"
    return b"".join(chunks), None


def refused_files(
    folder: Path | str, limit: int = MAX_FILE_BYTES, inside: dict[tuple[int, int], int] | None = None
) -> dict[str, str]:
    """``{path: why}`` for every entry of a submission folder (recursively) that must not be used.

    ``inside``: :func:`names_inside` of the class folder (hard links between learners' files pass).
    """
    found = {}
    for parent, dirs, files in os.walk(folder):  # does not descend into linked folders
        for name in [*dirs, *files]:
            path = os.path.join(parent, name)
            try:
                info = os.lstat(path)
            except OSError as err:
                found[path] = f"{name} could not be read: {err.strerror}"
                continue
            if stat.S_ISDIR(info.st_mode):
                continue
            why = _why(info, name, limit, (inside or {}).get((info.st_dev, info.st_ino), 1))
            if why is not None:
                found[path] = why
    return found


#: :func:`names_inside` of each submitted folder nbgrader autograded in this process.
_inside_cache: dict[str, dict[tuple[int, int], int]] = {}


# ----------------------------------------------------------------------------- nbgrader autograde


def guard_nbgrader() -> None:
    """Make nbgrader's ``autograde`` take submissions as data (called by the course's nbgrader_config.py).

    nbgrader's ``BaseConverter.init_assignment`` copies every other file of a submission folder
    next to the notebook (``shutil.copy``, which follows links), and its exporter reads the
    notebook by path. With the guard, before that copy, a submitted notebook that
    :func:`refusal` refuses stops nbgrader for that submission with the reason, and refused extra
    files are left out of the copy with a warning naming each.
    """
    from nbgrader.converters import base
    from nbgrader.converters.autograde import Autograde

    if getattr(base.BaseConverter.init_assignment, "_mnistlib_guard", False):
        return
    original = base.BaseConverter.init_assignment
    original_find = base.find_all_files

    def init_assignment(self, assignment_id: str, student_id: str) -> None:
        if not isinstance(self, Autograde):
            return original(self, assignment_id, student_id)
        from nbgrader.utils import is_ignored

        source = self._format_source(assignment_id, student_id)
        submitted = self.coursedir.format_path(self.coursedir.submitted_directory, ".", ".")
        root = os.path.abspath(submitted)
        if root not in _inside_cache:
            _inside_cache[root] = names_inside(root)
        inside = _inside_cache[root]
        for notebook in self.notebooks:
            why = refusal(notebook, within=submitted, names=count_names(notebook, inside))
            if why is not None:
                self.log.error("Refused %s: %s", notebook, why)
                raise base.NbGraderException(f"refused submission {notebook}: {why}")
        refused = refused_files(source, inside=inside)
        stamp = os.path.join(source, "timestamp.txt")
        if stamp in refused:  # nbgrader reads it by path before the copy
            self.log.error("Refused %s: %s", stamp, refused[stamp])
            raise base.NbGraderException(f"refused submission file {stamp}: {refused[stamp]}")
        for path, why in refused.items():
            if not is_ignored(path, self.coursedir.ignore):
                self.log.warning("Not copied for grading: %s (%s)", path, why)

        def find_all_files(path, exclude=None):
            return [f for f in original_find(path, exclude) if f not in refused]

        base.find_all_files = find_all_files
        try:
            return original(self, assignment_id, student_id)
        finally:
            base.find_all_files = original_find

    init_assignment._mnistlib_guard = True
    base.BaseConverter.init_assignment = init_assignment
