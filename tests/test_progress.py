"""Where am I: checks record their outcome safely, and ``mnistlib progress`` prints the course map."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from doc_commands import block
from fresh_clone import run_block

from mnistlib import files, progress
from mnistlib.checks import CheckFailed
from mnistlib.checks.reshaping import check_flatten_images
from mnistlib.grading import command as grading

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def right(images):
    return images.reshape(len(images), 784).astype(np.float32) / 255


def by_256(images):
    return images.reshape(len(images), 784).astype(np.float32) / 256


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A learner's course folder my-work/ with the kernel in my-work/02-reshaping/, no override."""
    folder = tmp_path / "my-work" / "02-reshaping"
    folder.mkdir(parents=True)
    monkeypatch.delenv(progress.ENV, raising=False)
    monkeypatch.chdir(folder)
    monkeypatch.setattr(progress, "_noted", set())
    return tmp_path / "my-work"


def test_the_file_lives_in_the_course_folder_above_the_notebooks_folder(course, tmp_path, monkeypatch):
    assert progress.progress_path() == course / progress.FILE_NAME
    assert progress.course_root(course) == course
    assert progress.course_root(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    monkeypatch.setenv(progress.ENV, str(tmp_path / "mine.json"))
    assert progress.progress_path() == tmp_path / "mine.json"
    monkeypatch.setenv(progress.ENV, str(tmp_path / "box"))
    assert progress.progress_path() == tmp_path / "box" / progress.FILE_NAME
    monkeypatch.setenv(progress.ENV, "off")
    assert progress.progress_path() is None


def test_checks_record_passes_and_failures(course, capsys):
    with pytest.raises(CheckFailed):
        check_flatten_images(by_256)
    data = json.loads((course / progress.FILE_NAME).read_text())
    entry = data["exercises"]["flatten_images"]
    assert entry["notebook"] == "02-reshaping" and entry["passed"] is False
    assert entry["message"].startswith("divide by 255, not 256")
    assert time.strftime("%Y-%m-%d") in entry["time"]
    check_flatten_images(right)
    data = json.loads((course / progress.FILE_NAME).read_text())
    assert data["exercises"]["flatten_images"]["passed"] is True
    assert data["exercises"]["flatten_images"]["attempts"] == 2
    assert [e["passed"] for e in data["events"]] == [False, True]
    assert "note:" not in capsys.readouterr().out
    assert sorted(p.name for p in course.iterdir()) == [
        f".{progress.FILE_NAME}.lock",
        "02-reshaping",
        progress.FILE_NAME,
    ]


def test_a_cells_silent_look_at_an_exercise_is_no_attempt(course):
    """mnistlib.needs() runs the visible check quietly: no progress record, no hint rung earned."""
    from mnistlib import hints, prerequisites

    hints.reset()
    for _ in range(5):
        assert prerequisites.check_passes("flatten_images", by_256) == "its check does not pass yet"
    assert not (course / progress.FILE_NAME).exists()
    with pytest.raises(CheckFailed) as failure:
        check_flatten_images(by_256)  # the learner's own first run: no rung yet
    assert "more help" not in str(failure.value)


def test_writes_are_atomic(course, monkeypatch):
    progress.record_check("get_digit", True)
    before = (course / progress.FILE_NAME).read_text()

    def disk_full(fd):  # the new file is written, then syncing it to disk fails
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError):
        progress.update(course / progress.FILE_NAME, lambda data: None)
    assert (course / progress.FILE_NAME).read_text() == before, "a failed write left the old file intact"
    assert sorted(p.name for p in course.iterdir() if p.name.startswith(".mnistlib-progress.json.")) in (
        [],
        [".mnistlib-progress.json.lock"],
    ), "no temporary file left behind"
    progress.record_check("get_digit", False, "\n  expected: x\n  got:      y\n  hint:     look closer")
    check_flatten_images(right)  # and a check still passes: the failure became a note
    assert (course / progress.FILE_NAME).read_text() == before


def test_a_corrupt_file_is_set_aside_with_one_note(course, capsys):
    (course / progress.FILE_NAME).write_text('{"exercises": {"get_digit": ')
    check_flatten_images(right)
    out = capsys.readouterr().out
    assert out.count("note:") == 1 and "set aside" in out, out
    assert "flatten_images gives one row" in out
    aside = list(course.glob(f"{progress.FILE_NAME}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"exercises": {"get_digit": '
    data = json.loads((course / progress.FILE_NAME).read_text())
    assert data["exercises"]["flatten_images"]["passed"] is True
    (course / progress.FILE_NAME).write_text("[1, 2]")  # valid JSON, wrong shape
    assert progress.load(course / progress.FILE_NAME) == progress.empty()
    assert len(list(course.glob(f"{progress.FILE_NAME}.corrupt-*"))) == 2


def test_an_io_error_never_breaks_a_check(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(progress, "_noted", set())
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv(progress.ENV, str(tmp_path / "a-file" / "inside"))
    check_flatten_images(right)
    with pytest.raises(CheckFailed):
        check_flatten_images(by_256)
    out = capsys.readouterr().out
    assert out.count("note:") == 1 and "could not be saved" in out


def test_nothing_is_recorded_while_nbgrader_executes(course, tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    check_flatten_images(right)
    with pytest.raises(CheckFailed):
        check_flatten_images(by_256)
    monkeypatch.setenv(progress.ENV, str(tmp_path / "override"))
    check_flatten_images(right)
    progress.record_grade(course / "02-reshaping" / "02-reshaping.ipynb", "02-reshaping", 2, 2)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from mnistlib import progress

    go = Path(sys.argv[1])
    while not go.exists():
        time.sleep(0.005)
    for i in range(60):
        progress.record_check("flatten_images", i % 2 == 0, f"hint: try {i}")
        progress.record_check(sys.argv[2], True)
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    env = dict(os.environ, **{progress.ENV: str(tmp_path / "shared")})
    go = tmp_path / "go"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(go), name], env=env)
        for name in ("relu", "softmax")
    ]
    time.sleep(1.0)  # both started and waiting
    go.touch()
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    data = json.loads((tmp_path / "shared" / progress.FILE_NAME).read_text())
    assert data["exercises"]["flatten_images"]["attempts"] == 120
    assert data["exercises"]["relu"]["attempts"] == 60 and data["exercises"]["softmax"]["attempts"] == 60
    assert len(data["events"]) == 240
    pids = {e["pid"] for e in data["events"]}
    assert pids == {w.pid for w in writers}
    for pid in pids:
        mine = [e["message"] for e in data["events"] if e["pid"] == pid and e["exercise"] == "flatten_images"]
        assert mine == [("passed" if i % 2 == 0 else f"try {i}") for i in range(60)]


def _prepared(folder: Path) -> None:
    """my-work/ with get_digit passed, label_counts failing, the rest untried, 01 graded 2 / 4."""
    for name in ("01-loading-data", "02-reshaping"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    env = {progress.ENV: str(folder)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        progress.record_check("get_digit", True)
        progress.record_check(
            "label_counts", False, "\n  expected: 10 counts\n  got: 9\n  hint:     use minlength"
        )
        progress.record_grade(folder / "01-loading-data" / "01-loading-data.ipynb", "01-loading-data", 2, 4)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def _progress_command(args: list[str], cwd: Path) -> str:
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ["PATH"]]))
    env.pop(progress.ENV, None)
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_mnistlib_progress_prints_the_course_map(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    _prepared(tmp_path / "my-work")
    out = _progress_command(["mnistlib", "progress", "my-work"], tmp_path)
    lines = out.splitlines()
    for notebook in progress.notebooks():
        assert any(line.startswith(notebook) for line in lines), f"{notebook} missing:\n{out}"
    assert len(progress.notebooks()) == 9
    assert "01-loading-data                1 of 2 passed   last grade 2 / 4" in out
    assert "  [x] get_digit     passed" in lines
    assert "  [!] label_counts  failing: use minlength" in lines
    assert "  [ ] flatten_images  not tried" in lines
    assert "Next: label_counts in 01-loading-data (23 exercise(s) left)." in lines
    # from inside a notebook's folder, with no argument: the same file
    inside = _progress_command(
        [sys.executable, "-m", "mnistlib", "progress"], tmp_path / "my-work" / "02-reshaping"
    )
    assert inside == out


def test_grading_a_learners_notebook_records_its_score(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    folder = tmp_path / "my-work" / "02-reshaping"
    folder.mkdir(parents=True)
    notebook = folder / "02-reshaping.ipynb"
    notebook.write_text("{}")

    def graded(jobs, **kwargs):
        return [dict(job, score=1.0, max_score=2.0, exercises=[], notes=[]) for job in jobs]

    monkeypatch.setattr(grading, "run_jobs", graded)
    assert grading.main([str(notebook)]) == 1
    data = json.loads((tmp_path / "my-work" / progress.FILE_NAME).read_text())
    assert (
        data["grades"]["02-reshaping"]["score"] == 1.0 and data["grades"]["02-reshaping"]["max_score"] == 2.0
    )


def test_you_are_here_is_a_widget_with_static_fallbacks(course):
    progress.record_check("get_digit", True)
    progress.record_check("label_counts", True)
    progress.record_check("flatten_images", False, "hint: not yet")
    bundle = progress.you_are_here("02-reshaping")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("You are here: 01\u2714 \u00b7 [02-reshaping \u25d0] \u00b7 03")
    assert (
        'aria-current="page"' in bundle["text/html"] and 'href="../03-one-hot-labels/' in bundle["text/html"]
    )
    nxt = progress.whats_next("02-reshaping")._repr_mimebundle_()
    assert (
        "**Next:** [03-one-hot-labels](../03-one-hot-labels/03-one-hot-labels.ipynb)" in nxt["text/markdown"]
    )
    assert "`flatten_images` (failing)" in nxt["text/markdown"]
    last = progress.whats_next("09-going-further")._repr_mimebundle_()["text/plain"]
    assert (
        "last notebook" in last
        and "Earlier notebooks with exercises left: 02-reshaping, 03-one-hot-labels, 04-" in last
    )


@pytest.mark.parametrize("notebook", progress.notebooks())
def test_each_notebook_opens_with_the_map_and_ends_with_whats_next(notebook):
    cells = nbformat.read(REPO / "course" / "source" / notebook / f"{notebook}.ipynb", as_version=4).cells
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    assert f'you_are_here("{notebook}")' in cells[code[0] + 1].source
    assert cells[-1].source.endswith(f'whats_next("{notebook}")')
    graded = {c.metadata.get("nbgrader", {}).get("grade_id") for c in cells} - {None}
    assert {f"test_{e}" for e in progress.exercises(notebook)} <= graded


def test_readme_progress_command(tmp_path):
    _prepared(tmp_path / "my-work")
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ["PATH"]]))
    env.pop(progress.ENV, None)
    done = run_block(block("README.md", "Where am I, and hints"), tmp_path, env, timeout=120)
    assert "[!] label_counts  failing: use minlength" in done.stdout
    assert "last grade 2 / 4" in done.stdout
