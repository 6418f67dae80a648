"""A real JupyterLab for the tests that start one as a user would (make lab, course start).

Start it with the user's command, learn the URL it asks the browser to open, read the server
through its REST API on 127.0.0.1, and stop it with every process it started.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

NOTEBOOK_01 = "01-loading-data/01-loading-data.ipynb"
OPEN_TIMEOUT_S = 900  # make lab may first re-run pip (everything already installed) and fetch nothing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:  # only 127.0.0.1 / localhost
        return json.loads(response.read().decode())


#: How long a kernel listing is asked again while the server answers 500 (see list_kernels).
RACE_S = 10.0


def list_kernels(server: str, token: str) -> list[dict]:
    """``GET /api/kernels``, asked again for up to RACE_S seconds while the server answers 500.

    jupyter_server 2.x puts a starting kernel in its list a moment before it sets the kernel's
    ``last_activity``; a listing in between fails inside ``kernel_model`` with a 500 (seen in CI,
    and here 4 times in 521 listings while 8 kernels started; also enterprise_gateway#1395).
    JupyterLab simply polls again, and so do the tests. Any other error, or a 500 that lasts, fails.
    """
    deadline = time.monotonic() + RACE_S
    while True:
        try:
            return get_json(f"{server}/api/kernels?token={token}")
        except urllib.error.HTTPError as error:
            if error.code != 500 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def lab_env(clone, tmp: Path, *, allow_root: bool) -> dict:
    """The clone's environment with Jupyter's folders in ``tmp`` and a browser that only records."""
    recorder = tmp / "browser.sh"
    recorder.write_text(f'#!/bin/sh\necho "$@" >> "{tmp / "opened.txt"}"\n')
    recorder.chmod(0o755)
    config = tmp / "jupyter-config"
    config.mkdir()
    if allow_root:  # plays a learner who is not root: JupyterLab refuses root without --allow-root
        (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"allow_root": True}}))
    return dict(
        clone.env,
        BROWSER=str(recorder),
        MNISTLIB_QUICK="1",
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
    )


def opened_url(tmp: Path, process: subprocess.Popen, log: Path) -> str:
    """The notebook URL JupyterLab asked the browser to open (through its redirect file)."""
    opened = tmp / "opened.txt"
    deadline = time.monotonic() + OPEN_TIMEOUT_S
    while not opened.is_file() or not opened.read_text().strip():
        if process.poll() is not None:
            pytest.fail(
                f"the command exited ({process.returncode}) before opening a browser:\n{log.read_text()}"
            )
        assert time.monotonic() < deadline, f"no browser was opened in {OPEN_TIMEOUT_S} s:\n{log.read_text()}"
        time.sleep(0.5)
    target = opened.read_text().split()[0]
    if target.startswith("file://"):  # jupyter_server's redirect page: <meta ... url=http://...>
        page = Path(target.removeprefix("file://")).read_text()
        target = re.search(r'url=(http[^"]+)"', page).group(1)
    return target.replace("&amp;", "&")


def start(command: str, cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", "-e", "-c", command],
        cwd=cwd,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the command's process group (what Ctrl-C's second press does); nothing may remain."""
    family = [process.pid]
    try:
        family += [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        pass
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    deadline = time.monotonic() + 30
    alive = [pid for pid in family if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    while alive and time.monotonic() < deadline:
        time.sleep(0.5)
        alive = [pid for pid in alive if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"processes left running after the server stopped: {alive}"
