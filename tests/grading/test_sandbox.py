"""The grading sandbox (mnistlib.grading.sandbox): real bwrap, real kernels, learners' code run
through the real grading path (GradingExecute, and `mnistlib grade` for a class)."""

from __future__ import annotations

import json
import os
import shutil
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
from mnistlib.grading import isolation
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
        # the answer key (issue 23): the checks' reference implementations, /etc/shadow
        "import_checks": attempt("from mnistlib.checks.reshaping import reference"),
        "checks_message": attempt("import mnistlib.checks").replace("type(err).__name__", "err"),
        "read_checks": attempt(f"open({str(PACKAGE / 'checks' / 'reshaping.py')!r}).read()"),
        "list_checks": f"import os; print(sorted(os.listdir({str(PACKAGE / 'checks')!r})))",
        "read_shadow": attempt("open('/etc/shadow').read()"),
        "etc": "import os, pwd; print(sorted(os.listdir('/etc')), pwd.getpwuid(os.getuid()).pw_name)",
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


def test_the_answer_key_and_etc_shadow_are_out_of_reach(probe):
    assert probe["import_checks"] == "ImportError"
    assert "out of reach of a notebook while it is graded" in probe["checks_message"]
    assert probe["read_checks"] == "FileNotFoundError"
    assert probe["list_checks"] == "['__init__.py']"  # the stub that says why, nothing else
    assert probe["read_shadow"] == "FileNotFoundError"
    etc, user = probe["etc"].rsplit(" ", 1)
    assert "'passwd'" in etc and "'ssl'" in etc and "'shadow'" not in etc and "'sudoers'" not in etc
    assert user == "nobody"


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
    grade_cells(["1"], folder)  # the grading process's sandbox starts (once)
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


# ----------------------------------------------------------------------------- one sandbox, many learners

#: What a first learner's kernel leaves behind for the next one, by every writable way it has.
PLANTED = {
    "tmp": "/tmp/left-behind.txt",
    "dev_shm": "/dev/shm/left-behind",
    "workspace": "/sandbox/left-behind.txt",
    # run by IPython when the next kernel starts, if it could see it: it would mark the kernel
    "startup": "/sandbox/home/.ipython/profile_default/startup/00-left-behind.py",
}
SYSV_KEY = 0x6D6E6973  # a System V shared memory segment's key

PLANT = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for path in {sorted(PLANTED.values())!r}:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("LEFT_BEHIND = True\\n")
print("shm=", libc.shmget({SYSV_KEY}, 4096, 0o1666) >= 0, sep="")  # IPC_CREAT | 0666
for place in ("/", "/dev"):  # the sandbox's shared root and /dev
    try:
        open(os.path.join(place, "left-behind"), "w").close()
        print(place, "=written", sep="")
    except OSError as err:
        print(place, "=errno ", err.errno, sep="")
for place in ("/tmp", "/sandbox", "/dev/shm"):  # the shared mounts below this kernel's new ones
    print(f"umount {{place}}=", libc.umount2(place.encode(), 2), ctypes.get_errno())  # MNT_DETACH
print("remount=", libc.mount(None, b"/", None, 32 | 4096, None), ctypes.get_errno())  # MS_REMOUNT|MS_BIND: rw
"""

LOOK = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for name, path in {sorted(PLANTED.items())!r}:
    print(name, os.path.exists(path))
print("startup ran", "LEFT_BEHIND" in globals())
print("shm", libc.shmget({SYSV_KEY}, 0, 0) >= 0, ctypes.get_errno())
print("root", os.path.exists("/left-behind"))
"""

SEES = """
import json, os, sys
connection = json.load(open(sys.argv[sys.argv.index("-f") + 1])) if "-f" in sys.argv else {}
own = os.path.dirname(connection.get("ip", ""))
run = os.path.dirname(own)
print(sorted(os.listdir(run)) == [os.path.basename(own)], sorted(os.listdir(run)))
print(os.listdir("/tmp"))
"""


def test_the_next_learner_is_graded_in_the_same_sandbox_and_sees_nothing_the_last_one_left(tmp_path):
    grading_sandbox.close_current()
    first, second = tmp_path / "first" / "nb", tmp_path / "second" / "nb"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    planted, sees = grade_cells([PLANT, SEES], first)
    box = grading_sandbox._current
    assert box is not None and box.isolated, box.isolation if box else "no sandbox"
    lines = dict(line.split("=", 1) for line in planted.strip().splitlines())
    assert lines["shm"] == "True"  # the segment was made: the next kernel must not find it
    assert lines["/"] == "errno 30" and lines["/dev"] == "errno 30"  # read-only file system
    for place in ("/tmp", "/sandbox", "/dev/shm"):
        assert lines[f"umount {place}"] == " -1 1", planted  # EPERM: no capability left
    assert lines["remount"] == " -1 1", planted
    assert sees.splitlines()[0].startswith("True"), sees  # of run/, the kernel sees its own folder only

    looked = grade_cells([LOOK], second)[0]
    assert grading_sandbox._current is box  # no new sandbox (no TensorFlow import) for the next learner
    found = dict(line.rsplit(" ", 1) for line in looked.strip().splitlines() if not line.startswith("shm"))
    assert found == {**{name: "False" for name in PLANTED}, "startup ran": "False", "root": "False"}, looked
    shm = next(line for line in looked.splitlines() if line.startswith("shm"))
    assert shm == "shm False 2", looked  # ENOENT: a new IPC namespace


def test_where_kernels_are_not_isolated_each_learner_gets_a_sandbox_of_their_own(tmp_path, monkeypatch):
    """The escape hatch (and what happens where user namespaces are turned off): one sandbox per learner."""
    monkeypatch.setenv(isolation.SHARE_ENV, "0")
    grading_sandbox.close_current()
    first, second = tmp_path / "first" / "nb", tmp_path / "second" / "nb"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    try:
        assert grade_cells([PLANT], first)[0]
        box = grading_sandbox._current
        assert not box.isolated and isolation.SHARE_ENV in box.isolation, box.isolation
        looked = grade_cells([LOOK], second)[0]
        assert grading_sandbox._current is not box  # a new sandbox for the second learner
        assert "startup ran False" in looked and "tmp False" in looked, looked
    finally:
        grading_sandbox.close_current()


def test_the_probe_names_the_step_that_failed(tmp_path, monkeypatch):
    """Out here there is no /sandbox to mount a workspace on: the probe says so, and nothing changes."""
    monkeypatch.setenv(isolation.HOST_DIR_ENV, str(tmp_path))
    found = isolation.probe(str(tmp_path))
    assert found.startswith("IsolationError") and "mount /sandbox" in found, found
    assert list(tmp_path.iterdir()) == []  # its throw-away run folder is gone


def test_sandboxes_left_by_a_killed_grading_process_are_swept_away(tmp_path):
    """A grading process killed outright (SIGKILL, the OOM killer) cannot close its sandbox: the
    next sandbox made on the machine removes its folder, its cgroup and what still runs there."""
    import tempfile

    dead = subprocess.Popen(["true"])
    dead.wait()
    root = Path(tempfile.gettempdir())
    stale = Path(tempfile.mkdtemp(prefix=grading_sandbox.PREFIX, dir=root))
    (stale / grading_sandbox.OWNER_FILE).write_text(f"{dead.pid} 12345")
    (stale / "run").mkdir()
    live = Path(tempfile.mkdtemp(prefix=grading_sandbox.PREFIX, dir=root))
    (live / grading_sandbox.OWNER_FILE).write_text(grading_sandbox._process_identity(os.getpid()))
    unowned = Path(tempfile.mkdtemp(prefix=grading_sandbox.PREFIX, dir=root))  # still being made
    group = grading_sandbox._pids_cgroup(stale.name)
    straggler = None
    if group is not None:  # something still running in the stale sandbox's cgroup
        straggler = subprocess.Popen(["sleep", "600"])
        (group / "cgroup.procs").write_text(str(straggler.pid))
    try:
        grading_sandbox.close_current()
        assert grade_cells(["print(6 * 7)"], tmp_path) == ["42\n"]  # a new sandbox: the sweep runs
        assert not stale.exists()
        assert live.exists() and unowned.exists()
        if group is not None:
            assert straggler.wait(timeout=10) == -9 and not group.exists()
    finally:
        grading_sandbox.close_current()
        for folder in (live, unowned, stale):
            shutil.rmtree(folder, ignore_errors=True)
        if straggler is not None and straggler.poll() is None:
            straggler.kill()


def test_the_run_folder_is_a_limited_tmpfs_reached_through_the_server_never_the_host_disk():
    """run/ (sockets, each kernel's calls folder) is the sandbox's tmpfs of RUN_MB MB and at most
    INODES_PER_MB files a MB; out here it is a link into the fork server's view, in the grader's
    0700 folder, and nothing written there lands on the host's disk."""
    box = grading_sandbox.Sandbox("run-folder", keras=False)
    try:
        files = grading_sandbox.RUN_MB * isolation.INODES_PER_MB
        assert box.run_limit == f"tmpfs size={grading_sandbox.RUN_MB}m nr_inodes={files}", box.run_limit
        assert os.readlink(box.run_dir) == f"/proc/{box.server_pid}/root{box.run_dir}"
        assert os.stat(box.dir).st_mode & 0o777 == 0o700
        space = os.statvfs(box.run_dir)
        assert (space.f_blocks * space.f_frsize, space.f_files) == (grading_sandbox.RUN_MB * 2**20, files)
        (box.run_dir / "written-by-the-grader").write_bytes(b"x" * 2**20)
        on_disk = {p.name for p in box.dir.iterdir()}
        assert "written-by-the-grader" not in on_disk and os.path.islink(box.dir / "run"), on_disk
        assert box.alive() and (box.run_dir / "kernels.sock").is_socket()
    finally:
        box.close()
    assert not box.dir.exists()
