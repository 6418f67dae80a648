"""A fresh clone of the repository, set up by the documents' own commands (session fixture).

``fresh_clone`` does what a newcomer does, in a temporary folder:

1. makes an "origin" repository from the files of this checkout (tracked, and untracked but
   not ignored, as they are now), so the clone holds what a push would publish;
2. runs docs/instructor.md's section-1 block as written (``git clone <the course repository>``,
   a venv, ``pip install -e . -e ./grader``, ``mnistlib data fetch``), the placeholder replaced by
   the origin's path;
3. runs the README's set-up block as written (``.[dev]`` on top, ``mnistlib data fetch``).

Every later test that needs a clone uses this one. ``guide_clone`` is a second clone set up by
steps 1 and 2 alone: the instructor guide's venv exactly, where the exports and the sandbox check
run. What differs from a newcomer's machine, and why: ``HOME`` is a temporary folder (the suite's isolation), so pip is pointed at the real pip
cache (``PIP_CACHE_DIR``: no second download of TensorFlow) and ``MNISTLIB_CACHE`` at a folder
holding the four verified MNIST files (``mnistlib data fetch`` then finds them, as it would on
a machine that fetched them once).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from doc_commands import REPO, Block, block

from mnistlib import data

REAL_HOME = Path.home()  # read at import, before the suite points HOME at a temporary folder
INSTALL_TIMEOUT_S = 1800


@dataclass
class Clone:
    root: Path  # the clone: <work>/mnist-keras-course
    work: Path  # the folder the clone command ran in
    origin: Path  # the repository it was cloned from
    cache: Path  # MNISTLIB_CACHE, holding verified MNIST
    env: dict  # the environment for commands run in the clone (no venv activated)

    @property
    def venv_bin(self) -> Path:
        return self.root / ".venv" / "bin"

    def activated(self, **extra) -> dict:
        """``env`` as after ``. .venv/bin/activate`` (what the instructor guide does), plus ``extra``."""
        env = dict(self.env, VIRTUAL_ENV=str(self.root / ".venv"))
        env["PATH"] = os.pathsep.join([str(self.venv_bin), env["PATH"]])
        env.update({k: str(v) for k, v in extra.items()})
        return env


def base_env(cache: Path) -> dict:
    """This process's (isolated) environment without any trace of the suite's own venv."""
    ours = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != ours)
    for name in [n for n in env if n.startswith(("MNISTLIB_", "JUPYTER", "PIP_"))]:
        del env[name]
    env.update(
        MNISTLIB_CACHE=str(cache),
        PIP_CACHE_DIR=str(REAL_HOME / ".cache" / "pip"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_PROGRESS_BAR="off",
    )
    return env


def run_script(script: str, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``script`` with bash, stopping at the first failing command (``-e``)."""
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run_block(doc_block: Block, cwd: Path, env: dict, replace: dict | None = None, timeout: float = 600):
    """Run a document's block as written (placeholders in ``replace`` substituted); fail on error."""
    script = doc_block.text
    for old, new in (replace or {}).items():
        script = script.replace(old, new)
    done = run_script(script, cwd, env, timeout)
    assert done.returncode == 0, (
        f"{doc_block.doc}, block {doc_block.number} under {doc_block.heading!r} failed "
        f"(exit {done.returncode}):\n{script}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-5000:]}"
    )
    return done


def make_origin(target: Path) -> Path:
    """A git repository holding this checkout's files as they are now, committed on ``main``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is not published
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@127.0.0.1", "-c", "init.defaultBranch=main"]
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the course as published"]):
        subprocess.run([*git, *argv], cwd=target, check=True, capture_output=True)
    return target


def clone_by_the_guide(tmp: Path, mnist_idx_dir: Path) -> Clone:
    """A clone set up by docs/instructor.md's section-1 block as written, and nothing else."""
    cache = tmp / "mnist-cache"
    cache.mkdir()
    for name in data.IDX_SHA256:
        shutil.copyfile(mnist_idx_dir / name, cache / name)
    origin = make_origin(tmp / "origin")
    work = tmp / "work"
    work.mkdir()
    env = base_env(cache)
    setup = block("docs/instructor.md", "1. Set up (once)")
    run_block(setup, work, env, {"<the course repository>": shlex.quote(str(origin))}, INSTALL_TIMEOUT_S)
    return Clone(root=work / "mnist-keras-course", work=work, origin=origin, cache=cache, env=env)


@pytest.fixture(scope="session")
def fresh_clone(tmp_path_factory, mnist_idx_dir) -> Clone:
    clone = clone_by_the_guide(tmp_path_factory.mktemp("fresh-clone"), mnist_idx_dir)
    run_block(block("README.md", "Quickstart", 1), clone.root, clone.env, timeout=INSTALL_TIMEOUT_S)
    return clone


@pytest.fixture(scope="session")
def guide_clone(tmp_path_factory, mnist_idx_dir) -> Clone:
    """A clone with the instructor guide's venv exactly: section 1 only, no README ``.[dev]`` on top.

    ``fresh_clone``'s venv has the developers' extras too, which may bring newer build tools than
    a stock ``python3 -m venv`` (setuptools 65.5 with Python 3.11); the exports are run here, in
    what an instructor following the guide has (one more install of TensorFlow & co., from pip's
    cache: about 2 minutes on 2 free cores).
    """
    return clone_by_the_guide(tmp_path_factory.mktemp("guide-clone"), mnist_idx_dir)
