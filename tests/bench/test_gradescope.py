"""The gradescope section of the benchmark (mnistlib.bench.gradescope): what it measures is what it says,
and the report, and the guide's sentence about it, come from the committed data.

Measuring it takes half an hour or more (``mnistlib bench --only gradescope``); here the process
sampler is run on a real cgroup and a real process, and the table is rendered from data.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time

import pytest

from mnistlib import bench
from mnistlib.bench import gradescope
from mnistlib.bench.gradescope import ProcessPeaks, render_gradescope, role

DATA = json.loads(bench.REPORT_DATA.read_text())
ENTRY = [sys.executable, "-m", "mnistlib.export.gradescope", "run", "--root", "/autograder"]
SERVER = [sys.executable, "-m", "mnistlib.grading.forkserver", "/tmp/s.sock", "12"]


@pytest.mark.parametrize(
    "argv, parent, expected",
    [
        (ENTRY, ["/bin/bash", "run_autograder"], "grader"),
        (ENTRY, ENTRY, "nbgrader worker"),  # the pool forks it: same command line as its parent
        (
            [sys.executable, "-c", "from multiprocessing.spawn import spawn_main; spawn_main()"],
            ENTRY,
            "nbgrader worker",
        ),  # fmt: skip
        (SERVER, ENTRY, "fork server"),
        (SERVER, SERVER, "kernel"),  # forked by the server
        (
            [sys.executable, "-m", "mnistlib.grading.kernel", "--forkserver", "/tmp/s.sock"],
            ENTRY,
            "kernel launcher",
        ),
        (["/usr/bin/bwrap", "--die-with-parent"], ENTRY, "bwrap"),
        ([], None, "?"),  # gone before its command line was read
    ],
)
def test_each_process_of_a_grading_is_named_by_its_command_line(argv, parent, expected):
    assert role(argv, parent) == expected


def test_the_sampler_sees_a_process_in_the_cgroup_with_its_peak_and_anonymous_memory():
    from mnistlib.bench.scale import Cgroup

    if not Cgroup.available():
        pytest.skip("needs root and cgroup v1")
    group = Cgroup(None, None)
    try:
        # 200 MB written (anonymous), then freed: the resident peak stays, the sampler saw the rest
        code = "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(1.5); del b; time.sleep(0.5)"
        with ProcessPeaks(group.memory / "cgroup.procs", interval=0.05) as watch:
            child = subprocess.Popen([sys.executable, "-c", code], preexec_fn=group.enter)
            child.wait(timeout=60)
            time.sleep(0.1)
        result = watch.result()
    finally:
        group.remove()
    (process,) = result["processes"]
    assert process["role"] == "python" or process["role"].startswith("python"), process
    assert 200 <= process["rss_mb"] < 400 and 200 <= process["anon_mb"] <= process["rss_mb"] + 1, process
    assert 200 <= result["anon_peak_mb"] < 400, "the group's anonymous memory, from its memory.stat"
    assert result["major_faults"] >= 0


def _run(seconds=40.0, peak=768.0, anon=500.0, score=2.0, oom=0, n=1):
    spread = lambda v: {"median": v, "min": v, "max": v, "n": n}  # noqa: E731
    return {
        "seconds": spread(seconds),
        "peak_mb": spread(peak),
        "anon_peak_mb": spread(anon),
        "major_faults": spread(1000),
        "cpu_s": spread(seconds / 2),
        "throttled": 0,
        "score": spread(score),
        "max_score": 2.0,
        "full_marks": n if score >= 2 else 0,
        "oom_kills": oom,
        "within_timeout": n if seconds <= gradescope.GRADESCOPE_TIMEOUT_S else 0,
        "n": n,
        "per_process": {
            "fork server": {"processes": 1, "rss_mb": spread(530.0), "anon_mb": spread(237.0)},
            "kernel": {"processes": 2, "rss_mb": spread(420.0), "anon_mb": spread(277.0)},
        },
    }


def _section(**runs) -> dict:
    return {
        "notebooks": {"01-loading-data": {"1 CPU": _run(), "0.5 CPU": _run(seconds=70.0)}, **runs},
        "limits": {"memory_mb": 768, "cpus": [1.0, 0.5], "timeout_s": 600},
        "sample_s": 0.2,
        "loadavg_1min": 3.5,
        "machine": {"cpu": "Some CPU", "cores": 2, "memory_gb": 23.5, "date": "2026-12-07"},
    }


def test_the_table_has_a_row_per_notebook_and_quota_and_says_when_all_got_full_marks():
    text = "\n".join(render_gradescope(_section()))
    assert (
        "| 01-loading-data | 1 CPU | 2 of 2 | 1 of 1 | 768 (1 run) | 500 (1 run) | 1000 | 20.0 (1 run) | 40.0 (1 run) | 1 of 1 |"
        in text
    )
    assert "| 01-loading-data | 0.5 CPU |" in text and "70.0 (1 run)" in text
    assert "Every notebook got full marks in every run at 768 MB and finished within 600 s (2 runs)" in text
    assert (
        "reached its 768 MB limit in 2 of 2" in text
        and "was 500 MB (01-loading-data, 1 CPU), 268 MB below" in text
    )
    assert "| 01-loading-data | 530 / 237 | 420 / 277 |" in text, "where the memory goes, per process"
    assert "held the container back (`cpu.stat`'s `nr_throttled`) in 0 of 2 runs" in text
    assert "at most 70 s here (01-loading-data, 0.5 CPU), against Gradescope's 600 s" in text
    assert "Load average at the end: 3.50 on 2 cores" in text and "Some CPU" in text


def test_a_notebook_killed_for_memory_or_too_slow_is_named():
    section = _section(**{"05-training": {"1 CPU": _run(score=0.0, oom=3), "0.5 CPU": _run(seconds=700.0)}})
    text = "\n".join(render_gradescope(section))
    assert "| 05-training | 1 CPU | 0 of 2 | 0 of 1 (3 out-of-memory kills) |" in text
    assert (
        "Not every notebook got full marks in every run at 768 MB: 05-training; over 600 s: 05-training"
        in text
    )
    assert "| 05-training | 0.5 CPU |" in text and "| 0 of 1 |" in text


def test_a_gradescope_only_run_keeps_the_machine_of_the_other_sections():
    earlier = {"machine": {"cpu": "A"}, "scale": {"x": 1}, "dates": {"scale": "2026-12-01"}}
    new = {"machine": {"cpu": "B"}, "gradescope": _section(), "dates": {"gradescope": "2026-12-07"}}
    merged = bench.merge(earlier, new)
    assert merged["machine"] == {"cpu": "A"} and merged["scale"] == {"x": 1}
    assert merged["dates"] == {"scale": "2026-12-01", "gradescope": "2026-12-07"}
    assert "gradescope" in bench.LONG_SECTIONS, "a --quick run leaves it out unless --only names it"


@pytest.mark.skipif("gradescope" not in DATA, reason="no gradescope section measured yet")
def test_the_committed_table_and_the_guide_agree():
    """docs/benchmarks.md renders the committed data; the guide's Gradescope section states its result."""
    section = copy.deepcopy(DATA["gradescope"])
    report = bench.REPORT.read_text()
    for line in render_gradescope(section):
        if line.startswith("|"):
            assert line in report, line
    guide = (bench.REPO / "docs" / "instructor.md").read_text()
    limit = section["limits"]["memory_mb"]
    runs = [run for row in section["notebooks"].values() for run in row.values()]
    if all(run["full_marks"] == run["n"] for run in runs):
        assert f"full marks at Gradescope's default {limit} MB" in guide
    highest = max(run["anon_peak_mb"]["max"] for run in runs)
    assert f"{highest:.0f} MB" in guide, "the guide quotes the largest memory that must fit"
