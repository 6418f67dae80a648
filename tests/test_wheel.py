"""The wheels: built from the repository, installed into fresh environments, used with no checkout.

docs/instructor.md, section 3, is run as written: ``pip wheel ... . ./grader`` in a copy of the
repository as a push would publish it (once per session: tests/course_wheels.py), ``pip install``
of those wheels, and the instructor's ``copy-course`` + ``nbgrader generate_assignment``, all from
an empty folder. Issue 23 split the course into two distributions: the LEARNER's
``mnist-keras-course`` (what notebooks import, the student release) and the GRADER's
``mnist-keras-course-grader`` (grading, exports, benchmarks, authoring, the source notebooks).
The learner's wheel, alone in a fresh venv, holds no solution, no hidden-test marker and no
``source/`` folder, imports nothing of the grader's, tells how to get the grader when asked to
grade, and self-checks the nine notebooks with the same messages as the checkout. With both
installed, the package copies the release and grades notebook 02 (the worked solution: full marks;
the student release: zero) with the course's config from site-packages, nbgrader leaves the
installed package untouched, and ``--course`` points grading at an instructor's own copy.
(binder/postBuild, which installs the learner's package from the repository without ``-e``, is run
in a fresh venv by tests/test_binder.py.) Two more
(issue 17, installable anywhere) run the README's ``pip install`` + ``mnistlib course start`` from
an empty folder, and notebook 01's Colab edition in a kernel of a venv without mnistlib, whose first
cell installs the learner's wheel (served from 127.0.0.1 in place of the repository's URL).

Time (2 cores): about 50 s to build both wheels (build isolation), 2 s per install, 16 s per
``mnistlib grade``, 20 s for nbgrader; each step's time is printed. nbgrader's
own ``autograde`` of the course config is tested on a clone by tests/docs/test_instructor.py.

What differs from a hub, and why: installing TensorFlow & co. from PyPI takes minutes, so the
fresh environments borrow the suite's installed packages (tests/course_wheels.py, fresh_venv).
Building uses pip's build isolation as the page does (setuptools from PyPI, usually from pip's
cache: ``network``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from course_wheels import DOC, built, fresh_venv
from doc_commands import REPO, block
from fresh_clone import run_block, run_script

import mnistlib
from mnistlib.course import assignment_ids
from mnistlib.grading import diagnose as grading_diagnose
from mnistlib.markers import MARKER_LINE

pytestmark = [pytest.mark.slow, pytest.mark.network]

SECTION = "3. JupyterHub with nbgrader's exchange"  # block 0 (the build) is run by course_wheels.built
DOC_WHEEL = "mnist_keras_course-0.1.0-py3-none-any.whl"  # the file names the page shows
DOC_GRADER_WHEEL = "mnist_keras_course_grader-0.1.0-py3-none-any.whl"
#: What only the grader's distribution ships (grader/pyproject.toml, grader/split.py).
GRADER_ONLY = re.compile(
    r"^mnistlib/(grading|export|bench|course_files/source)/|^mnistlib/(authoring|markers|figures)\.py$"
    r"|^mnistlib/course_files/nbgrader_config\.py$"
)


class Steps:
    """Times each step and prints the list (``pytest -s`` or on failure), so slow steps are visible."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []

    def run(self, name: str, function, *args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            self.times.append((name, time.perf_counter() - started))
            print(f"[test_wheel] {self.times[-1][1]:6.1f} s  {name}", flush=True)


def warnings_in(output: str) -> list[str]:
    """Lines of pip's or setuptools' output that warn (a dependency's name is not a warning)."""
    return [
        line
        for line in output.splitlines()
        if re.search(r"warn|deprecat", line, re.IGNORECASE) and "Requirement already satisfied" not in line
    ]


def run_ok(command: str, cwd: Path, env: dict, ok=(0,)):
    done = run_script(command, cwd, env, timeout=600)
    assert done.returncode in ok, (
        f"{command} (exit {done.returncode})\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    )
    return done


def cell_sources(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]


def total_points(assignment: str) -> float:
    source = REPO / "course" / "source" / assignment / f"{assignment}.ipynb"
    return sum(grading_diagnose.points(grading_diagnose.read_notebook(source)).values())


def site_of(venv: Path) -> Path:
    return Path(sysconfig.get_paths(vars={"base": str(venv)}, scheme="venv")["purelib"])


@pytest.fixture(scope="module")
def wheels():
    """Both wheels, built by the page's block 0 (once per session)."""
    made = built()
    print(
        f"[test_wheel] {made['seconds']:6.1f} s  pip wheel . ./grader (the page's block 0, once per session)"
    )
    assert made["names"] == [DOC_WHEEL, DOC_GRADER_WHEEL], (
        "the page names other wheels than `pip wheel` builds"
    )
    assert f"-{mnistlib.__version__}-" in made["learner"].name  # the one version, mnistlib.__version__
    assert warnings_in(made["output"]) == [], "building the wheels warns"
    return made


@pytest.fixture(scope="module")
def learner(tmp_path_factory, wheels, mnist_idx_dir):
    """The learner's wheel alone in a fresh venv (what pip install mnist-keras-course gives)."""
    tmp = tmp_path_factory.mktemp("learner-wheel")
    cache = tmp / "mnist-cache"
    cache.mkdir()
    for name in mnistlib.data.IDX_SHA256:
        (cache / name).write_bytes((mnist_idx_dir / name).read_bytes())
    env = fresh_venv(tmp / "venv", cache)
    empty = tmp / "empty"
    empty.mkdir()
    done = run_ok(f"pip install --no-index {wheels['learner']}", empty, env)
    assert "Successfully installed mnist-keras-course-" in done.stdout
    return {"venv": tmp / "venv", "env": env, "empty": empty}


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheels, mnist_idx_dir):
    """Both wheels installed by the page's block 1 into a fresh venv: an instructor's or grader's."""
    steps = Steps()
    tmp = tmp_path_factory.mktemp("wheel")
    cache = tmp / "mnist-cache"
    cache.mkdir()
    for name in mnistlib.data.IDX_SHA256:
        (cache / name).write_bytes((mnist_idx_dir / name).read_bytes())
    venv = tmp / "fresh"
    env = steps.run("fresh venv borrowing the suite's packages", fresh_venv, venv, cache)
    empty = tmp / "empty"  # the instructor's and learners' folder: no checkout anywhere near
    empty.mkdir()
    install = steps.run(
        "pip install both wheels (the page's block 1)",
        run_block,
        block(DOC, SECTION, 1),
        empty,
        dict(env, PIP_VERBOSE="1"),
        {DOC_WHEEL: str(wheels["learner"]), DOC_GRADER_WHEEL: str(wheels["grader"])},
    )
    assert warnings_in(install.stdout + install.stderr) == [], "installing the wheels warns"
    assert "Successfully installed mnist-keras-course-" in install.stdout
    assert "mnist-keras-course-grader-" in install.stdout
    assert "Collecting" not in install.stdout.replace(f"Processing {wheels['learner']}", "").replace(
        f"Processing {wheels['grader']}", ""
    ), "pip fetched a dependency: the fresh venv does not see the suite's packages"
    yield {"venv": venv, "env": env, "empty": empty, "wheel": wheels["learner"], "steps": steps, "tmp": tmp}
    print("\n".join(f"[test_wheel] {s:6.1f} s  {name}" for name, s in steps.times))


def test_the_two_wheels_carry_the_course_and_every_module_once(wheels):
    learner = set(zipfile.ZipFile(wheels["learner"]).namelist())
    grader = set(zipfile.ZipFile(wheels["grader"]).namelist())
    tracked = run_script("git ls-files mnistlib course", REPO, os.environ).stdout.split()
    expected = {
        n.replace("course/", "mnistlib/course_files/", 1) for n in tracked if not n.startswith("course/.")
    }
    package = lambda names: {n for n in names if n.startswith("mnistlib/")}  # noqa: E731
    assert expected - learner - grader == set(), "files of mnistlib/ or course/ that neither wheel ships"
    assert (package(learner) | package(grader)) - expected == set(), "untracked files in the wheels"
    assert package(learner) & package(grader) == set(), "a file in both wheels (pip would fight over it)"
    assert {n for n in package(learner) if GRADER_ONLY.search(n)} == set(), (
        "grader files in the learner's wheel"
    )
    assert {n for n in package(grader) if not GRADER_ONLY.search(n)} == set(), "learner files in the grader's"
    metadata = (
        zipfile.ZipFile(wheels["grader"])
        .read(f"mnist_keras_course_grader-{mnistlib.__version__}.dist-info/METADATA")
        .decode()
    )
    assert f"Requires-Dist: mnist-keras-course=={mnistlib.__version__}" in metadata


def test_the_learners_wheel_holds_no_answer_key(wheels, learner):
    """Neither in the wheel nor where it is installed: no solution, no hidden test, no source/."""
    with zipfile.ZipFile(wheels["learner"]) as wheel:
        for name in wheel.namelist():
            text = wheel.read(name).decode("utf-8", errors="replace")
            assert "BEGIN SOLUTION" not in text, f"{name} holds a solution marker"
            assert not MARKER_LINE.search(text) and not re.search(
                r"^\s*#+\s*BEGIN HIDDEN TESTS", text, re.M
            ), name
            assert "/source/" not in f"/{name}", name
    installed_package = site_of(learner["venv"]) / "mnistlib"
    assert (installed_package / "course_files" / "release").is_dir()
    found = [p for p in installed_package.rglob("*") if p.name in ("source", "solutions")]
    assert found == [], f"an answer-key folder where the learner's package is installed: {found}"
    for path in installed_package.rglob("*"):
        if path.is_file():
            assert b"BEGIN SOLUTION" not in path.read_bytes(), path


def test_the_learners_package_imports_nothing_of_the_graders(learner, tmp_path):
    """Every module of the installed learner's package, imported in a fresh process: none of grading,
    export, bench or authoring is importable or imported."""
    probe = (
        "import importlib, json, pkgutil, sys, mnistlib\n"
        "names = [m.name for m in pkgutil.walk_packages(mnistlib.__path__, 'mnistlib.')\n"
        "         if '.course_files' not in m.name and m.name != 'mnistlib.__main__']\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps([names, sorted(m for m in sys.modules if m.startswith('mnistlib.'))]))\n"
    )
    (tmp_path / "probe.py").write_text(probe)
    done = run_ok(f"python {tmp_path / 'probe.py'}", learner["empty"], learner["env"])
    names, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"mnistlib.checks.reshaping", "mnistlib.plots", "mnistlib.progress", "mnistlib.cli"} <= set(names)
    grader = [
        m for m in {*names, *loaded} if re.match(r"mnistlib\.(grading|export|bench|authoring|markers)\b", m)
    ]
    assert grader == [], f"the learner's package has or imports the grader's modules: {grader}"


@pytest.mark.parametrize(
    "command", ["grade my-work", "export gradescope", "bench --quick", "course copy-course c"]
)
def test_the_learners_command_says_how_to_get_the_grader(learner, command):
    done = run_ok(f"mnistlib {command}", learner["empty"], learner["env"], ok=(2,))
    assert "mnist-keras-course-grader" in done.stderr and "pip install" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


SELF_CHECK = """
import json, sys
from pathlib import Path

import ast

import mnistlib


def definitions(source):  # a cell's helper functions that a test uses (08's init_params), alone
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return None
    kept = [n for n in body if isinstance(n, (ast.FunctionDef, ast.Import, ast.ImportFrom))]
    return compile(ast.Module(kept, []), "<cell>", "exec") if kept else None


mnistlib.setup_notebook()
messages = {}
for path in sorted(Path(sys.argv[1]).glob("*.ipynb")) + sorted(Path(sys.argv[1]).glob("*/*.ipynb")):
    cells = json.loads(path.read_text())["cells"]
    space = {}
    exec("import numpy as np\\nimport keras\\nimport mnistlib", space)
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell["source"])
        if cell["cell_type"] != "code":
            continue
        if not (meta.get("solution") or meta.get("grade")):
            if (helpers := definitions(source)) is not None:
                exec(helpers, space)
            continue
        try:
            exec(source, space)
            outcome = "passed" if meta.get("grade") else None
        except BaseException as error:  # a check's message, or the answer cell's own failure
            outcome = f"{type(error).__name__}: {error}"
        if meta.get("grade"):
            messages[f"{path.stem}/{meta['grade_id']}"] = outcome
print(json.dumps(messages))
"""


def test_the_nine_notebooks_self_check_from_the_learners_package(learner, tmp_path):
    """The answer and test cells of the student release (nothing written: every check says so) and of
    the worked solutions (every check passes), run by the learner's installed package: the same
    messages as the checkout's."""
    script = tmp_path / "self_check.py"
    script.write_text(SELF_CHECK)
    env = dict(learner["env"], MNISTLIB_QUICK="1", MNISTLIB_PROGRESS="off")
    for folder in (REPO / "course" / "release", REPO / "solutions"):
        ours = subprocess.run(
            [sys.executable, str(script), str(folder)], capture_output=True, text=True, timeout=900,
            env=dict(os.environ, MNISTLIB_QUICK="1", MNISTLIB_PROGRESS="off"), cwd=tmp_path,
        )  # fmt: skip
        theirs = run_ok(f"python {script} {folder}", learner["empty"], env)
        expected = json.loads(ours.stdout.strip().splitlines()[-1])
        got = json.loads(theirs.stdout.strip().splitlines()[-1])
        assert len(got) >= 24, f"{folder.name}: only {len(got)} test cells ran"
        assert got == expected, {
            k: (got.get(k), expected.get(k)) for k in expected if got.get(k) != expected.get(k)
        }
        if folder.name == "release":
            assert all(m and m.startswith("CheckFailed") for m in got.values()), got
        else:
            assert set(got.values()) == {"passed"}, got


def test_installed_mnistlib_is_the_wheels_not_the_checkout(installed):
    site = site_of(installed["venv"])
    probe = (
        "import json, mnistlib, mnistlib.course as c, importlib.metadata as m;"
        "print(json.dumps([mnistlib.__file__, str(c.COURSE), c.REPO, m.version('mnist-keras-course'),"
        " m.version('mnist-keras-course-grader')]))"
    )
    done = run_ok(f'python -c "{probe}"', installed["empty"], installed["env"])
    module, course, repo, version, grader_version = json.loads(done.stdout)
    assert module == f"{site}/mnistlib/__init__.py", "mnistlib is not imported from the fresh venv"
    assert course == f"{site}/mnistlib/course_files"
    assert repo is None  # installed without a checkout
    assert version == grader_version == mnistlib.__version__
    assert run_ok("mnistlib course where", installed["empty"], installed["env"]).stdout.strip() == course
    # build and check need a checkout: one clear line, not a traceback
    done = run_ok("mnistlib course check", installed["empty"], installed["env"], ok=(2,))
    assert "installed without one" in done.stderr and "Traceback" not in done.stderr


def test_learner_copies_the_release_and_grades_notebook_02(installed):
    env, empty, steps = installed["env"], installed["empty"], installed["steps"]
    copy = steps.run("copy-release", run_ok, "mnistlib course copy-release my-work", empty, env)
    assert "9 notebook file(s) copied to my-work" in copy.stdout
    assert sorted(p.parent.name for p in (empty / "my-work").glob("*/*.ipynb")) == sorted(
        p.name for p in (REPO / "course" / "release").iterdir()
    )
    full = total_points("02-reshaping")
    assert full > 0

    # the untouched release, with the command the page shows: every exercise 0 points, exit 1
    done = steps.run(
        "mnistlib grade (release 02)",
        run_ok,
        "mnistlib grade my-work/02-reshaping/02-reshaping.ipynb",
        empty,
        env,
        ok=(1,),
    )
    assert f"TOTAL 0 / {full:g} over 1 notebook(s)" in done.stdout, done.stdout

    # the worked solution (the checkout's solutions/ are not in the wheel): full marks, exit 0
    (empty / "solution").mkdir()
    (empty / "solution" / "02-reshaping.ipynb").write_bytes(
        (REPO / "solutions" / "02-reshaping.ipynb").read_bytes()
    )
    done = steps.run(
        "mnistlib grade (solution 02)",
        run_ok,
        "mnistlib grade solution/02-reshaping.ipynb --json",
        empty,
        env,
    )
    report = json.loads(done.stdout)
    assert (report["score"], report["max_score"]) == (full, full), report
    assert all(e["score"] == e["max_score"] for e in report["results"][0]["exercises"])


def test_instructor_copies_the_course_and_nbgrader_runs_from_the_copy(installed):
    env, empty, steps = installed["env"], installed["empty"], installed["steps"]
    site_course = Path(run_ok("mnistlib course where", empty, env).stdout.strip())
    before = sorted(str(p) for p in site_course.rglob("*"))

    done = steps.run(
        "copy-course + nbgrader generate_assignment (block 2)", run_block, block(DOC, SECTION, 2), empty, env
    )
    own = empty / "mnist-keras-course"
    assert (own / "gradebook.db").is_file(), done.stdout + done.stderr
    generated = own / "release" / "01-loading-data" / "01-loading-data.ipynb"
    committed = REPO / "course" / "release" / "01-loading-data" / "01-loading-data.ipynb"
    assert cell_sources(generated) == cell_sources(committed), "nbgrader made another student release"
    assert sorted(str(p) for p in site_course.rglob("*")) == before, (
        "nbgrader wrote into the installed package"
    )

    # --course: grading follows an instructor's own copy, not the installed course
    run_ok("mnistlib course copy-course no-02 && rm -r no-02/source/02-reshaping", empty, env)
    done = run_ok(
        "mnistlib grade --course no-02 my-work/02-reshaping/02-reshaping.ipynb", empty, env, ok=(1, 2)
    )
    assert "02-reshaping" in done.stderr and "nothing to grade" in done.stderr, done.stderr
    done = run_ok("mnistlib grade --course . my-work/02-reshaping/02-reshaping.ipynb", empty, env, ok=(2,))
    assert f"{empty} has no source/ folder" in done.stderr or ". has no source/ folder" in done.stderr


# --- Installable anywhere (issue 17): `mnistlib course start`, and the first cell without the package ---

START_SECTION = "Without a checkout: pip, or Google Colab"  # README.md


def server_started_by(process):
    """The JupyterLab server among the command's processes (``course start`` execs into it)."""
    import psutil

    family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    servers = [p for p in family if "jupyterlab" in " ".join(p.cmdline())]
    assert len(servers) == 1, [p.cmdline() for p in family]
    return servers[0]


def printed_url(log: Path, process, port: int, timeout: float = 120) -> str:
    """The notebook URL JupyterLab prints when it does not open a browser."""
    pattern = re.compile(rf"(http://127\.0\.0\.1:{port}/lab/tree/\S+\?token=\w+)")
    deadline = time.monotonic() + timeout
    while not (found := pattern.search(log.read_text())):
        assert process.poll() is None, f"exited ({process.returncode}):\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no URL printed in {timeout:.0f} s:\n{log.read_text()}"
        time.sleep(0.3)
    # it prints the link a moment before it listens: wait for the port, as a learner's browser would retry
    import socket

    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return found.group(1)
        except OSError:
            assert process.poll() is None, f"exited ({process.returncode}):\n{log.read_text()}"
            assert time.monotonic() < deadline, f"nothing listens on port {port}:\n{log.read_text()}"
            time.sleep(0.3)


def check_server(url: str, work: Path) -> None:
    """Through the REST API: notebook 01 is what opened, and the server's root is ``work``."""
    from jupyter_lab import NOTEBOOK_01, get_json

    ASSIGNMENTS = set(assignment_ids())

    match = re.match(r"(http://[^/]+)/lab/tree/(.+?)\?token=(\w+)$", url)
    assert match, f"not a JupyterLab notebook URL: {url}"
    server, path, token = match.groups()
    assert path == NOTEBOOK_01
    root = get_json(f"{server}/api/contents?token={token}")
    assert {item["name"] for item in root["content"]} == ASSIGNMENTS, f"the server's root is not {work}"
    notebook = get_json(f"{server}/api/contents/{NOTEBOOK_01}?token={token}")
    assert notebook["type"] == "notebook" and notebook["content"]["cells"]
    with urllib.request.urlopen(url, timeout=30) as page:  # the page a browser gets: JupyterLab's
        html = page.read().decode()
    assert (
        page.status == 200 and "<title>JupyterLab</title>" in html and f'"treePath": "{NOTEBOOK_01}"' in html
    )
    assert (work / NOTEBOOK_01).read_text() == (REPO / "course" / "release" / NOTEBOOK_01).read_text()


def test_course_start_copies_the_notebooks_and_opens_notebook_01(installed, tmp_path):
    """README's two commands from an empty folder; then again with --no-browser and --port, keeping a
    learner's edit. JupyterLab runs inside my-work/ with the Makefile's flags, and leaves nothing behind."""
    from types import SimpleNamespace

    from jupyter_lab import free_port, lab_env, opened_url, start, stop

    learner = tmp_path / "learner"
    learner.mkdir()
    work = learner / "my-work"
    env = lab_env(SimpleNamespace(env=installed["env"]), tmp_path, allow_root=False)
    port = free_port()  # the command as written uses JupyterLab's default port: set that in its config
    (tmp_path / "jupyter-config" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"port": port, "port_retries": 0}})
    )
    env["PIP_NO_INDEX"] = "1"  # offline: the wheel's dependencies are installed already
    assert (installed["venv"] / "share" / "jupyter" / "lab").exists()  # linked by fresh_venv
    script = block("README.md", START_SECTION).text.replace(
        '"mnist-keras-course[lab]"', f'"{installed["wheel"]}[lab]"'
    )
    assert script != block("README.md", START_SECTION).text
    log = tmp_path / "start.log"
    started = time.perf_counter()
    process = start(script, learner, env, log)
    try:
        url = opened_url(tmp_path, process, log)
        print(f"[test_wheel] {time.perf_counter() - started:6.1f} s  README: pip install + course start")
        assert url.startswith(f"http://localhost:{port}/") or url.startswith(f"http://127.0.0.1:{port}/")
        check_server(url, work)
        server = server_started_by(process)
        assert Path(server.cwd()) == work.resolve()
        assert server.environ().get("MALLOC_ARENA_MAX") == "2"
        assert ("--allow-root" in server.cmdline()) == (os.geteuid() == 0)
        assert "9 notebook file(s) copied to my-work, 0 already there kept unchanged" in log.read_text()
    finally:
        stop(process)

    # A learner's answer survives a second start; --no-browser opens nothing, --port is used.
    mine = work / "02-reshaping" / "02-reshaping.ipynb"
    mine.write_text(mine.read_text().replace("raise NotImplementedError()", "return images  # my try"))
    before = mine.read_bytes()
    (tmp_path / "opened.txt").unlink()
    port = free_port()
    log = tmp_path / "start-again.log"
    process = start(f"mnistlib course start my-work --no-browser --port {port}", learner, env, log)
    try:
        url = printed_url(log, process, port)
        check_server(url, work)
        assert "0 notebook file(s) copied to my-work, 9 already there kept unchanged" in log.read_text()
        assert not (tmp_path / "opened.txt").exists(), "--no-browser opened a browser"
    finally:
        stop(process)
    assert mine.read_bytes() == before


RUN_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
path, folder = sys.argv[1:]
notebook = nbformat.read(path, as_version=4)
notebook.cells.append(nbformat.v4.new_code_cell("import sys\\nprint('FROM', mnistlib.__file__, sys.executable)"))
try:
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
finally:
    nbformat.write(notebook, path)
"""


def test_first_cell_installs_the_missing_package_then_notebook_01_runs(installed, tmp_path):
    """From an empty folder, a venv that can import every dependency but not mnistlib: the Colab
    edition's install line (the repository's URL replaced by the course's wheel, served over HTTP
    from 127.0.0.1; no index) installs mnistlib, and notebook 01 (its worked solution) runs in quick mode."""
    from local_http import FileServer

    from mnistlib.authoring import COLAB_INSTALL, colab_edition

    steps = installed["steps"]
    venv = tmp_path / "bare"
    env = steps.run("fresh venv without mnistlib", fresh_venv, venv, Path(installed["env"]["MNISTLIB_CACHE"]))
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_ok('python -c "import mnistlib"', empty, env, ok=(1,))
    assert "No module named 'mnistlib'" in done.stderr, done.stderr
    run_ok('python -c "import keras, nbclient, ipykernel, nbgrader"', empty, env)

    wheel = installed["wheel"]
    server = FileServer({f"/{wheel.name}": wheel.read_bytes()})
    repository = "git+https://github.com/mnist-keras-course/mnist-keras-course"
    assert repository in COLAB_INSTALL
    solution = json.loads((REPO / "solutions" / "01-loading-data.ipynb").read_text())
    notebook_json = colab_edition(solution, "01-loading-data")
    for cell in notebook_json["cells"]:
        if cell["source"] == COLAB_INSTALL:
            cell["source"] = COLAB_INSTALL.replace(repository, server.url(f"/{wheel.name}"))
    notebook = empty / "01-loading-data" / "01-loading-data.ipynb"
    notebook.parent.mkdir()
    notebook.write_text(json.dumps(notebook_json))
    env = dict(env, MNISTLIB_QUICK="1", PIP_NO_INDEX="1")
    runner = tmp_path / "run_notebook.py"
    runner.write_text(RUN_NOTEBOOK)
    with server:
        steps.run(
            "notebook 01 in a kernel without mnistlib",
            run_ok,
            f"python {runner} {notebook} {notebook.parent}",
            empty,
            env,
        )
    assert server.requests == [f"/{wheel.name}"], server.requests
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    first = cells[0]["outputs"]
    said = "".join("".join(o["text"]) for o in first if o["output_type"] == "stream")
    # pip is quiet when it works: only IPython's own note after any %pip
    assert said == "Note: you may need to restart the kernel to use updated packages.\n", first
    outputs = [o for c in cells for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error" or o.get("name") == "stderr"], outputs
    printed = "".join("".join(o.get("text", "")) for o in outputs)
    assert "(3000, 28, 28)" in printed, "notebook 01 did not run in quick mode"
    site = sysconfig.get_paths(vars={"base": str(venv)}, scheme="venv")["purelib"]
    assert f"FROM {site}/mnistlib/__init__.py {venv}/bin/python" in printed, printed[-500:]
    # the checks it ran recorded their outcome, and the installed `mnistlib` command reads them
    progress = run_ok("mnistlib progress .", empty, env).stdout
    assert re.search(r"\[x\] get_digit", progress) and re.search(r"\[x\] label_counts", progress), progress
