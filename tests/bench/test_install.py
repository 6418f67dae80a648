"""The install section of ``mnistlib bench`` (the README quotes it: tests/test_first_cell.py)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from doc_commands import REPO

from mnistlib.bench.install import render_install


def test_the_committed_install_section_has_runs_median_range_and_conditions():
    install = json.loads((REPO / "docs" / "benchmarks.json").read_text())["install"]
    runs = install["runs"]
    assert len(runs) >= 3 and all(s > 0 for s in runs)
    assert install["median_s"] == statistics.median(runs) and (install["min_s"], install["max_s"]) == (
        min(runs),
        max(runs),
    )
    assert len(install["load_average"]) == len(runs) and install["pip_cache"].split()[0] in (
        "warm",
        "empty",
        "off",
    )
    table = "\n".join(render_install(install))
    assert f"| {install['median_s']:.0f} | {install['min_s']:.0f}-{install['max_s']:.0f} " in table
    assert f"pip's cache: {install['pip_cache']}" in table


def test_pip_cache_state_says_empty_for_an_empty_cache(tmp_path):
    probe = "from mnistlib.bench.install import pip_cache_state; print(pip_cache_state())"
    env = dict(os.environ, PIP_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.strip() == "empty", done
    (tmp_path / "cache" / "http").mkdir(parents=True)
    (tmp_path / "cache" / "http" / "x").write_bytes(b"0" * 3 * 2**20)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.strip() == "warm (3 MB)", done
