"""``mnistlib course start [FOLDER]``: a learner's copy of the course, opened in JupyterLab.

    pip install mnist-keras-course
    mnistlib course start              # my-work/, then JupyterLab on notebook 01
    mnistlib course start notes --port 8899 --no-browser

What ``make lab`` does in a checkout, for anyone who installed the package (no checkout, no make):
copy the student notebooks of the installed course into FOLDER (``copy-release``: a notebook that
is already there is never overwritten, so answers are safe), then run JupyterLab inside FOLDER
with the same flags as the Makefile's ``lab`` target (and ``default_url``, so that the link
JupyterLab prints opens notebook 01 as well): the server's root is FOLDER, so the
notebook path is relative to both; ``--allow-root`` when run as root (JupyterLab refuses root
without it, and in a container one often is root); and ``MALLOC_ARENA_MAX=2``, which keeps the
kernels' memory down (docs/benchmarks.md), unless it is already set.

It is a learner's JupyterLab: ``JUPYTER_CONFIG_PATH`` puts :data:`LEARNER_JUPYTER` (the folder
``mnistlib/learner_jupyter`` of the package: ``labconfig/page_config.json`` and
``jupyter_server_config.json``) first among the places Jupyter reads its settings from, so
nbgrader's instructor extensions (the Nbgrader menu, Create Assignment, formgrader, course and
assignment lists, Validate) and JupyterLab's news pop-up are off and locked, nbgrader's server
extensions are not loaded (and do not warn about a missing nbgrader_config.py), and nothing is
written to the learner's home. ``make lab`` and Binder (binder/start) point to the same folder;
an instructor's own ``jupyter lab`` does not, and keeps nbgrader's tools.

A second ``start`` for a folder that a running JupyterLab already serves does not open a second
server on the next port: it prints that server's link and exits with status 1.

JupyterLab replaces this process (``exec``), so Ctrl-C, signals and the exit status are
JupyterLab's own, and stopping it leaves nothing behind.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from .course import copy_release
from .notebook import MALLOC_ARENAS

#: The Jupyter configuration folder of a learner's JupyterLab (see the module's docstring).
LEARNER_JUPYTER = Path(__file__).resolve().parent / "learner_jupyter"

DEFAULT_FOLDER = "my-work"
FIRST_NOTEBOOK = "01-loading-data/01-loading-data.ipynb"


def lab_command(port: int | None = None, browser: bool = True, root: bool | None = None) -> list[str]:
    """The JupyterLab command ``start`` runs inside the learner's folder (as the Makefile's ``lab``)."""
    if root is None:
        root = hasattr(os, "geteuid") and os.geteuid() == 0
    # default_url: the links JupyterLab prints (and its "/") lead to notebook 01 too, not only the browser it opens
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.root_dir=.",
        f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}",
    ]
    if port is not None:
        command.append(f"--port={port}")
    if root:
        command.append("--allow-root")
    if not browser:
        command.append("--no-browser")
    return [*command, FIRST_NOTEBOOK]


def learner_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with :data:`LEARNER_JUPYTER` first on ``JUPYTER_CONFIG_PATH`` (kept: what was there)."""
    before = env.get("JUPYTER_CONFIG_PATH")
    paths = [str(LEARNER_JUPYTER), *([before] if before else [])]
    return {**env, "JUPYTER_CONFIG_PATH": os.pathsep.join(paths)}


def running_server(folder: Path) -> dict | None:
    """A Jupyter server already serving ``folder`` (as ``jupyter server list`` knows it), or None."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    target = folder.resolve()
    for server in list_running_servers():  # only servers whose process is alive
        root = server.get("root_dir") or server.get("notebook_dir")
        if root and Path(root).resolve() == target:
            return server
    return None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number (a whole number, e.g. 8899)"
        ) from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number: ports go from 1 to 65535")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mnistlib course start",
        description="Copy the student notebooks into FOLDER (never overwriting a notebook already there) "
        "and open notebook 01 in JupyterLab. Stop it with Ctrl-C, twice.",
    )
    parser.add_argument(
        "folder", nargs="?", default=DEFAULT_FOLDER, help=f"your work folder (default: {DEFAULT_FOLDER})"
    )
    parser.add_argument(
        "--port", type=_port, help="the port JupyterLab serves on (default: 8888, or the next free one)"
    )
    parser.add_argument(
        "--no-browser",
        dest="browser",
        action="store_false",
        help="do not open a browser; open the link JupyterLab prints yourself",
    )
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        parser.error(f"{folder} is a file, not a folder: name a folder for your notebooks")
    if importlib.util.find_spec("jupyterlab") is None:
        print(
            f"error: JupyterLab is not installed in this Python ({sys.executable}); "
            'install it with: pip install "mnist-keras-course[lab]"',
            file=sys.stderr,
        )
        return 2
    running = running_server(folder) if folder.is_dir() else None
    if running is not None:
        token = running.get("token")
        link = f"{running['url'].rstrip('/')}/lab" + (f"?token={token}" if token else "")
        print(
            f"JupyterLab is already running for {folder} (process {running.get('pid')}): open {link} "
            "(or stop that server with Ctrl-C, twice, in its terminal, then start again)",
            file=sys.stderr,
        )
        return 1
    copied, kept = copy_release(folder)
    print(
        f"{len(copied)} notebook file(s) copied to {folder}, {len(kept)} already there kept unchanged; "
        f"opening {FIRST_NOTEBOOK} in JupyterLab (stop it with Ctrl-C, twice)",
        flush=True,
    )
    command = lab_command(args.port, args.browser)
    env = learner_environment(dict(os.environ))
    env.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))
    os.chdir(folder)
    if os.name == "posix":
        os.execve(command[0], command, env)  # does not return
    import subprocess  # Windows has no exec that keeps the console: wait for JupyterLab instead

    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130
