"""`mnistlib export gradescope`: the zip, its setup.sh in a fresh venv, its run_autograder on real submissions.

One export (notebooks 01 and 02) is built with the real command, as the guide says, in a clone
whose venv section 1 made (``guide_clone``: a stock ``python3 -m venv``, whose own setuptools may
be too old to build the wheel, so the export must build it as pip does, with build isolation); ``setup.sh`` runs in a temporary
``/autograder`` (``MNISTLIB_AUTOGRADER_ROOT``) with ``MNISTLIB_SKIP_SYSTEM_PACKAGES=1`` (apt-get is
the one step left out) into a fresh venv that borrows the suite's installed dependencies
(tests/test_wheel.py's trick; pip installs the wheel from the zip offline). Then ``run_autograder``
grades each case in its own root, all at once, as Gradescope's containers would, and every
results.json is checked against a JSON Schema written from Gradescope's specification.

Time (2 cores): about 15 s to export and set up, 50-70 s for the cases (three are graded for real:
02's solution in the sandbox, 02's release with a bwrap that fails as in Docker, 01 with a bug only
a hidden test sees; the broken submissions are refused in seconds).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from course_wheels import borrow_main_packages
from doc_commands import block
from export_roots import (
    DOC,
    fake_bwrap_path,
    hidden_only_bug_01,
    link_tree,
    release,
    solution,
    start,
    submission,
    valid,
    wait_all,
)
from fresh_clone import run_block

pytestmark = [pytest.mark.slow, pytest.mark.network]  # network: the wheel's build tools

SCHEMA = "gradescope-results.schema.json"
NOT_JSON = '{"cells": [ this is not JSON'

CASES = {  # case -> (the assignment's zip, files uploaded, use the failing bwrap)
    "solution": ("02-reshaping", {"02-reshaping.ipynb": solution("02-reshaping")}, False),
    "release-no-sandbox": ("02-reshaping", {"02-reshaping.ipynb": release("02-reshaping")}, True),
    "hidden-bug": ("01-loading-data", {"my work/01-loading-data.ipynb": hidden_only_bug_01()}, False),
    "no-notebook": ("02-reshaping", {"notes.txt": "I forgot the notebook"}, False),
    "several": (
        "02-reshaping",
        {"02-reshaping.ipynb": solution("02-reshaping"), "02-reshaping-copy.ipynb": release("02-reshaping")},
        False,
    ),
    "other-assignment": ("02-reshaping", {"02-reshaping.ipynb": solution("03-one-hot-labels")}, False),
    "not-json": ("02-reshaping", {"02-reshaping.ipynb": NOT_JSON}, False),
}


@pytest.fixture(scope="module")
def exported(guide_clone):
    """The guide's "Gradescope" block, run as written in the clone and venv of the guide's section 1."""
    done = run_block(block(DOC, "Gradescope"), guide_clone.root, guide_clone.activated())
    return guide_clone.root / "gradescope-autograders", done


@pytest.fixture(scope="module")
def installed(exported, tmp_path_factory):
    """Each zip unpacked into a temporary /autograder/source and its setup.sh run (apt-get left out)."""
    out, _ = exported
    roots = {}
    for assignment in ("01-loading-data", "02-reshaping"):
        root = tmp_path_factory.mktemp(f"autograder-{assignment}")
        with zipfile.ZipFile(out / f"autograder-{assignment}.zip") as zf:
            zf.extractall(root / "source")
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(root / "mnistlib-venv")], check=True
        )
        borrow_main_packages(root / "mnistlib-venv")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNISTLIB_")}
        env.update(MNISTLIB_AUTOGRADER_ROOT=str(root), MNISTLIB_SKIP_SYSTEM_PACKAGES="1", PIP_NO_INDEX="1")
        done = subprocess.run(
            ["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout + done.stderr
        roots[assignment] = (root, done)
    return roots


@pytest.fixture(scope="module")
def graded(installed, tmp_path_factory):
    """run_autograder over every case, each in its own /autograder, all at once."""
    processes, roots = {}, {}
    for case, (assignment, files, failing_bwrap) in CASES.items():
        shared, _ = installed[assignment]
        root = tmp_path_factory.mktemp(f"case-{case}")
        (root / "source").symlink_to(shared / "source")
        link_tree(shared / "mnistlib-cache", root / "mnistlib-cache")
        submission(root / "submission", files)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNISTLIB_")}
        env.update(
            MNISTLIB_AUTOGRADER_ROOT=str(root),
            MNISTLIB_AUTOGRADER_PYTHON=str(shared / "mnistlib-venv" / "bin" / "python"),
            HOME=str(root / "home"),
        )
        if failing_bwrap:
            env["PATH"] = fake_bwrap_path(root / "fake-bin")
        processes[case] = start(["bash", str(root / "source" / "run_autograder")], env)
        roots[case] = root
    logs = wait_all(processes)
    return {
        case: (json.loads((roots[case] / "results" / "results.json").read_text()), logs[case])
        for case in CASES
    }


def scored(payload: dict) -> dict[str, tuple[float, float]]:
    return {t["name"]: (t["score"], t["max_score"]) for t in payload["tests"] if "score" in t}


def test_the_zip_has_gradescopes_layout_and_carries_wheel_and_mnist(exported):
    out, done = exported
    assert sorted(p.name for p in out.iterdir()) == [
        "autograder-01-loading-data.zip",
        "autograder-02-reshaping.zip",
    ]
    assert "upload each to its Gradescope assignment" in done.stdout
    with zipfile.ZipFile(out / "autograder-02-reshaping.zip") as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        config = json.loads(zf.read("mnistlib-autograder.json"))
        sums = zf.read("mnist/SHA256SUMS").decode()
    assert {"setup.sh", "run_autograder", "mnistlib-autograder.json", "mnist/SHA256SUMS"} <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert sorted(n for n in names if n.startswith("wheels/")) == [  # the learner's and the grader's
        "wheels/mnist_keras_course-0.1.0-py3-none-any.whl",
        "wheels/mnist_keras_course_grader-0.1.0-py3-none-any.whl",
    ]
    assert len(sums.splitlines()) == 4 and all(
        f"mnist/{line.split()[1]}" in names for line in sums.splitlines()
    )
    assert config["assignment"] == "02-reshaping" and config["points"] == 2.0
    assert config["hidden_visibility"] == "after_published"


def test_setup_and_run_autograder_pass_shellcheck(exported, tmp_path):
    out, _ = exported
    with zipfile.ZipFile(out / "autograder-02-reshaping.zip") as zf:
        zf.extract("setup.sh", tmp_path)
        zf.extract("run_autograder", tmp_path)
    if shutil.which("shellcheck") is None:
        if os.environ.get("CI"):  # make test installs it: under CI a missing tool is a failure
            pytest.fail("shellcheck is not installed (apt-get install shellcheck)", pytrace=False)
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    done = subprocess.run(
        ["shellcheck", "setup.sh", "run_autograder"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout


def test_setup_installs_the_wheel_and_bakes_verified_mnist(installed):
    root, done = installed["02-reshaping"]
    assert "autograder ready: assignment 02-reshaping, 2 points" in done.stdout
    site = root / "mnistlib-venv" / "lib"
    assert list(site.glob("python3*/site-packages/mnist_keras_course-0.1.0.dist-info")), (
        "the wheel is installed"
    )
    assert list(site.glob("python3*/site-packages/mnist_keras_course_grader-0.1.0.dist-info")), (
        "the grader's wheel is installed"
    )
    assert (root / "mnistlib-cache" / "train-images-idx3-ubyte").stat().st_size == 47_040_016
    check = subprocess.run(
        [str(root / "mnistlib-venv" / "bin" / "python"), "-c", "import mnistlib; print(mnistlib.__file__)"],
        capture_output=True,
        text=True,
        cwd=root,  # where Gradescope runs it; here the checkout's own mnistlib/ would come first
    )
    assert str(root / "mnistlib-venv") in check.stdout, (
        "the venv's mnistlib is the wheel's, not the checkout's"
    )


def test_setup_stops_when_mnist_in_the_zip_was_altered(exported, tmp_path):
    out, _ = exported
    with zipfile.ZipFile(out / "autograder-02-reshaping.zip") as zf:
        zf.extractall(tmp_path / "source")
    with (tmp_path / "source" / "mnist" / "t10k-labels-idx1-ubyte").open("r+b") as f:
        f.seek(100)
        label = f.read(1)[0]
        f.seek(100)
        f.write(bytes([(label + 1) % 10]))  # one digit's label changed
    env = {**os.environ, "MNISTLIB_AUTOGRADER_ROOT": str(tmp_path), "MNISTLIB_SKIP_SYSTEM_PACKAGES": "1"}
    env["PIP_NO_INDEX"] = "1"  # should the check not stop it, pip fails fast instead of downloading
    done = subprocess.run(
        ["bash", str(tmp_path / "source" / "setup.sh")], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "t10k-labels-idx1-ubyte: FAILED" in done.stdout + done.stderr
    assert not (tmp_path / "mnistlib-venv").exists(), "nothing installed after a failed check"


def test_every_results_json_follows_gradescopes_format(graded):
    for case, (payload, _log) in graded.items():
        valid(payload, SCHEMA)
        assert payload["stdout_visibility"] == "hidden", case
        assert isinstance(payload["execution_time"], int), case


def test_the_solution_gets_full_marks_in_the_sandbox(graded):
    payload, log = graded["solution"]
    assert payload["score"] == 2.0 and scored(payload) == {
        "flatten_images: all tests, hidden ones included": (2.0, 2.0)
    }
    visible = [t for t in payload["tests"] if t["visibility"] == "visible"]
    assert [(t["number"], t["status"]) for t in visible] == [("1.1", "passed")]
    assert [t["visibility"] for t in payload["tests"] if "score" in t] == ["after_published"]
    assert "without the bubblewrap sandbox" not in payload["output"]


def test_without_namespaces_the_release_is_graded_unsandboxed_and_says_so(graded):
    payload, log = graded["release-no-sandbox"]
    assert payload["score"] == 0.0
    (visible,) = [t for t in payload["tests"] if t["visibility"] == "visible"]
    assert visible["status"] == "failed" and "not written yet" in visible["output"]
    assert (
        "Graded without the bubblewrap sandbox (bwrap does not work here (bwrap: No permissions"
        in payload["output"]
    )
    assert (
        "this container, used for this one submission and then thrown away, is the boundary"
        in payload["output"]
    )


def test_a_bug_only_hidden_tests_see_loses_exactly_that_exercise_and_stays_hidden(graded):
    payload, log = graded["hidden-bug"]
    assert scored(payload) == {
        "get_digit: all tests, hidden ones included": (0.0, 2.0),
        "label_counts: all tests, hidden ones included": (1.0, 1.0),
    }
    assert payload["score"] == 1.0
    by_name = {t["name"]: t for t in payload["tests"]}
    assert by_name["get_digit: the checks in your notebook"]["status"] == "passed", (
        "the learner's own checks pass"
    )
    hidden = by_name["get_digit: all tests, hidden ones included"]
    assert hidden["visibility"] == "after_published" and "dtype" in hidden["output"]
    assert "uint32" not in json.dumps([t for t in payload["tests"] if t["visibility"] == "visible"])
    assert "get_digit" in log, "the instructor's stdout has the full table"


@pytest.mark.parametrize(
    "case, words",
    [
        ("no-notebook", "No notebook found in your submission. Upload your 02-reshaping.ipynb"),
        ("several", "Your submission has 2 notebooks (02-reshaping-copy.ipynb, 02-reshaping.ipynb)"),
        (
            "other-assignment",
            "is the notebook of assignment 03-one-hot-labels, not of this one (02-reshaping)",
        ),
        (
            "not-json",
            "02-reshaping.ipynb is not a notebook: its text is not valid JSON (line 1, column",
        ),
    ],
)
def test_a_broken_submission_scores_zero_with_a_clear_reason(graded, case, words):
    payload, _ = graded[case]
    assert payload["score"] == 0 and words in payload["output"], payload["output"]
    (test,) = payload["tests"]
    assert test["visibility"] == "visible" and test["max_score"] == 2.0 and words in test["output"]


def test_a_crash_or_a_missing_python_still_gives_a_result(installed, tmp_path):
    shared, _ = installed["02-reshaping"]
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "mnistlib-autograder.json").write_text("{damaged")
    submission(tmp_path / "submission", {"02-reshaping.ipynb": solution("02-reshaping")})
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNISTLIB_")}
    env.update(MNISTLIB_AUTOGRADER_ROOT=str(tmp_path))
    script = str(shared / "source" / "run_autograder")
    env["MNISTLIB_AUTOGRADER_PYTHON"] = str(shared / "mnistlib-venv" / "bin" / "python")
    done = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=120)
    payload = valid(json.loads((tmp_path / "results" / "results.json").read_text()), SCHEMA)
    assert done.returncode == 0 and payload["score"] == 0
    assert "internal problem" in payload["output"] and "JSONDecodeError" in payload["output"]
    assert "Traceback" in done.stdout, "the instructor's stdout has the traceback"
    env["MNISTLIB_AUTOGRADER_PYTHON"] = str(tmp_path / "no-such-python")
    done = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=120)
    payload = valid(json.loads((tmp_path / "results" / "results.json").read_text()), SCHEMA)
    assert (
        done.returncode == 0
        and payload["score"] == 0
        and "could not start (exit status 127)" in payload["output"]
    )


def test_a_wrong_export_request_is_named(tmp_path, mnist_idx_dir):
    env = {**os.environ, "MNISTLIB_DATA": str(mnist_idx_dir)}
    cmd = [sys.executable, "-m", "mnistlib", "export", "gradescope", "--out", str(tmp_path / "o")]
    done = subprocess.run([*cmd, "10-transformers"], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "no assignment 10-transformers in the course" in done.stderr
    env["MNISTLIB_DATA"] = str(tmp_path)
    done = subprocess.run([*cmd, "02-reshaping"], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "run `mnistlib data fetch` first" in done.stderr
    assert not (tmp_path / "o").exists()


PYTHON_310 = "/root/.pyenv/versions/3.10.13/bin/python3.10"  # as Ubuntu 22.04's python3


def test_on_ubuntu_2204s_python_310_setup_installs_a_newer_python_with_uv(tmp_path):
    """Gradescope's newest base image has Python 3.10: setup.sh takes uv's route instead of stopping.

    Everything runs for real (a venv of Python 3.10, uv from PyPI, `uv python install 3.12`) except
    the download of CPython itself, which this machine cannot reach: uv is pointed at an empty local
    mirror (``UV_PYTHON_INSTALL_MIRROR``), so the route ends there with setup.sh's own message.
    """
    if not os.access(PYTHON_310, os.X_OK):
        pytest.skip(f"no Python 3.10 here ({PYTHON_310}) to stand in for Ubuntu 22.04's")
    from mnistlib.export import build

    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "setup.sh").write_text(build.script("setup.sh"))
    tools = tmp_path / "ubuntu-2204-bin"  # python3 is 3.10, and no newer python3.x is on the PATH
    tools.mkdir()
    (tools / "python3").symlink_to(PYTHON_310)
    for tool in ("bash", "sha256sum", "env", "cat", "rm", "mkdir"):
        if shutil.which(tool):
            (tools / tool).symlink_to(shutil.which(tool))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MNISTLIB_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(
        PATH=str(tools),
        MNISTLIB_AUTOGRADER_ROOT=str(tmp_path),
        MNISTLIB_SKIP_SYSTEM_PACKAGES="1",
        UV_PYTHON_INSTALL_MIRROR=(tmp_path / "empty-mirror").as_uri(),
    )
    done = subprocess.run(
        ["bash", str(tmp_path / "source" / "setup.sh")], env=env, capture_output=True, text=True, timeout=600
    )
    out = done.stdout + done.stderr
    assert "Python 3.10.13 is older than the course needs (3.11): installing Python 3.12 with uv" in out, out
    assert (tmp_path / "mnistlib-uv" / "bin" / "uv").is_file(), "uv installed from PyPI, in a venv of its own"
    assert "cpython-3.12" in out and "empty-mirror" in out, "uv itself tried to install CPython 3.12"
    assert done.returncode == 1 and "error: uv could not install Python 3.12 (see above)" in out
    assert "24.04" not in out, "no stop asking for another base image"


def test_a_wheel_that_cannot_be_built_is_reported_whole_with_what_to_do(tmp_path, mnist_idx_dir):
    """No package index for pip's build environment: pip's whole output, then what to do."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MNISTLIB_", "PIP_"))}
    env.update(MNISTLIB_DATA=str(mnist_idx_dir), PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1")
    out = tmp_path / "o"
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib", "export", "gradescope", "02-reshaping", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    said = done.stderr
    assert said.startswith("error: could not build the course wheel: `") and "exited with status 1" in said
    assert "No matching distribution found for setuptools>=77" in said, "pip's own words, not cut off"
    assert "What to do: pip builds the wheel in an environment of its own" in said
    assert "--wheel dist/mnist_keras_course-0.1.0-py3-none-any.whl" in said
    assert not out.exists(), "nothing written"
