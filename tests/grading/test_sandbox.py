"""The grading sandbox (mnistlib.grading.sandbox): real bwrap, real kernels, learners' code run
through the real grading path (GradingExecute, and `mnistlib grade` for a class)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from grading.runs import mnistlib_grade
from nbformat.v4 import new_code_cell, new_notebook

import mnistlib
from mnistlib.grading import sandbox as grading_sandbox
from mnistlib.grading.preprocessors import GradingExecute

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(mnistlib.__file__).resolve().parent
SITE_PACKAGES = Path(nbformat.__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        grading_sandbox.problem() is not None, reason=f"bwrap cannot run here: {grading_sandbox.problem()}"
    ),
]


def grade_cells(cells: list[str], folder: Path) -> list[str]:
    """Run ``cells`` as a notebook in ``folder`` through GradingExecute (sandboxed); their printed text."""
    nb = new_notebook(cells=[new_code_cell(code) for code in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = GradingExecute(timeout=120)
    assert executor.sandbox
    out, _ = executor.preprocess(nb, {"metadata": {"path": str(folder)}})
    texts = []
    for cell in out.cells:
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        errors = [f"{o['ename']}: {o['evalue']}" for o in cell.outputs if o.get("output_type") == "error"]
        texts.append(text + "\n".join(errors))
    return texts


def attempt(code: str) -> str:
    """Cell source that runs ``code`` and prints OK or the exception's class name."""
    body = "\n".join("    " + line for line in code.strip().splitlines())
    return f"try:\n{body}\n    print('OK')\nexcept Exception as err:\n    print(type(err).__name__)\n"


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """One sandboxed notebook that tries what a learner's code must not be able to do."""
    folder = tmp_path_factory.mktemp("learner") / "01-loading-data"
    folder.mkdir()
    (folder / "released-file.txt").write_text("released")
    canary = Path.home() / f"mnistlib-canary-{uuid.uuid4().hex}"
    canary.write_text("secret")
    os.environ["MNISTLIB_TEST_API_TOKEN"] = "secret-token"  # what the grader's environment may hold
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    marker = f"1000.{uuid.uuid4().int % 10**9}"  # `sleep 1000.<unique>`: findable in /proc afterwards
    repo_file = REPO / f"sandbox-escape-{uuid.uuid4().hex}"
    solution = next((REPO / "solutions").glob("*.ipynb"))
    source = next((REPO / "course" / "source").glob("*/*.ipynb"))
    checks = {
        "network_host": attempt(f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)"),
        "network_out": attempt("import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)"),
        "write_package": attempt(f"open({str(PACKAGE / 'checks' / 'pwned.py')!r}, 'w').write('x')"),
        "write_venv": attempt(f"open({str(SITE_PACKAGES / 'pwned.pth')!r}, 'w').write('x')"),
        "write_repo": attempt(f"open({str(repo_file)!r}, 'w').write('x')"),
        "read_canary": attempt(f"open({str(canary)!r}).read()"),
        "read_solution": attempt(f"open({str(solution)!r}).read()"),
        "read_source": attempt(f"open({str(source)!r}).read()"),
        "kill_grader": attempt(f"import os, signal; os.kill({os.getpid()}, signal.SIGKILL)"),
        "home": "import os; print(os.path.expanduser('~') != " + repr(str(Path.home())) + ")",
        "released_copy": "print(open('released-file.txt').read())",
        "secret_env": "import os; print(os.environ.get('MNISTLIB_TEST_API_TOKEN'))",
        "write_workdir": attempt("open('notes.txt', 'w').write('mine')"),
        "tmpfs_limit": (
            "written = 0\n"
            "try:\n"
            "    with open('big.bin', 'wb') as f:\n"
            "        while written < 2048:\n"
            "            f.write(bytes(2**20)); f.flush(); written += 1\n"
            "except OSError as err:\n"
            "    print('stopped', written, err.errno)\n"
            "import os; os.remove('big.bin')\n"
        ),
        "stray": (
            "import subprocess\n"
            f"subprocess.Popen(['sleep', {marker!r}], start_new_session=True)\n"
            f"subprocess.Popen('sleep {marker} &', shell=True)\n"
            "print('started')"
        ),
    }
    try:
        texts = grade_cells(list(checks.values()), folder)
        results = dict(zip(checks, (t.strip() for t in texts), strict=True))
        results["repo_file_made"] = repo_file.exists()
        results["folder_after"] = sorted(p.name for p in folder.iterdir())
        time.sleep(0.5)
        results["strays"] = [
            p.parent.name
            for p in Path("/proc").glob("[0-9]*/cmdline")
            if marker.encode() in (p.read_bytes() if p.exists() else b"")
        ]
        yield results
    finally:
        canary.unlink()
        listener.close()
        del os.environ["MNISTLIB_TEST_API_TOKEN"]
        repo_file.unlink(missing_ok=True)


def test_no_network_inside_the_sandbox(probe):
    assert probe["network_host"] == "ConnectionRefusedError"  # the grader's loopback is not this one
    assert probe["network_out"] != "OK"


def test_the_package_the_venv_and_the_repo_are_read_only_or_absent(probe):
    assert probe["write_package"] in ("OSError", "PermissionError")
    assert not (PACKAGE / "checks" / "pwned.py").exists()
    assert probe["write_venv"] in ("OSError", "PermissionError")
    assert not (SITE_PACKAGES / "pwned.pth").exists()
    assert not probe["repo_file_made"]  # a write there, if any, lands in the sandbox's own root


def test_the_graders_home_solutions_and_course_source_are_invisible(probe):
    assert probe["read_canary"] == "FileNotFoundError"
    assert probe["home"] == "True"
    assert probe["secret_env"] == "None"  # variables named like secrets are not passed in
    assert probe["read_solution"] == "FileNotFoundError"
    assert probe["read_source"] == "FileNotFoundError"


def test_the_grader_cannot_be_signalled(probe):
    assert probe["kill_grader"] in ("ProcessLookupError", "PermissionError")


def test_the_kernel_works_on_a_private_copy_of_its_folder(probe):
    assert probe["released_copy"] == "released"
    assert probe["write_workdir"] == "OK"
    assert probe["folder_after"] == ["released-file.txt"]  # the learner's writes stayed in the sandbox


def test_the_tmpfs_size_limit_holds(probe):
    stopped, written, errno = probe["tmpfs_limit"].split()
    assert stopped == "stopped" and int(errno) == 28  # ENOSPC
    assert int(written) <= grading_sandbox.TMPFS_MB


def test_no_process_a_notebook_started_outlives_its_grading(probe):
    assert probe["stray"] == "started"
    assert probe["strays"] == []


def test_kernels_start_in_well_under_a_second(tmp_path):
    folder = tmp_path / "learner" / "nb"
    folder.mkdir(parents=True)
    grade_cells(["1"], folder)  # the learner's sandbox starts (once per learner)
    started = time.perf_counter()
    assert grade_cells(["print(6 * 7)"], folder) == ["42\n"]
    print(
        f"a warm sandboxed kernel started, ran one cell and stopped in {time.perf_counter() - started:.2f} s"
    )


FORK_BOMB = """
import os, time
forked = 0
try:
    while forked < 5000:
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "{marker}"])
        forked += 1
except OSError as err:
    print("fork bomb stopped after", forked, "errno", err.errno)
"""


def test_a_fork_bomb_ends_in_its_notebook_and_another_learner_is_graded_normally(tmp_path):
    marker = f"1000.{uuid.uuid4().int % 10**9}"
    assignment = "01-loading-data"
    solution = nbformat.read(REPO / "solutions" / f"{assignment}.ipynb", as_version=4)
    for student, extra in (("bomber", FORK_BOMB.format(marker=marker)), ("neighbour", None)):
        nb = solution.copy()
        if extra:
            nb.cells = [*nb.cells, new_code_cell(extra)]
        target = tmp_path / "submitted" / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib", "grade", str(tmp_path / "submitted"), "--jobs", "2", "--json"]
        + ["--csv", str(tmp_path / "g.csv"), "--feedback", str(tmp_path / "feedback")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MNISTLIB_SANDBOX_PIDS_MAX": "200"},  # the bomb stops sooner
    )
    results = {r["student"]: r for r in json.loads(done.stdout)["results"]}
    assert results["neighbour"]["error"] is None
    assert results["neighbour"]["score"] == results["neighbour"]["max_score"] > 0
    assert results["bomber"]["error"] is None
    feedback = (tmp_path / "feedback" / "bomber" / f"{assignment}.html").read_text()
    assert "fork bomb stopped after" in feedback  # the pids limit stopped it
    strays = [
        p for p in Path("/proc").glob("[0-9]*/cmdline") if p.exists() and marker.encode() in p.read_bytes()
    ]
    assert strays == []


def test_a_class_is_refused_without_a_working_bwrap(tmp_path):
    target = tmp_path / "submitted" / "someone" / "01-loading-data" / "01-loading-data.ipynb"
    target.parent.mkdir(parents=True)
    target.write_bytes((REPO / "solutions" / "01-loading-data.ipynb").read_bytes())
    env = {**os.environ, "PATH": "/nonexistent"}  # no bwrap on the PATH
    done = mnistlib_grade(tmp_path / "submitted", "--csv", tmp_path / "g.csv", env=env, timeout=300)
    assert done.returncode == 2
    assert "bubblewrap" in done.stderr and "--no-sandbox" in done.stderr


def test_a_learners_own_notebook_is_graded_unsandboxed_with_a_one_line_note_without_bwrap(tmp_path):
    notebook = tmp_path / "01-loading-data.ipynb"
    notebook.write_bytes((REPO / "solutions" / "01-loading-data.ipynb").read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib", "grade", str(notebook), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": "/nonexistent"},  # no bwrap on the PATH
        timeout=300,
    )
    notes = [line for line in done.stderr.splitlines() if "sandbox" in line]
    assert len(notes) == 1 and "apt install bubblewrap" in notes[0], done.stderr
    result = json.loads(done.stdout)["results"][0]
    assert result["error"] is None and result["score"] == result["max_score"] > 0


def test_nbgrader_autograde_with_the_course_config_is_sandboxed():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "course")).load_config()
    assert "mnistlib.grading.preprocessors.GradingExecute" in config.Autograde.autograde_preprocessors
    assert GradingExecute(config=config).sandbox is True
