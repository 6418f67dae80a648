"""A learner's JupyterLab and an instructor's, as real servers on 127.0.0.1.

With mnistlib/learner_jupyter first on JUPYTER_CONFIG_PATH (what ``make lab``, ``mnistlib course
start`` and binder/start do), the page JupyterLab serves disables and locks nbgrader's lab plugins
and the news pop-up, and the server loads none of nbgrader's server extensions and logs nothing
about nbgrader. A plain ``jupyter lab`` (an instructor's, docs/instructor.md) keeps them all.
What the learner's page then shows in Chromium is tests/test_browser.py's.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from jupyter_lab import free_port

from mnistlib.course_start import learner_environment

pytestmark = pytest.mark.slow

INSTRUCTOR_PLUGINS = {
    "@jupyter/nbgrader:menu",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
}
NEWS = "@jupyterlab/apputils-extension:announcements"


def serve(tmp: Path, env: dict) -> tuple[dict, str]:
    """Start JupyterLab, read its /lab page's configuration, stop it: (page config, server log)."""
    port, token = free_port(), secrets.token_hex(8)
    env = dict(env, JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    log = tmp / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={tmp}",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/lab?token={token}", timeout=10
                    ) as page:
                        html = page.read().decode()
                    break
                except OSError:
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "JupyterLab did not answer:\n" + log.read_text()
                    time.sleep(0.5)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, html[:2000]
    return json.loads(found.group(1)), log.read_text()


def test_a_learners_lab_has_no_instructor_tools_and_no_news(tmp_path):
    (tmp_path / "config").mkdir()
    config, log = serve(tmp_path, learner_environment(dict(os.environ)))
    disabled, locked = set(config["disabledExtensions"]), set(config.get("lockedExtensions", []))
    assert INSTRUCTOR_PLUGINS | {NEWS} <= disabled, disabled
    assert INSTRUCTOR_PLUGINS | {NEWS} <= locked, locked  # the Plugin Manager cannot switch them back on
    assert "nbgrader" not in log.lower(), log  # no server extension loaded, no nbgrader_config.py warning


def test_an_instructors_plain_jupyter_lab_keeps_nbgrader(tmp_path):
    (tmp_path / "config").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
    config, log = serve(tmp_path, env)
    assert not INSTRUCTOR_PLUGINS & set(config["disabledExtensions"]), config["disabledExtensions"]
    assert "nbgrader.server_extensions.formgrader | extension was successfully loaded" in log, log
