"""The course's notebooks: copy them for a learner or an instructor, regenerate, or drift-check them.

    mnistlib course build   # course/release/<id>/<id>.ipynb and solutions/<id>.ipynb
    mnistlib course check   # exit 1 and name every file that differs from a fresh build
    mnistlib course copy-release DEST   # a learner's working copy; never overwrites their work
    mnistlib course copy-course DEST    # an instructor's nbgrader course root (config, source, release)
    mnistlib course where   # the folder of the course installed with mnistlib
    mnistlib course start [FOLDER] [--port N] [--no-browser]   # copy-release, then JupyterLab on 01

The course travels with the package: the repository's ``course/`` folder is installed as the
subpackage ``mnistlib.course_files`` (pyproject.toml), found here through importlib.resources, so
an installed wheel grades and copies notebooks without a checkout. ``build`` and ``check`` are
course authoring (:mod:`mnistlib.authoring`): they write to, and compare with, a checkout's files,
so they need mnistlib installed from one (``pip install -e .``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib import resources
from pathlib import Path

#: The package the course is installed as (the checkout's course/ folder; see pyproject.toml).
COURSE_PACKAGE = "mnistlib.course_files"


class CourseFilesMissing(RuntimeError):
    """mnistlib is installed without its course files (e.g. an editable install made before them)."""


def course_folder() -> Path:
    """The course installed with mnistlib: ``nbgrader_config.py``, ``source/`` and ``release/``.

    Found through importlib.resources: ``site-packages/mnistlib/course_files`` when mnistlib is
    installed from a wheel, the checkout's ``course/`` folder in an editable install.
    """
    try:
        root = resources.files(COURSE_PACKAGE)
    except ModuleNotFoundError as err:
        raise CourseFilesMissing(
            f"mnistlib's course files ({COURSE_PACKAGE}) are not installed: this mnistlib was installed "
            "before they were packaged; install it again (in a checkout: pip install -e .)"
        ) from err
    if not isinstance(root, Path) or not (root / "source").is_dir():
        raise CourseFilesMissing(
            f"mnistlib's course files at {root} have no source/ folder: "
            "install mnist-keras-course again (unpacked, not from a zip file)"
        )
    return root


def checkout() -> Path | None:
    """The repository checkout the course files come from (an editable install), or None (a wheel)."""
    repo = COURSE.parent
    if (repo / "pyproject.toml").is_file() and (repo / "mnistlib").is_dir() and COURSE.name == "course":
        return repo
    return None


COURSE = course_folder()
#: The checkout (None when mnistlib is installed from a wheel) and its generated worked solutions.
REPO = checkout()
SOLUTIONS = REPO / "solutions" if REPO else None


def assignment_ids(course: Path = COURSE) -> list[str]:
    """The assignment ids, in teaching order: the folders of ``course/source``."""
    source = course / "source"
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def copy_release(dest: Path, release: Path = COURSE / "release") -> tuple[list[Path], list[Path]]:
    """Copy the student notebooks to ``dest/<id>/``; files already there are kept as they are.

    Returns ``(copied, kept)``. Learners work on these copies, so re-running
    ``make lab`` never loses their answers and the committed release stays clean.
    """
    return _copy_new(release, dest, sorted(release.rglob("*")))


def copy_course(dest: Path, course: Path = COURSE) -> tuple[list[Path], list[Path]]:
    """An instructor's own nbgrader course root in ``dest``: the config, ``source/`` and ``release/``.

    nbgrader writes its gradebook, ``submitted/``, ``autograded/`` and ``feedback/`` next to its
    config, so instructors run it in a copy they own, not in the installed package. Files already
    in ``dest`` are kept as they are (an instructor's edits survive). Returns ``(copied, kept)``.
    """
    files = [course / "nbgrader_config.py"]
    for folder in ("source", "release"):
        files += sorted((course / folder).rglob("*"))
    return _copy_new(course, dest, files)


def _copy_new(root: Path, dest: Path, sources: list[Path]) -> tuple[list[Path], list[Path]]:
    copied, kept = [], []
    for source in sources:
        if not source.is_file() or "__pycache__" in source.parts:
            continue
        target = dest / source.relative_to(root)
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)  # contents only: the copy is writable even if the install is not
        copied.append(target)
    return copied, kept


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["start"]:  # its own options (--port, --no-browser): see mnistlib/course_start.py
        from .course_start import main as start

        return start(argv[1:])
    actions = {
        "start": "copy the student notebooks into my-work/ and open notebook 01 in JupyterLab "
        "(see: mnistlib course start --help)",
        "copy-release": "copy the student notebooks into DEST (a notebook already there is kept)",
        "copy-course": "make an nbgrader course of your own in DEST (instructors)",
        "where": "print the folder of the course installed with mnistlib",
        "build": "regenerate the release and the solutions from the sources (a checkout)",
        "check": "check that the release and the solutions match their sources (a checkout)",
    }
    epilog = "actions:\n" + "\n".join(f"  {name:<13} {text}" for name, text in actions.items())
    parser = argparse.ArgumentParser(
        prog="mnistlib course",
        description=__doc__.split("\n\n")[0],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=list(actions), help="what to do (see actions below)")
    parser.add_argument(
        "dest",
        nargs="?",
        help="with copy-release: the learner's work folder; with copy-course: the new course root "
        "(start has options of its own: mnistlib course start --help)",
    )
    args = parser.parse_args(argv)
    if args.action == "where":
        print(COURSE)
        return 0
    if args.action in ("copy-release", "copy-course"):
        if not args.dest:
            parser.error(f"{args.action} needs a destination folder")
        if args.action == "copy-release":
            copied, kept = copy_release(Path(args.dest))
            what = "notebook file(s)"
        else:
            copied, kept = copy_course(Path(args.dest))
            what = "course file(s) (nbgrader_config.py, source/, release/)"
        print(f"{len(copied)} {what} copied to {args.dest}, {len(kept)} already there kept unchanged")
        return 0
    if REPO is None:
        print(
            f"error: `mnistlib course {args.action}` regenerates the release and solutions of a checkout "
            f"of the course repository, but this mnistlib is installed without one (its course: {COURSE}). "
            "Run it in a clone, with mnistlib installed from there (pip install -e .).",
            file=sys.stderr,
        )
        return 2
    from .authoring import build, drift  # nbgrader's converters: only for a checkout's maintainers

    if args.action == "build":
        ids = build(COURSE / "release", SOLUTIONS)
        print(f"generated the release and solutions of {len(ids)} assignments: {', '.join(ids)}")
        return 0
    problems = drift()
    for line in problems:
        print(line)
    if problems:
        print("run `mnistlib course build` (or `make generate`) and commit the result", file=sys.stderr)
        return 1
    print("release and solutions match their sources")
    return 0
