"""Warm grading kernels (mnistlib.grading.forkserver): real kernels forked from a real fork server,
driven through jupyter_client the way nbgrader drives them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from mnistlib.grading.forkserver import FORKSERVER_ENV, ForkServer
from mnistlib.grading.kernel import OUTPUT_CUT_NOTICE, limited_kernel_argv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with ForkServer(wait=True) as running:
        yield running


def start(argv: list[str], cwd: Path, **env: str):
    km = KernelManager(kernel_name="python3")
    km.kernel_spec.argv = argv
    km.start_kernel(cwd=str(cwd), env={**os.environ, **env})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=180)
    return km, kc


def run(kc, code: str, timeout: float = 120) -> tuple[dict, str]:
    """Execute ``code``; return the reply content and everything it printed."""
    printed = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    return reply["content"], "".join(printed)


def stop(km, kc) -> None:
    kc.stop_channels()
    if km.has_kernel:
        km.shutdown_kernel(now=True)


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":  # exited, not yet reaped
            return True
        time.sleep(0.05)
    return False


def kernel_pid(kc) -> int:
    _, out = run(kc, "import os; print(os.getpid())")
    return int(out)


def test_a_forked_kernel_starts_warm_in_its_own_folder_and_environment(server, tmp_path):
    km, kc = start(limited_kernel_argv(sys.executable, 2048, 256, server.socket), tmp_path, MARKER="m-42")
    try:
        reply, out = run(
            kc,
            "import os, sys\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
            "print(os.getcwd())\n"
            "print(os.environ.get('MARKER'))\n"
            "print(os.getpid(), os.getppid())",
        )
        assert reply["status"] == "ok"
        warm, cwd, marker, pids = out.splitlines()
        assert warm == "True True", "TensorFlow and Keras come loaded from the fork server"
        assert Path(cwd) == tmp_path and marker == "m-42"
        pid, parent = map(int, pids.split())
        assert parent == server.process.pid, "the kernel is a child of the fork server"
        assert pid != km.provisioner.pid, "jupyter_client holds the launcher, not the kernel itself"

        # TensorFlow works after the fork (its thread pools start in the kernel, not the server)
        reply, out = run(
            kc,
            "import numpy as np, keras\n"
            "keras.utils.set_random_seed(0)\n"
            "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
            "m.compile(optimizer='rmsprop', loss='categorical_crossentropy')\n"
            "h = m.fit(np.ones((64, 4), 'float32'), np.eye(3)[np.arange(64) % 3], epochs=2, verbose=0)\n"
            "print(len(h.history['loss']), m.predict(np.ones((2, 4), 'float32'), verbose=0).shape)",
        )
        assert reply["status"] == "ok" and out.split() == ["2", "(2,", "3)"]
    finally:
        stop(km, kc)


def test_each_forked_kernel_draws_its_own_random_numbers(server, tmp_path):
    draws = []
    for _ in range(2):
        km, kc = start(limited_kernel_argv(sys.executable, 2048, 256, server.socket), tmp_path)
        try:
            _, out = run(kc, "import numpy as np, random; print(np.random.rand(), random.random())")
            draws.append(out.split())
        finally:
            stop(km, kc)
    assert draws[0][0] != draws[1][0] and draws[0][1] != draws[1][1]


def test_memory_and_output_limits_apply_to_forked_kernels(server, tmp_path):
    km, kc = start(limited_kernel_argv(sys.executable, 1500, 4, server.socket), tmp_path)
    try:
        reply, _ = run(kc, "hog = bytearray(3 * 2**30)")
        assert reply["status"] == "error" and reply["ename"] == "MemoryError"
        reply, out = run(kc, "print('x' * 100_000)")
        assert reply["status"] == "ok"
        assert OUTPUT_CUT_NOTICE.format(kb=4) in out and len(out) < 5000
        reply, out = run(kc, "print(6 * 7)")
        assert out.strip() == "42", "the kernel lives on after both"
    finally:
        stop(km, kc)


def test_file_size_and_address_space_caps_apply_to_forked_kernels(server, tmp_path):
    """Every file a kernel writes stops at MAX_FILE_MB (a memfd too) with an OSError, and with
    address_space_mb (no memory cgroup) a mapping past the cap fails; the kernel lives on."""
    from mnistlib.grading import limits

    argv = limited_kernel_argv(sys.executable, 1500, 256, server.socket, address_space_mb=4096)
    km, kc = start(argv, tmp_path)
    try:
        _, out = run(kc, "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20)")
        assert out.strip() == "4096"
        grow = f"import os; fd = os.memfd_create('big'); os.ftruncate(fd, {limits.MAX_FILE_MB + 1} * 2**20)"
        reply, _ = run(kc, grow)
        assert reply["status"] == "error" and reply["ename"] == "OSError", reply
        reply, _ = run(kc, "import mmap; m = mmap.mmap(-1, 5 * 2**30)")
        assert reply["status"] == "error" and reply["ename"] in ("OSError", "MemoryError"), reply
        reply, out = run(kc, "print(6 * 7)")
        assert out.strip() == "42", "the kernel lives on after both"
    finally:
        stop(km, kc)


def test_an_interrupt_reaches_the_forked_kernel(server, tmp_path):
    km, kc = start(limited_kernel_argv(sys.executable, 2048, 256, server.socket), tmp_path)
    try:
        msg_id = kc.execute("while True:\n    pass")
        time.sleep(1.0)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=30)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        _, out = run(kc, "print('still here')")
        assert out.strip() == "still here"
    finally:
        stop(km, kc)


def test_killing_the_launcher_kills_the_kernel_even_when_it_is_busy(server, tmp_path):
    km, kc = start(limited_kernel_argv(sys.executable, 2048, 256, server.socket), tmp_path)
    pid = kernel_pid(kc)
    kc.execute("import time\nwhile True:\n    time.sleep(0.01)")
    time.sleep(0.5)
    km.provisioner.process.send_signal(signal.SIGKILL)  # what a forced shutdown does to the launcher
    assert gone(pid), "the kernel outlived its launcher"
    kc.stop_channels()
    km.cleanup_resources()


def test_the_launcher_exits_with_the_kernels_exit_status(server, tmp_path):
    km, kc = start(limited_kernel_argv(sys.executable, 2048, 256, server.socket), tmp_path)
    try:
        kc.execute("import os; os._exit(3)")
        assert km.provisioner.process.wait(timeout=30) == 3
    finally:
        stop(km, kc)


def test_without_a_server_the_kernel_starts_the_ordinary_way(tmp_path):
    missing = str(tmp_path / "no-such.sock")
    km, kc = start(limited_kernel_argv(sys.executable, 2048, 256, missing), tmp_path)
    try:
        _, out = run(kc, "import os, sys; print('tensorflow' in sys.modules, os.getppid())")
        warm, parent = out.split()
        assert warm == "False" and int(parent) == os.getpid()
    finally:
        stop(km, kc)


def test_the_server_stops_when_the_process_that_started_it_exits(tmp_path):
    script = textwrap.dedent(
        """
        from mnistlib.grading.forkserver import FORKSERVER_ENV, ForkServer
        server = ForkServer(wait=True)
        print(server.process.pid, flush=True)
        import os
        os._exit(0)  # no clean-up: the server must notice on its own
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert gone(int(done.stdout), within=60)


def test_an_idle_server_exits_and_a_new_one_is_started_on_demand(tmp_path):
    with ForkServer(tmp_path, wait=True, idle_exit=1.0) as idle:
        idle.process.wait(timeout=120)  # its imports, then one idle second
        assert not Path(idle.socket).exists(), "an idle server removes its socket"
    km, kc = start(limited_kernel_argv(sys.executable, 2048, 256, idle.socket), tmp_path)
    try:
        _, out = run(kc, "import sys; print('tensorflow' in sys.modules)")
        assert out.strip() == "False", "with the server gone, the kernel starts the ordinary way"
    finally:
        stop(km, kc)


def test_the_server_preloads_every_mnistlib_module_the_course_notebooks_import():
    """A module a notebook imports but the server lacks would cost every kernel its import again."""
    import json
    import re

    from mnistlib.grading.forkserver import PRELOAD, notebook_modules

    preloaded = set(PRELOAD) | set(notebook_modules())
    course = Path(__file__).resolve().parents[2] / "course" / "source"
    imported = set()
    for notebook in course.glob("*/*.ipynb"):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "code":
                code = "".join(cell["source"])
                imported |= set(re.findall(r"^\s*(?:from|import) (mnistlib[\w.]*)", code, re.M))
                imported |= {
                    f"mnistlib.{m}" for m in re.findall(r"^\s*from mnistlib import (\w+)", code, re.M)
                }
    assert {"mnistlib.checks.training", "mnistlib.plots", "mnistlib.widgets"} <= imported, (
        "the scan finds imports"
    )
    # every one but the answer key, which only test cells import, in the checker kernel
    assert imported - preloaded == {m for m in imported if m.startswith("mnistlib.checks")}
    assert not [m for m in preloaded if m.startswith("mnistlib.checks")]


def test_the_preloaded_modules_do_not_load_the_answer_key():
    """A learner's kernel is forked from a server that imported these: none may pull in mnistlib.checks."""
    probe = (
        "import sys\n"
        "from mnistlib.grading.forkserver import PRELOAD, notebook_modules, preload\n"
        "failed = preload([*PRELOAD, *notebook_modules()])\n"
        "print(sorted(m for m in sys.modules if m.startswith('mnistlib.checks')), failed)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []", done.stdout


def _checker_servers(parent: int) -> set[int]:
    """Pids of ``parent``'s fork servers outside any sandbox (their socket is in a host folder of their own)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mnistlib.grading.forkserver" not in argv or not any(b"/mnistlib-forkserver-" in a for a in argv):
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{parent}\n" in status:
            found.add(int(entry.name))
    return found


def test_a_sandboxed_class_run_forks_every_checker_from_one_warm_server_its_kernels_cannot_name(tmp_path):
    """``mnistlib grade --jobs 2``: one fork server outside the sandbox for the whole run (one more
    TensorFlow import per worker before, each started when its first test cell came), and the learner's
    kernel, in the sandbox, is not told where that server listens."""
    import nbformat

    from mnistlib.grading import sandbox as grading_sandbox

    if grading_sandbox.problem():
        pytest.skip(f"needs the grading sandbox: {grading_sandbox.problem()}")
    solution = nbformat.read(Path(__file__).resolve().parents[2] / "solutions" / "02-reshaping.ipynb", 4)
    solution.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            f"import os\nprint('forkserver seen:', os.environ.get('{FORKSERVER_ENV}'))"
        ),
    )
    for learner in ("ana", "ben", "cy", "dee"):
        target = tmp_path / "submitted" / learner / "02-reshaping" / "02-reshaping.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(solution, target)
    run = subprocess.Popen(
        [sys.executable, "-m", "mnistlib", "grade", "submitted", "--jobs", "2", "--json", "--feedback", "fb"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[int] = set()
    while run.poll() is None:
        seen |= _checker_servers(run.pid)
        time.sleep(0.05)
    out, err = run.communicate()
    assert run.returncode == 0, err[-3000:]
    assert len(seen) == 1, f"fork servers outside the sandbox during the run: {sorted(seen)}"
    assert not any(Path(f"/proc/{pid}").exists() for pid in seen), "the run's fork server outlived the run"
    pages = sorted((tmp_path / "fb").rglob("*.html"))
    assert len(pages) == 4
    for page in pages:
        text = page.read_text()
        assert "forkserver seen: None" in text, text[:2000]


def _has_tensorflow(pid: int) -> bool | None:
    """Whether process ``pid`` has TensorFlow's libraries mapped (None: it is gone)."""
    try:
        return "tensorflow" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return None


def test_a_run_whose_checks_are_numpy_forks_its_checkers_from_a_server_without_tensorflow(tmp_path):
    """Notebook 02's checks are NumPy code: the run's checker server does not import TensorFlow (its
    learners' kernels, in the sandbox, still have Keras preloaded: their notebook imports it). A learner's
    function that hands back a Keras tensor still gets the verdict the check gives in the notebook: the
    checker imports Keras when the bridge brings it one."""
    import nbformat

    from mnistlib.checks import CheckFailed
    from mnistlib.checks.reshaping import check_flatten_images
    from mnistlib.grading import sandbox as grading_sandbox

    if grading_sandbox.problem():
        pytest.skip(f"needs the grading sandbox: {grading_sandbox.problem()}")
    solution_path = Path(__file__).resolve().parents[2] / "solutions" / "02-reshaping.ipynb"
    tensor_body = (
        "    return keras.ops.convert_to_tensor(images.reshape(len(images), 784).astype(np.float32) / 255)\n"
    )
    for learner in ("ana", "ben"):
        notebook = nbformat.read(solution_path, 4)
        if learner == "ben":
            (cell,) = [c for c in notebook.cells if c.source.startswith("def flatten_images")]
            cell.source = cell.source.split('    """\n')[0] + '    """\n' + tensor_body
        target = tmp_path / "submitted" / learner / "02-reshaping" / "02-reshaping.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(notebook, target)
    run = subprocess.Popen(
        [sys.executable, "-m", "mnistlib", "grade", "submitted", "--jobs", "2", "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    servers: dict[int, bool] = {}
    while run.poll() is None:
        for pid in _checker_servers(run.pid):
            loaded = _has_tensorflow(pid)
            if loaded is not None:
                servers[pid] = servers.get(pid, False) or loaded
        time.sleep(0.05)
    out, err = run.communicate()
    assert run.returncode in (0, 1), err[-3000:]
    assert len(servers) == 1 and not any(servers.values()), f"checker servers (TensorFlow loaded?): {servers}"

    import keras
    import numpy as np

    def tensor_flatten(images):
        return keras.ops.convert_to_tensor(images.reshape(len(images), 784).astype(np.float32) / 255)

    try:
        check_flatten_images(tensor_flatten)
        expected = None
    except CheckFailed as failed:
        expected = str(failed).splitlines()[0]
    results = {r["student"]: r for r in json.loads(out)["results"]}
    (ana,) = [e for e in results["ana"]["exercises"] if e["grade_id"] == "test_flatten_images"]
    (ben,) = [e for e in results["ben"]["exercises"] if e["grade_id"] == "test_flatten_images"]
    assert ana["score"] == ana["max_score"] > 0, ana
    if expected is None:
        assert ben["score"] == ben["max_score"], ben
    else:
        assert ben["score"] == 0 and expected in ben["message"], (expected, ben)
