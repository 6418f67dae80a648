"""The course's two wheels, built ONCE per test session, and fresh venvs to install them into.

:func:`built` runs docs/instructor.md's build block (section 3: ``pip wheel ... . ./grader``, with
pip's build isolation) in a copy of the repository as a push would publish it, the first time a
test asks, and hands every later caller the same two wheels: the learner's ``mnist-keras-course``
and the grader's ``mnist-keras-course-grader`` (issue 23). tests/test_wheel.py and
tests/grading/test_answer_key_attacks.py share them.

:func:`fresh_venv` makes a venv that borrows the suite's installed packages (TensorFlow & co.:
installing them from PyPI takes minutes) but not its editable mnistlib: ``python -m venv
--without-pip`` plus a ``.pth`` file naming a folder of links to the suite venv's site-packages
entries, minus every trace of the suite's mnistlib (its ``__editable__`` finders and .pth, the two
dist-infos). pip then installs nothing but the wheels. The console scripts those packages would
have installed (``nbgrader``, ``jupyter``, ``pip``) are written into the fresh ``bin/``, and its
``share/jupyter`` (nbconvert's templates, JupyterLab's pages) is a link to the suite venv's.
"""

from __future__ import annotations

import atexit
import functools
import importlib.metadata
import os
import re
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from doc_commands import block
from fresh_clone import base_env, make_origin, run_block, run_script

DOC = "docs/instructor.md"
SECTION = "3. JupyterHub with nbgrader's exchange"
MAIN_SITE = Path(sysconfig.get_paths()["purelib"])
#: What of the suite's venv a fresh one must not see: the editable mnistlib, and .pth files.
NOT_BORROWED = re.compile(r"^(__editable__|mnist_keras_course(_grader)?-|mnistlib$|__pycache__$)|\.pth$")
DISTRIBUTIONS = ("mnist-keras-course", "mnist-keras-course-grader")


def borrow_main_packages(venv: Path) -> None:
    """Let ``venv`` import the suite venv's packages (not its mnistlib) and run their commands."""
    site = Path(
        sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)}, scheme="venv")["purelib"]
    )
    farm = venv / "borrowed-site-packages"
    farm.mkdir()
    for entry in MAIN_SITE.iterdir():
        if not NOT_BORROWED.search(entry.name):
            (farm / entry.name).symlink_to(entry)
    (site / "borrowed-site-packages.pth").write_text(f"{farm}\n")
    python = venv / "bin" / "python"
    for dist in importlib.metadata.distributions(path=[str(MAIN_SITE)]):
        if dist.metadata["Name"] in DISTRIBUTIONS:
            continue
        for entry_point in dist.entry_points.select(group="console_scripts"):
            script = venv / "bin" / entry_point.name
            if script.exists():
                continue
            script.write_text(
                f"#!{python}\nimport sys\nfrom {entry_point.module} import {entry_point.attr.split('.')[0]}\n"
                f"if __name__ == '__main__':\n    sys.exit({entry_point.attr}())\n"
            )
            script.chmod(0o755)


def fresh_venv(venv: Path, cache: Path, python: str = sys.executable) -> dict:
    """A new venv of ``python`` borrowing the suite's packages; the environment with it activated."""
    done = run_script(f"{python} -m venv --without-pip {venv}", venv.parent, os.environ)
    assert done.returncode == 0, done.stderr
    borrow_main_packages(venv)
    # nbconvert's templates (nbgrader's feedback) and JupyterLab's pages live in share/jupyter, which
    # pip fills with those packages' wheels: only site-packages is borrowed, so link the suite's
    (venv / "share").mkdir(exist_ok=True)
    (venv / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
    env = base_env(cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # else setuptools warns that it cannot byte-compile
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    return env


@functools.cache
def built() -> dict:
    """Both wheels, built by the page's block once per session: ``{"learner", "grader": wheel path,
    "output": what pip printed, "seconds": build time, "origin": the published copy}``."""
    tmp = Path(tempfile.mkdtemp(prefix="mnistlib-wheels-"))
    atexit.register(shutil.rmtree, tmp, True)
    origin = make_origin(tmp / "origin")
    cache = tmp / "cache"
    cache.mkdir()
    env = fresh_venv(tmp / "build-venv", cache)
    started = time.perf_counter()
    done = run_block(block(DOC, SECTION, 0), origin, dict(env, PIP_VERBOSE="1"))
    wheels = {w.name.split("-")[0]: w for w in (origin / "dist").glob("*.whl")}
    return {
        "learner": wheels.get("mnist_keras_course"),
        "grader": wheels.get("mnist_keras_course_grader"),
        "names": sorted(w.name for w in wheels.values()),
        "output": done.stdout + done.stderr,
        "seconds": time.perf_counter() - started,
        "origin": origin,
    }
