"""The threads section of the benchmark (mnistlib.bench.threads): its conditions are what they say,
and the report is rendered from the committed data.

Measuring it takes an hour (``mnistlib bench --only threads``); here each condition is checked on a
real process (its affinity, its cgroup quota, the competing processes), and what the report and
the notebooks make of the committed data.
"""

from __future__ import annotations

import json
import subprocess
import sys

import psutil
import pytest

from mnistlib import bench, cpu
from mnistlib.bench import threads

DATA = json.loads(bench.REPORT_DATA.read_text())


def _in(condition: str, code: str) -> str:
    with threads.condition(condition) as preexec:
        done = subprocess.run(
            [sys.executable, "-c", code], preexec_fn=preexec, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_one_core_pins_the_process_to_one_cpu():
    assert _in("1 core", "import os; print(len(os.sched_getaffinity(0)))") == "1"
    assert _in("idle", "import os; print(len(os.sched_getaffinity(0)))") == str(cpu.affinity_cpus())


@pytest.mark.parametrize("quota", [0.5, 1.0])
def test_a_quota_condition_runs_the_process_in_a_cgroup_with_that_quota(quota):
    from mnistlib.bench.scale import Cgroup

    if not Cgroup.available():
        pytest.skip("needs root and cgroup v1")
    found = _in(
        f"quota {quota}",
        "from mnistlib import cpu; print(cpu.cgroup_quota(), cpu.budget(environ={}).threads)",
    )
    assert found == f"{quota} 1"


def test_busy_starts_a_competing_process_per_core_and_stops_them():
    me = psutil.Process()
    with threads.condition("busy"):
        hogs = [p for p in me.children() if "while True" in " ".join(p.cmdline())]
        assert len(hogs) == cpu.affinity_cpus()
        assert all(p.status() == psutil.STATUS_RUNNING for p in hogs), (
            "CPU-bound: always runnable, never asleep"
        )
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in hogs)


def test_an_unknown_condition_is_named():
    with pytest.raises(ValueError, match="the conditions are idle, 1 core"), threads.condition("lunch"):
        pass


def test_the_settings_compared_are_the_libraries_defaults_and_the_budget():
    env = threads._clean_env(threads.SETTINGS["today"])
    assert env[cpu.THREADS_ENV] == "off" and cpu.budget(environ=env).threads is None
    assert not any(v in env for v in (*cpu.TF_THREAD_VARIABLES, "OPENBLAS_NUM_THREADS", cpu.JOBS_ENV))
    assert cpu.budget(environ=threads._clean_env(threads.SETTINGS["budget"])).threads >= 1


@pytest.mark.skipif("threads" not in DATA, reason="no threads section measured yet")
def test_the_report_gives_each_measure_and_condition_both_settings_and_the_load():
    t = DATA["threads"]
    text = "\n".join(threads.render_threads(t))
    ratios = threads.slowdowns(t)
    for name in t["conditions"]:
        if threads._measured(t, "speed", "twin_numpy_epoch_s", name):
            numpy = t["speed"][name]
            line = next(
                line
                for line in text.splitlines()
                if line.startswith(f"| 784-512-10, NumPy (s/epoch) | {name} |")
            )
            assert f"{numpy['budget']['spread']['twin_numpy_epoch_s']['median']:.2f}" in line
            assert f"{ratios['twin_numpy_epoch_s'][name]['budget_over_today']:.2f}" in line
    assert f"median {t['loadavg_1min']['median']:.1f}" in text and "the benchmark's own processes" in text
