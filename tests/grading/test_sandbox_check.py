"""`mnistlib grade --check-sandbox`: one screen saying whether grading is sandboxed here, and why not.

The working case runs the real bwrap and a real tiny notebook in the grading sandbox. Each cause of
failure is made as the check would meet it: no bwrap on PATH; a bwrap that fails as it does there
(tests/export_roots.py's trick) together with the kernel settings faked through
``MNISTLIB_PROC_SYS`` (for /proc/sys) or ``MNISTLIB_PROC_STATUS`` (for /proc/self/status); the
causes that hold only for a user who is not root are run as ``nobody`` (``setpriv``), since the
suite runs as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from doc_commands import block
from fresh_clone import run_block

from mnistlib.grading import sandbox as grading_sandbox

PYTHON_BIN = str(Path(sys.executable).parent)
FAILING_BWRAP = '#!/bin/sh\necho "bwrap: setting up uid map: Permission denied" >&2\nexit 1\n'


def check(env: dict, as_nobody: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mnistlib", "grade", "--check-sandbox"]
    if as_nobody:
        if shutil.which("setpriv") is None or os.geteuid() != 0:
            pytest.skip("needs root and setpriv (util-linux) to check as a user that is not root")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def world(tmp_path_factory) -> Path:
    """A folder ``nobody`` can read and write: HOME, the fake bwrap, the fake /proc files."""
    folder = tmp_path_factory.mktemp("check-sandbox")
    for part in [folder, *folder.parents]:
        if part == Path("/"):
            break
        os.chmod(part, os.stat(part).st_mode | 0o005)  # traversable for others (pytest's are 0700)
    folder.chmod(0o777)
    (folder / "bin").mkdir()
    (folder / "bin" / "bwrap").write_text(FAILING_BWRAP)
    (folder / "bin" / "bwrap").chmod(0o755)
    return folder


def env_with(folder: Path, path: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNISTLIB_PROC")}
    env.update(HOME=str(folder), PATH=path, **{k: str(v) for k, v in extra.items()})
    return env


def proc_sys(folder: Path, **values) -> Path:
    root = folder / "proc-sys"
    for name, value in values.items():
        target = root / name.replace(".", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"{value}\n")
    os.system(f"chmod -R a+rX {root}")
    return root


@pytest.mark.slow  # grades a notebook in the sandbox's kernel
def test_where_bwrap_works_a_tiny_notebook_runs_sandboxed(tmp_path):
    if grading_sandbox.problem() is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the sandbox does not work in CI: {grading_sandbox.problem()}", pytrace=False)
        pytest.skip(f"bwrap does not work here: {grading_sandbox.problem()}")
    done = check(dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: grading is sandboxed here: a tiny notebook ran in the grading sandbox as user" in done.stdout
    assert "with no network and no view of the grading account's files" in done.stdout


def test_without_bwrap_it_says_install_bubblewrap(world):
    done = check(env_with(world, f"{world / 'empty'}{os.pathsep}{PYTHON_BIN}"))
    assert done.returncode == 1
    assert "NOT SANDBOXED: bubblewrap (bwrap) is not installed." in done.stdout
    assert "Fix: install it: `sudo apt install bubblewrap`" in done.stdout


def test_apparmors_restriction_is_named_with_the_sysctl_and_the_profile(world):
    fake = proc_sys(world, **{"kernel.apparmor_restrict_unprivileged_userns": 1})
    path = f"{world / 'bin'}{os.pathsep}{PYTHON_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"
    done = check(env_with(world, path, MNISTLIB_PROC_SYS=fake), as_nobody=True)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "NOT SANDBOXED: AppArmor refuses unprivileged user namespaces here" in out
    assert "bwrap said: bwrap: setting up uid map: Permission denied" in out
    assert "install" not in out.split("Fix:", 1)[1].split("\n\n", 1)[0], "bwrap is installed: no install hint"
    assert f"profile bwrap {world / 'bin' / 'bwrap'} flags=(unconfined) {{\n  userns," in out
    assert "sudo apparmor_parser -r /etc/apparmor.d/bwrap" in out
    assert "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in out


def test_user_namespaces_turned_off_for_a_user_that_is_not_root(world):
    fake = proc_sys(
        world, **{"user.max_user_namespaces": 0, "kernel.apparmor_restrict_unprivileged_userns": 0}
    )
    path = f"{world / 'bin'}{os.pathsep}{PYTHON_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"
    done = check(env_with(world, path, MNISTLIB_PROC_SYS=fake), as_nobody=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT SANDBOXED: user namespaces are turned off (user.max_user_namespaces = 0)" in done.stdout
    assert (
        "sudo sysctl -w user.max_user_namespaces=15000" in done.stdout and "or grade as root" in done.stdout
    )


def test_a_containers_seccomp_filter_is_named_with_the_runtime_settings(world):
    status = world / "status"
    status.write_text("Name:\tpython\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n")
    fake = proc_sys(world, **{"user.max_user_namespaces": 15000})
    path = f"{world / 'bin'}{os.pathsep}{PYTHON_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"
    done = check(env_with(world, path, MNISTLIB_PROC_SYS=fake, MNISTLIB_PROC_STATUS=status))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT SANDBOXED: this runs in a container whose seccomp filter refuses" in done.stdout
    assert "--security-opt seccomp=unconfined" in done.stdout
    assert "seccompProfile: {type: Unconfined}" in done.stdout


def test_grading_a_class_with_a_failing_bwrap_points_to_the_check_not_to_an_install(world, tmp_path):
    release = Path(__file__).resolve().parents[2] / "course" / "release" / "01-loading-data"
    target = tmp_path / "submitted" / "ada" / "01-loading-data"
    target.mkdir(parents=True)
    shutil.copyfile(release / "01-loading-data.ipynb", target / "01-loading-data.ipynb")
    path = f"{world / 'bin'}{os.pathsep}{PYTHON_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib", "grade", str(tmp_path / "submitted")],
        env=env_with(world, path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "grading a class needs the grading sandbox, but bwrap does not work here" in done.stderr
    assert "`mnistlib grade --check-sandbox` names the cause and the fix for this machine" in done.stderr
    assert "install bubblewrap" not in done.stderr


@pytest.mark.slow
def test_the_guides_check_runs_as_written_in_the_guides_venv(guide_clone):
    """docs/instructor.md, section 1: the check, in the clone and venv the section made."""
    if grading_sandbox.problem() is not None and not os.environ.get("CI"):
        pytest.skip(f"bwrap does not work here: {grading_sandbox.problem()}")
    done = run_block(
        block("docs/instructor.md", "1. Set up (once)", 1), guide_clone.root, guide_clone.activated()
    )
    assert "OK: grading is sandboxed here" in done.stdout
