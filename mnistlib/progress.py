"""Where am I: the course remembers which exercises a learner has done.

Every visible check records its outcome (exercise, notebook, passed or the first line of its
hint, time) in ``mnistlib-progress.json`` in the learner's course folder, and ``mnistlib grade``
on the learner's own notebooks records each notebook's score there too.

* **Where the file lives.** ``MNISTLIB_PROGRESS`` wins when set: a ``.json`` file, or a folder
  to keep ``mnistlib-progress.json`` in, or ``off`` to record nothing. Otherwise it is the course
  folder: the kernel runs in the notebook's folder (``my-work/02-reshaping/``), so that is the
  folder above the nearest one named like a notebook (``my-work/``); elsewhere, the current folder.
* **Safe to share.** Each update takes a lock (``fcntl.flock`` on ``.<file>.lock``, or an
  exclusive lock file where there is no fcntl), reads the file, changes it and writes it
  atomically (temporary file, then ``os.replace``), so two kernels recording at once lose nothing
  and a reader never sees half a file. A file that cannot be read is set aside as
  ``<file>.corrupt-<time>`` with a one-line note, and a new one is started.
* **Never in the way.** Recording never breaks a check: any problem becomes one note, once per
  kernel. Nothing is recorded while nbgrader executes a notebook (``NBGRADER_EXECUTION``).

``mnistlib progress [FOLDER]`` prints the course map; :func:`you_are_here` is the one-line map
each notebook opens with and :func:`whats_next` the cell it ends with.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import sys
import time
from pathlib import Path

from . import exercises as exercise_table
from .files import atomic_write

FILE_NAME = "mnistlib-progress.json"
ENV = "MNISTLIB_PROGRESS"
VERSION = 1
MAX_EVENTS = 2000  # the file keeps the most recent check runs, after the per-exercise summary

_noted: set[str] = set()
_live_maps: list = []  # the "you are here" widgets shown in this kernel, refreshed after each check


def note(text: str) -> None:
    """Print a one-line note, once per kernel."""
    if text not in _noted:
        _noted.add(text)
        print(f"note: {text}")


def notebooks() -> list[str]:
    """The notebook ids in teaching order: the folders of course/source, or the built-in list."""
    try:
        from .course import assignment_ids

        found = assignment_ids()
    except Exception:  # an installed package has no course/ folder
        found = []
    return found or exercise_table.notebooks()


def exercises(notebook: str) -> list[str]:
    """The names of ``notebook``'s exercises, in its order (mnistlib.exercises)."""
    return [e.name for e in exercise_table.of_notebook(notebook)]


# ----------------------------------------------------------------------------------- where the file is


def course_root(start: Path | str | None = None) -> Path:
    """The learner's course folder: above the nearest folder named like a notebook, else ``start``."""
    folder = Path(start if start is not None else os.getcwd()).absolute()
    known = set(exercise_table.notebooks()) | set(notebooks())
    for candidate in [folder, *list(folder.parents)[:3]]:
        if candidate.name in known:
            return candidate.parent
    return folder


def _off(value: str) -> bool:
    return value.strip().lower() in ("", "0", "off", "no", "false")


def progress_path(folder: Path | str | None = None) -> Path | None:
    """The progress file: for ``folder`` when given, else per ``MNISTLIB_PROGRESS``; None when off."""
    if folder is None:
        value = os.environ.get(ENV)
        if value is None:
            return course_root() / FILE_NAME
        if _off(value):
            return None
        chosen = Path(value).expanduser().absolute()
        return chosen if chosen.suffix == ".json" else chosen / FILE_NAME
    folder = Path(folder).expanduser()
    return folder.absolute() if folder.suffix == ".json" else course_root(folder) / FILE_NAME


def recording() -> bool:
    """False while nbgrader executes a notebook: grading leaves no progress files behind."""
    return not os.environ.get("NBGRADER_EXECUTION")


# ----------------------------------------------------------------------------------- reading, writing


def empty() -> dict:
    return {"version": VERSION, "exercises": {}, "grades": {}, "events": []}


def _valid(data) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("exercises"), dict)
        and isinstance(data.get("grades"), dict)
        and isinstance(data.get("events"), list)
        and all(isinstance(v, dict) for v in data["exercises"].values())
        and all(isinstance(v, dict) for v in data["grades"].values())
    )


@contextlib.contextmanager
def _locked(path: Path):
    """Hold the progress file's lock (one writer at a time, across processes)."""
    lock = path.with_name(f".{path.name}.lock")
    try:
        import fcntl
    except ImportError:  # Windows: an exclusive lock file, broken when older than 30 s
        fcntl = None
    if fcntl is not None:
        with open(lock, "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    deadline = time.monotonic() + 10
    while True:
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - lock.stat().st_mtime > 30:
                    lock.unlink()
                    continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"{lock} is held by another process") from None
            time.sleep(0.02)
    try:
        yield
    finally:
        os.close(descriptor)
        with contextlib.suppress(OSError):
            lock.unlink()


def _read_unlocked(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if _valid(data):
        return data
    stamp, n = time.strftime("%Y%m%d-%H%M%S"), 1
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    while aside.exists():  # never overwrite an earlier one
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, aside)
    note(f"the progress file {path} could not be read; it was set aside as {aside.name} and a new one begun")
    return empty()


def _write_atomic(path: Path, data: dict) -> None:
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def load(path: Path) -> dict:
    """The progress recorded in ``path`` (empty when there is none; a corrupt file is set aside)."""
    if not path.exists():
        return empty()
    with _locked(path):
        return _read_unlocked(path)


def update(path: Path, change) -> dict:
    """Apply ``change(data)`` to the file under its lock and write it atomically; return the data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        data = _read_unlocked(path)
        change(data)
        _write_atomic(path, data)
    return data


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def first_line(message: str) -> str:
    """What a failure is remembered by: its hint's first line, else its first line."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("hint:"):
            return line.removeprefix("hint:").strip()[:200]
    return lines[0][:200] if lines else "failed"


def record_check(exercise: str, passed: bool, message: str = "", notebook: str | None = None) -> None:
    """Record one run of an exercise's visible check. Never raises."""
    if not recording():
        return
    try:
        path = progress_path()
        if path is None:
            return
        known = exercise_table.EXERCISES.get(exercise)
        notebook = notebook or (known.notebook if known else "")
        now, outcome = _now(), "passed" if passed else first_line(message)

        def change(data: dict) -> None:
            entry = data["exercises"].setdefault(exercise, {})
            entry.update(notebook=notebook, passed=passed, message="" if passed else outcome, time=now)
            entry["attempts"] = int(entry.get("attempts", 0)) + 1
            data["events"].append(
                {"exercise": exercise, "passed": passed, "message": outcome, "time": now, "pid": os.getpid()}
            )
            del data["events"][:-MAX_EVENTS]

        data = update(path, change)
        _refresh_maps(data)
    except Exception as error:
        note(f"your progress could not be saved ({type(error).__name__}: {error}); the check is not affected")


def record_grade(notebook_path: Path | str, notebook: str, score: float, max_score: float) -> None:
    """Record ``mnistlib grade``'s score of a learner's notebook in its course folder. Never raises."""
    if not recording():
        return
    try:
        if os.environ.get(ENV) is not None:
            path = progress_path()
            if path is None:
                return
        else:
            folder = Path(notebook_path).absolute().parent
            path = (folder.parent if folder.name == notebook else folder) / FILE_NAME

        def change(data: dict) -> None:
            data["grades"][notebook] = {"score": score, "max_score": max_score, "time": _now()}

        update(path, change)
    except Exception as error:
        note(f"the grade could not be added to your progress ({type(error).__name__}: {error})")


# ----------------------------------------------------------------------------------- the course map


def state(data: dict, exercise: str) -> tuple[str, str]:
    """``("passed" | "failing" | "not tried", last message)`` of one exercise."""
    entry = data["exercises"].get(exercise)
    if not entry:
        return "not tried", ""
    return ("passed", "") if entry.get("passed") else ("failing", str(entry.get("message", "")))


def undone(data: dict, notebook: str) -> list[str]:
    return [e for e in exercises(notebook) if state(data, e)[0] != "passed"]


def _fmt(x) -> str:
    return f"{float(x):g}"


def course_map(data: dict, where: Path | None = None) -> str:
    """The text of ``mnistlib progress``: every notebook, every exercise, and the last grades."""
    lines = [f"Course progress ({where})" if where else "Course progress", ""]
    marks = {"passed": "[x]", "failing": "[!]", "not tried": "[ ]"}
    for notebook in notebooks():
        names = exercises(notebook)
        done = sum(state(data, e)[0] == "passed" for e in names)
        head = f"{notebook:<30} {done} of {len(names)} passed"
        grade = data["grades"].get(notebook)
        if grade:
            head += (
                f"   last grade {_fmt(grade['score'])} / {_fmt(grade['max_score'])} ({grade.get('time', '')})"
            )
        lines.append(head)
        width = max((len(e) for e in names), default=0)
        for name in names:
            status, message = state(data, name)
            line = f"  {marks[status]} {name:<{width}}  {status}"
            lines.append(line + (f": {message}" if message else ""))
    left = [(nb, e) for nb in notebooks() for e in undone(data, nb)]
    lines.append("")
    if left:
        lines.append(f"Next: {left[0][1]} in {left[0][0]} ({len(left)} exercise(s) left).")
    else:
        lines.append("Every exercise has passed its check.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mnistlib progress",
        description="Print the course map: every exercise passed / failing / not tried, and the last grades.",
    )
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        help=f"the course folder, e.g. my-work (default: from {ENV}, else the current folder)",
    )
    args = parser.parse_args(argv)
    path = progress_path(args.folder)
    if path is None:
        print(f"{ENV} is off: no progress is recorded.")
        return 0
    if args.folder is not None or os.environ.get(ENV) is None:
        problem = _not_a_course_folder(args.folder, path)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    print(course_map(load(path), path))
    return 0


def _not_a_course_folder(given: Path | None, path: Path) -> str | None:
    """Why ``path`` is no learner's progress file (a missing folder, or one with no course in it); None if it is."""
    if given is not None and not Path(given).expanduser().exists():
        return f"{given}: no such folder (give the folder your notebooks are in, e.g. my-work)"
    if path.suffix == ".json" and given is not None and Path(given).suffix == ".json":
        return None
    folder = path.parent
    if path.exists() or any((folder / nb).is_dir() for nb in notebooks()):
        return None
    where = given if given is not None else "this folder"
    return (
        f"{where} is not a course folder: it has no {FILE_NAME} and no notebook folders such as "
        f"{notebooks()[0]}/ (give the folder your notebooks are in, e.g. mnistlib progress my-work)"
    )


# ----------------------------------------------------------------------------------- in the notebooks


class _Display:
    """A display object with a plain-text and a rich (HTML or Markdown) form."""

    def __init__(self, plain: str, mime: str, rich: str) -> None:
        self.plain, self.mime, self.rich = plain, mime, rich

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.plain, self.mime: self.rich}

    def __repr__(self) -> str:
        return self.plain


#: Where the course's notebooks open on Google Colab: their Colab edition (the README's Colab links).
COLAB_NOTEBOOK = (
    "https://colab.research.google.com/github/mnist-keras-course/mnist-keras-course/blob/main/"
    "colab/{nb}.ipynb"
)


def on_colab() -> bool:
    """True in a Google Colab kernel, where a notebook has no course folder around it."""
    return "google.colab" in sys.modules


def notebook_link(nb: str) -> str:
    """Where a notebook of the course opens from this one: its Colab page on Colab, else the file next door."""
    return COLAB_NOTEBOOK.format(nb=nb) if on_colab() else f"../{nb}/{nb}.ipynb"


def progress_advice() -> str:
    """How to see the whole map from here: a terminal command, or on Colab a cell's ``!`` command."""
    return "`!mnistlib progress` in a cell" if on_colab() else "`mnistlib progress` in a terminal"


def _here_parts(notebook: str) -> tuple[str, str]:
    data = empty()
    if recording():
        with contextlib.suppress(Exception):
            path = progress_path()
            data = load(path) if path is not None else data
    plain, rich = [], []
    for nb in notebooks():
        names = exercises(nb)
        passed = sum(state(data, e)[0] == "passed" for e in names)
        tried = any(state(data, e)[0] != "not tried" for e in names)
        mark = "\u2714" if names and passed == len(names) else ("\u25d0" if tried else "")
        number = nb.split("-", 1)[0]
        status = f"{passed} of {len(names)} exercises passed"
        if nb == notebook:
            plain.append(f"[{nb}{' ' + mark if mark else ''}]")
            rich.append(
                f'<strong aria-current="page" title="{status}">{html.escape(nb)}{" " + mark if mark else ""}'
                "</strong>"
            )
        else:
            plain.append(number + mark)
            rich.append(
                f'<a href="{notebook_link(nb)}" title="{html.escape(nb)}: {status}">{number}{mark}</a>'
            )
    here = exercises(notebook)
    done = sum(state(data, e)[0] == "passed" for e in here)
    tail = f"  ({done} of {len(here)} exercises here passed; {progress_advice()} shows all)"
    text = "You are here: " + " \u00b7 ".join(plain) + tail
    markup = (
        '<nav aria-label="course map" style="font-family: sans-serif">You are here: '
        + " \u00b7 ".join(rich)
        + f" <small>{html.escape(tail.strip())}</small></nav>"
    )
    return text, markup


def _refresh_maps(data: dict | None = None) -> None:
    for widget in list(_live_maps):
        with contextlib.suppress(Exception):
            widget.plain, widget.value = _here_parts(widget.notebook)


def you_are_here(notebook: str):
    """The one-line course map a notebook opens with: a widget, with text and HTML fallbacks.

    It updates itself as checks pass in this kernel. Without a widget manager (a static
    viewer, nbconvert) the display bundle's HTML or plain text is shown instead.
    """
    plain, markup = _here_parts(notebook)
    try:
        import ipywidgets

        class _MapLine(ipywidgets.HTML):
            def _repr_mimebundle_(self, **kwargs):
                bundle = super()._repr_mimebundle_(**kwargs)
                bundle = dict(bundle) if isinstance(bundle, dict) else {}
                bundle["text/plain"] = self.plain
                bundle["text/html"] = self.value
                return bundle

        widget = _MapLine(value=markup)
        widget.plain, widget.notebook = plain, notebook
        _live_maps.append(widget)
        del _live_maps[:-20]
        return widget
    except Exception:
        return _Display(plain, "text/html", markup)


def whats_next(notebook: str):
    """The closing cell of a notebook: the next notebook, and anything left undone so far."""
    data = empty()
    if recording():
        with contextlib.suppress(Exception):
            path = progress_path()
            data = load(path) if path is not None else data
    order = notebooks()
    later = order[order.index(notebook) + 1 :] if notebook in order else []
    md, text = [], []
    if later:
        nxt = later[0]
        md.append(f"**Next:** [{nxt}]({notebook_link(nxt)}).")
        text.append(f"Next: {nxt} ({notebook_link(nxt)}).")
    else:
        md.append("**This was the last notebook of the course.**")
        text.append("This was the last notebook of the course.")
    here = undone(data, notebook)
    if here:
        items = ", ".join(f"`{e}` ({state(data, e)[0]})" for e in here)
        md.append(f'Still to do in this notebook: {items}. `mnistlib.hint("{here[0]}")` gives more help.')
        text.append("Still to do in this notebook: " + items.replace("`", "") + ".")
    else:
        md.append("Every exercise of this notebook has passed its check.")
        text.append(md[-1])
    earlier = [nb for nb in order[: order.index(notebook)] if undone(data, nb)] if notebook in order else []
    if earlier:
        md.append("Earlier notebooks with exercises left: " + ", ".join(earlier) + ".")
        text.append(md[-1])
    md.append(f"The whole map: {progress_advice()}.")
    text.append(md[-1].replace("`", ""))
    return _Display("\n".join(text), "text/markdown", "\n\n".join(md))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
