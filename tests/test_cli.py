"""The `mnistlib data` commands, run as real subprocesses against a temporary cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnistlib import data

NAMES = list(data.IDX_SHA256)


def mnistlib_data(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m mnistlib data ARGS`` with this test's (isolated) environment."""
    return subprocess.run(
        [sys.executable, "-m", "mnistlib", "data", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


@pytest.fixture
def imported(isolated_env, mnist_idx_dir) -> Path:
    """The isolated cache after `mnistlib data fetch --from <verified folder>`."""
    done = mnistlib_data("fetch", "--from", str(mnist_idx_dir))
    assert done.returncode == 0, done.stderr
    assert f"MNIST ready in {isolated_env.cache}" in done.stdout
    assert f"source: copied from {mnist_idx_dir}" in done.stdout
    return isolated_env.cache


def test_fetch_from_folder_then_where(imported, mnist_idx_dir):
    assert sorted(p.name for p in imported.iterdir()) == sorted([*NAMES, "source.json"])
    done = mnistlib_data("where")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"cache: {imported} (present and verified)" in out
    for name in NAMES:
        assert f"       ok  {name}" in out
    assert f"source: copied from {mnist_idx_dir} (fetched 20" in out


def test_where_on_an_empty_cache(isolated_env):
    done = mnistlib_data("where")
    assert done.returncode == 1
    assert f"cache: {isolated_env.cache} (NOT complete)" in done.stdout
    for name in NAMES:
        assert f"  missing  {name}" in done.stdout
    assert "source:" not in done.stdout


def test_where_mentions_mnistlib_data(isolated_env, mnist_idx_dir):
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib", "data", "where"],
        capture_output=True,
        text=True,
        env={**os.environ, "MNISTLIB_DATA": str(mnist_idx_dir)},
        timeout=120,
    )
    assert f"MNISTLIB_DATA is set: load_mnist() reads {mnist_idx_dir}" in done.stdout


def test_where_json_is_valid(imported, mnist_idx_dir):
    done = mnistlib_data("where", "--json")
    assert done.returncode == 0
    info = json.loads(done.stdout)
    assert info["cache"] == str(imported)
    assert info["files"] == {name: "ok" for name in NAMES}
    assert info["complete"] is True
    assert info["source"] == f"copied from {mnist_idx_dir}"
    assert info["MNISTLIB_DATA"] is None and info["keras_cache"] is None


def test_verify_good_cache(imported):
    done = mnistlib_data("verify")
    assert done.returncode == 0
    assert f"all four files verified by SHA-256 in {imported}" in done.stdout


def test_verify_names_the_corrupted_file(imported):
    path = imported / "t10k-images-idx3-ubyte"
    raw = bytearray(path.read_bytes())
    raw[123456] ^= 0x01
    path.write_bytes(raw)
    done = mnistlib_data("verify")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "corrupted  t10k-images-idx3-ubyte" in lines
    assert sum(line.strip().startswith("ok ") for line in lines) == 3
    assert "mnistlib data fetch" in done.stderr
    assert path.is_file(), "verify only reports; it does not delete"


def test_fetch_from_a_bad_path_fails_cleanly(isolated_env, tmp_path):
    done = mnistlib_data("fetch", "--from", str(tmp_path / "nothing.npz"))
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {tmp_path / 'nothing.npz'}: no such file or folder")
    assert "Traceback" not in done.stderr
    assert not isolated_env.cache.exists()


def test_fetch_with_a_complete_cache_does_not_download(imported, mnist_idx_dir):
    done = mnistlib_data("fetch")
    assert done.returncode == 0, done.stderr
    assert f"source: copied from {mnist_idx_dir}" in done.stdout
