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
so they need mnistlib installed from one (``pip install -e .``). The command line is
:func:`mnistlib.cli.course_main`; this module holds what it works on.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

#: The package the course is installed as (the checkout's course/ folder; see pyproject.toml).
COURSE_PACKAGE = "mnistlib.course_files"
#: The grader's (instructor's) distribution: grading, exports, benchmarks, authoring and the course's
#: source/ (solutions and hidden tests), built from grader/ of the repository. Learners never need it.
GRADER_DISTRIBUTION = "mnist-keras-course-grader"


def grader_hint() -> str:
    """How to get the grader's distribution, in one sentence (the learner's package does not hold it)."""
    from . import __version__

    return (
        f"it comes with the grader's package, {GRADER_DISTRIBUTION}, which instructors install next to "
        f"this one: pip install {GRADER_DISTRIBUTION}=={__version__} (until it is on PyPI, build both wheels "
        "in a clone of the course repository: pip wheel --no-deps --wheel-dir dist . ./grader; "
        "see docs/instructor.md, section 3)"
    )


class CourseFilesMissing(RuntimeError):
    """mnistlib is installed without its course files (e.g. an editable install made before them)."""


def course_folder() -> Path:
    """The course installed with mnistlib: ``release/`` (the learner's distribution), and with the
    grader's distribution also ``nbgrader_config.py`` and ``source/``.

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
    if not isinstance(root, Path) or not (root / "release").is_dir():
        raise CourseFilesMissing(
            f"mnistlib's course files at {root} have no release/ folder: "
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


def has_source(course: Path = COURSE) -> bool:
    """Whether ``course`` has the source notebooks (an instructor's course, or the grader's package)."""
    return (course / "source").is_dir()


def assignment_ids(course: Path = COURSE) -> list[str]:
    """The assignment ids, in teaching order: the folders of ``course/source`` (of ``course/release``
    where the source is not installed: the learner's package)."""
    folder = course / ("source" if has_source(course) else "release")
    return sorted(p.name for p in folder.iterdir() if (p / f"{p.name}.ipynb").is_file())


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
    if not has_source(course):
        raise CourseFilesMissing(f"the course's source notebooks are not installed here: {grader_hint()}")
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
