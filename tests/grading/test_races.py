"""The grader never acts by path on what the learner's kernel can write (issue 24, class 1).

A learner's kernel can write in its own run folder, where the grader makes the folder for the
bridge's calls, and in every call folder. A thread in the learner kernel (a real ipykernel here)
watches those folders and, the moment the grader makes something there, swaps it for a symbolic
link to a host file or folder: if the grader then changed the mode of, wrote into or removed
anything by path, it would act on the host's file instead. The racer runs against the very
functions the grader uses (``new_calls_folder``, ``shutil.rmtree`` at the notebook's end, and
the bridge's calls), 100 times each, and must never win; the same racer is first shown to win
against the old way (``mkdtemp`` and ``chmod`` by path), so the harness can fail.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time

import numpy as np
import pytest
from jupyter_client.manager import start_new_kernel

from mnistlib.grading import bridge
from mnistlib.grading.bridge import BridgeError
from mnistlib.grading.preprocessors import new_calls_folder

ROUNDS = 100

RACER = """
import os, threading

_swaps = []
_stop = threading.Event()


def _swap(path, target):
    try:
        os.rename(path, path + ".taken")
        os.symlink(target, path)
        _swaps.append(path)
    except OSError:
        pass


def _race(folder, prefix, targets, nested):
    seen = set()
    while not _stop.is_set():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if name.startswith(prefix) and not name.endswith(".taken") and path not in seen:
                seen.add(path)
                if not os.path.islink(path):
                    _swap(path, targets[len(_swaps) % len(targets)])
            elif nested and name.startswith("mnistlib-calls-") and not os.path.islink(path):
                for inner in os.listdir(path) if os.path.isdir(path) else []:
                    inner_path = os.path.join(path, inner)
                    if inner.startswith("call-") and not inner.endswith(".taken") and inner_path not in seen:
                        seen.add(inner_path)
                        _swap(inner_path, targets[len(_swaps) % len(targets)])


def start_racer(folder, prefix, targets, nested=False):
    _stop.clear()
    threading.Thread(target=_race, args=(folder, prefix, targets, nested), daemon=True).start()


def stop_racer():
    _stop.set()
    return len(_swaps)


def pick(values, n):
    return values[n]
"""


@pytest.fixture()
def kernel(tmp_path):
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    assert kc.execute_interactive(RACER, timeout=30)["content"]["status"] == "ok"
    yield km, kc
    if bridge._BRIDGE is not None:
        bridge._BRIDGE.close()
        bridge._BRIDGE = None
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture()
def host(tmp_path):
    """Host files a learner must never reach: a 0600 file and a folder holding one."""
    place = tmp_path / "host"
    place.mkdir()
    secret = place / "gradebook.db"
    secret.write_text("grades")
    secret.chmod(0o600)
    folder = place / "hidden-tests"
    folder.mkdir(mode=0o700)
    (folder / "test.py").write_text("assert answer == 42")
    return secret, folder


def state(secret, folder) -> tuple:
    info, folder_info = os.lstat(secret), os.lstat(folder)
    return (
        stat.S_IMODE(info.st_mode),
        secret.read_text(),
        stat.S_IMODE(folder_info.st_mode),
        sorted(p.name for p in folder.iterdir()),
        (folder / "test.py").read_text() if (folder / "test.py").exists() else None,
    )


def run(kc, code: str):
    reply = kc.execute_interactive(code, timeout=30, store_history=False)
    assert reply["content"]["status"] == "ok", reply["content"]


def swaps(kc) -> int:
    """Stop the racer; how many swaps it made."""
    msg_id = kc.execute("stop_racer()", store_history=False)
    while True:
        msg = kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_result":
            return int(msg["content"]["data"]["text/plain"])


def old_calls_folder(parent: str) -> str:
    """How the grader made the calls folder before issue 24: mkdtemp, then chmod by path. The
    pause stands for the grader being preempted between the two (a loaded grading machine), which
    the racer needs to win here within 100 rounds; the new way has no step after the folder exists
    that a pause could expose (the race below pauses after it, before the folder is used)."""
    folder = tempfile.mkdtemp(prefix="mnistlib-calls-", dir=parent)
    time.sleep(0.002)
    os.chmod(folder, 0o777)
    return folder


def race_the_calls_folder(kc, tmp_path, host, make) -> tuple[int, int]:
    """``make`` a calls folder ROUNDS times (then use it and remove it as the grader does) while
    the kernel swaps each new one for a link; (rounds where the host changed, swaps made)."""
    secret, folder = host
    before = state(secret, folder)
    run_dir = tmp_path / f"run-{make.__name__}"
    run_dir.mkdir(mode=0o700)
    run(kc, f"start_racer({str(run_dir)!r}, 'mnistlib-calls-', {[str(secret), str(folder)]!r})")
    won = 0
    for _ in range(ROUNDS):
        try:
            calls = make(str(run_dir))
        except OSError:
            continue
        time.sleep(0.01)  # the racer's moment: the grader's next step is the first learner call
        try:  # what the bridge does first with it
            os.close(os.open(calls, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW))
        except OSError:
            pass
        shutil.rmtree(calls, ignore_errors=True)  # what GradingExecute does at the notebook's end
        if state(secret, folder) != before:
            won += 1
            secret.chmod(0o600)
    return won, swaps(kc)


def test_the_racer_wins_against_a_chmod_by_path(kernel, tmp_path, host):
    """The harness can fail: the same racer beats the grader's old way of making the folder."""
    _, kc = kernel
    won, swapped = race_the_calls_folder(kc, tmp_path, host, old_calls_folder)
    assert swapped > 0 and won > 0, f"{swapped} swaps, {won} wins"


def test_the_calls_folder_is_made_through_descriptors_and_the_racer_never_wins(kernel, tmp_path, host):
    _, kc = kernel
    won, swapped = race_the_calls_folder(kc, tmp_path, host, new_calls_folder)
    assert swapped >= ROUNDS // 4, f"the racer swapped only {swapped} of {ROUNDS} folders"
    assert won == 0, f"the host files changed in {won} of {ROUNDS} rounds"


def test_a_racer_swapping_each_call_folder_never_reaches_the_host(kernel, tmp_path, host):
    """100 calls across the bridge while every new call folder is swapped for a link."""
    km, kc = kernel
    secret, folder = host
    before = state(secret, folder)
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    calls = new_calls_folder(str(run_dir))
    connection = {k: v.decode() if isinstance(v, bytes) else v for k, v in km.get_connection_info().items()}
    namespace: dict = {}
    bridge.bind(["pick"], connection, calls, 30, namespace)
    run(kc, f"start_racer({str(run_dir)!r}, 'none', {[str(secret), str(folder)]!r}, nested=True)")
    answered = refused = 0
    for n in range(ROUNDS):
        try:
            assert namespace["pick"](np.arange(5), n % 5) == n % 5
            answered += 1
        except (BridgeError, OSError):
            refused += 1
        assert state(secret, folder) == before, f"call {n} changed a host file"
    swapped = swaps(kc)
    shutil.rmtree(calls)
    assert state(secret, folder) == before
    assert answered + refused == ROUNDS and swapped > 0, (answered, refused, swapped)
    assert stat.S_IMODE(os.lstat(run_dir).st_mode) == 0o700
