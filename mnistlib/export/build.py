"""What every export carries: the course package as a wheel, MNIST with its SHA-256, the settings.

The wheel is the one `pip wheel` makes of this checkout (the course travels inside it, see
pyproject.toml), built with pip's build isolation in a scratch copy so the checkout gets no
``build/`` folder; or one the instructor built (``--wheel``). MNIST comes from this machine's verified cache (``mnistlib data
fetch``), so the graders never download it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .. import __version__, data
from ..course import COURSE, checkout
from ..grading import diagnose

#: The settings file every export carries next to its scripts.
CONFIG = "mnistlib-autograder.json"
WHEEL_PREFIX = "mnist_keras_course-"
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


class ExportError(Exception):
    """A problem building an export, worth one clear line."""


#: The grader's distribution's wheel (grader/pyproject.toml): graders need it next to the learner's.
GRADER_WHEEL_PREFIX = "mnist_keras_course_grader-"


def build_wheel(into: Path, given: Path | None = None) -> Path:
    """The course wheels in ``into``, the learner's and the grader's (docs/instructor.md, section 4):
    ``given`` (the learner's) and the grader's of the same version beside it copied, or both built
    from the checkout by ``pip wheel``. Returns the learner's.

    pip builds it as ``pip install`` did in docs/instructor.md's section 1: with build isolation,
    in a throw-away environment holding the setuptools pyproject.toml asks for (fetched from the
    package index, or pip's cache), never with whatever setuptools the running venv happens to
    have (``python3 -m venv`` brings 65.5 with Python 3.11; pyproject.toml needs 77 or newer).
    The one place the export makes its wheels: a second distribution is built here too.
    """
    into.mkdir(parents=True, exist_ok=True)
    if given is not None:
        if not given.is_file() or not given.name.startswith(WHEEL_PREFIX) or given.suffix != ".whl":
            raise ExportError(f"--wheel {given}: not a {WHEEL_PREFIX}*.whl file (build one with `pip wheel`)")
        grader = given.with_name(given.name.replace(WHEEL_PREFIX, GRADER_WHEEL_PREFIX, 1))
        if not grader.is_file():
            raise ExportError(
                f"--wheel {given}: the grader's wheel {grader.name} must be beside it "
                "(pip wheel --no-deps --wheel-dir dist . ./grader builds both)"
            )
        shutil.copyfile(grader, into / grader.name)
        return Path(shutil.copyfile(given, into / given.name))
    repo = checkout()
    if repo is None:
        raise ExportError(
            "this mnistlib is installed, not a checkout, so it cannot build its own wheel: pass --wheel "
            "with the mnist_keras_course wheel you installed (docs/instructor.md, section 3)"
        )
    with tempfile.TemporaryDirectory(prefix="mnistlib-wheel-") as tmp:
        copy = Path(tmp) / "src"
        ignore = shutil.ignore_patterns(
            "__pycache__", ".ipynb_checkpoints", "*.egg-info", "build",  # and an instructor's grading files:
            "gradebook.db", ".nbgrader.log", "submitted", "autograded", "feedback",
        )  # fmt: skip
        copy.mkdir()
        for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
            if (repo / name).is_file():
                shutil.copyfile(repo / name, copy / name)
        for folder in ("mnistlib", "course", "grader"):
            shutil.copytree(repo / folder, copy / folder, ignore=ignore)
        command = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--wheel-dir",
            str(into),
            str(copy),
            str(copy / "grader"),
        ]
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wheels = sorted(into.glob(f"{WHEEL_PREFIX}*.whl"))
    if done.returncode != 0 or not wheels or not list(into.glob(f"{GRADER_WHEEL_PREFIX}*.whl")):
        said = "\n".join(part.strip() for part in (done.stdout, done.stderr) if part.strip())
        raise ExportError(
            f"could not build the course wheel: `{sys.executable} -m pip wheel --no-deps` of a copy of "
            f"{repo} exited with status {done.returncode}. What it said:\n{said}\n"
            "What to do: pip builds the wheel in an environment of its own, with setuptools 77 or newer "
            "from your package index, so it needs the index (or pip's cache) that `pip install -e .` "
            "used; without pip in this environment, `python -m ensurepip`. Or build the wheel on a "
            "machine that can, with `pip wheel --no-deps --wheel-dir dist . ./grader` in the checkout, and pass "
            f"it with --wheel dist/{WHEEL_PREFIX}{__version__}-py3-none-any.whl"
        )
    return wheels[-1]


def both_wheels(learner: Path) -> list[Path]:
    """The learner's wheel that :func:`build_wheel` returned, and the grader's beside it."""
    return [learner, learner.with_name(learner.name.replace(WHEEL_PREFIX, GRADER_WHEEL_PREFIX, 1))]


def mnist_files() -> dict[str, Path]:
    """The four verified MNIST files of this machine's cache; :class:`ExportError` when not there."""
    folder = Path(os.environ["MNISTLIB_DATA"]) if os.environ.get("MNISTLIB_DATA") else data.cache_dir()
    files = {}
    for name, digest in data.IDX_SHA256.items():
        path = folder / name
        if not path.is_file() or data.sha256_file(path) != digest:
            raise ExportError(
                f"MNIST is not ready in {folder} ({name} missing or not verified): run `mnistlib data fetch` "
                "first; the export carries the data so that graders never download it"
            )
        files[name] = path
    return files


def sha256sums(files: dict[str, Path]) -> str:
    """``sha256sum``'s format: the file the scripts check with ``sha256sum --check``."""
    return "".join(f"{data.IDX_SHA256[name]}  {name}\n" for name in sorted(files))


def assignment_points(assignment: str, course: Path = COURSE) -> float:
    source = diagnose.read_notebook(course / "source" / assignment / f"{assignment}.ipynb")
    return float(sum(diagnose.points(source).values())) if source is not None else 0.0


def chosen_assignments(wanted: list[str], course: Path = COURSE) -> list[str]:
    from ..grading.command import course_assignments

    known = list(course_assignments(course))
    unknown = [a for a in wanted if a not in known]
    if unknown:
        raise ExportError(f"no assignment {', '.join(unknown)} in the course; it has {', '.join(known)}")
    return wanted or known


def settings(
    assignment: str, *, timeout: int, memory_mb: int, hidden_visibility: str = "after_published"
) -> dict:
    if hidden_visibility not in VISIBILITIES:
        raise ExportError(f"--hidden-visibility {hidden_visibility!r}: one of {', '.join(VISIBILITIES)}")
    return {
        "assignment": assignment,
        "points": assignment_points(assignment),
        "timeout": timeout,
        "memory_mb": memory_mb,
        "hidden_visibility": hidden_visibility,
        "mnistlib_version": __version__,
    }


def script(name: str) -> str:
    from importlib.resources import files

    return files("mnistlib.export").joinpath("scripts", name).read_text(encoding="utf-8")


def write_zip(path: Path, members: dict[str, bytes | Path], executable: set[str] = frozenset()) -> Path:
    """A zip of ``members`` (name -> bytes or file), written to a temporary name and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for name, content in members.items():
                info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o100755 if name in executable else 0o100644) << 16
                payload = content.read_bytes() if isinstance(content, Path) else content
                zf.writestr(info, payload)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_folder(folder: Path, members: dict[str, bytes | Path], executable: set[str] = frozenset()) -> Path:
    """``members`` as files of a new ``folder``, built beside it and renamed into place (replacing it)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        for name, content in members.items():
            target = partial / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            else:
                target.write_bytes(content)
            target.chmod(0o755 if name in executable else 0o644)
        old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(partial, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def config_bytes(config: dict) -> bytes:
    return (json.dumps(config, indent=1) + "\n").encode()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
