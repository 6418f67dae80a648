"""How long the notebooks' first cell takes to install the course where it is missing (as on Colab).

``mnistlib bench --only install``: for each run, a fresh virtual environment without mnistlib, then
``pip install --quiet <the repository>``, as a notebook's first cell does on Google Colab with the
repository's ``git+https`` URL, here ``git+file://`` of this checkout's committed HEAD (so the
same clone and build from source, without the network). The dependencies come from pip's cache
and whatever package index pip is configured with; the report says whether that cache was warm.
The result: each run's seconds, their median and range, the installed size, and the load average.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Runs of the install (each a fresh venv); about five minutes each on a shared 2-core machine.
RUNS = 3


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def pip_cache_state() -> str:
    """``"warm (N MB)"``, ``"empty"`` or ``"off"``: pip's HTTP and wheel cache before the runs."""
    done = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True)
    if done.returncode != 0:
        return "off"
    folder = Path(done.stdout.strip())
    size = _size(folder) if folder.is_dir() else 0
    return f"warm ({size / 2**20:.0f} MB)" if size else "empty"


def bench_install(repo: Path, runs: int = RUNS) -> dict:
    """Time ``runs`` installs of the course from ``repo`` into fresh venvs (see the module's docstring)."""
    commit = _git(repo, "rev-parse", "HEAD")
    source = f"git+file://{repo.resolve()}@{commit}"
    cache = pip_cache_state()
    seconds, sizes, loads = [], [], []
    with tempfile.TemporaryDirectory(prefix="mnistlib-bench-install-") as tmp:
        for run in range(runs):
            venv = Path(tmp) / f"venv{run}"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            python = venv / "bin" / "python"
            load = os.getloadavg()[0]
            started = time.perf_counter()
            done = subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "--root-user-action=ignore", source],
                capture_output=True,
                text=True,
            )
            took = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"the install failed: {done.stderr.strip()[-2000:]}")
            check = subprocess.run(
                [str(python), "-c", "import mnistlib, keras"], capture_output=True, text=True
            )
            if check.returncode != 0:
                raise RuntimeError(f"installed, but mnistlib does not import: {check.stderr.strip()[-2000:]}")
            seconds.append(round(took, 1))
            sizes.append(_size(venv))
            loads.append([round(load, 1), round(os.getloadavg()[0], 1)])
            print(f"[bench] install run {run + 1}/{runs}: {took:.0f} s", file=sys.stderr, flush=True)
            shutil.rmtree(venv)
    return {
        "what": "pip install --quiet of the repository (git+file:// of the checkout) into a fresh venv",
        "commit": commit,
        "runs": seconds,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "installed_gb": round(statistics.median(sizes) / 1e9, 2),
        "pip_cache": cache,
        "load_average": loads,
    }


def render_install(install: dict) -> list[str]:
    runs = ", ".join(f"{s:.0f}" for s in install["runs"])
    loads = [value for pair in install["load_average"] for value in pair]
    return [
        "## Installing the course where it is missing (a notebook's first cell, as on Colab)",
        "",
        "| what | median (s) | range (s) | runs | installed |",
        "|---|---|---|---|---|",
        f"| {install['what']} | {install['median_s']:.0f} | {install['min_s']:.0f}-{install['max_s']:.0f} "
        f"({runs}) | {len(install['runs'])} | {install['installed_gb']:.1f} GB |",
        "",
        f"pip's cache: {install['pip_cache']}; load average while installing {min(loads):.0f} to "
        f"{max(loads):.0f} (1 minute). TensorFlow is most of the time and of the size.",
        "",
    ]
