"""Course authoring: regenerate the student release and the worked solutions, or check them for drift.

    mnistlib course build   # course/release/<id>/<id>.ipynb, colab/<id>.ipynb and solutions/<id>.ipynb
    mnistlib course check   # exit 1 and name every file that differs from a fresh build

Only ``course/source/`` is edited by hand. Both commands run the real nbgrader
(``generate_assignment`` for the student release, ``generate_solution`` without
execution for the worked solutions) in a throw-away copy of ``course/``, so no
gradebook or log is left behind. The solutions keep nbgrader's cell metadata
(so they can be graded) but lose the marker lines (:mod:`mnistlib.markers`),
so they read as plain worked notebooks. The Colab edition (``colab/``, what the
README's Colab links open) is the student release with one more code cell first,
:data:`COLAB_INSTALL`, which installs the course's package where nothing of the
course exists; the release itself has no install code, so wherever the package is
installed nothing can reinstall it. They write to, and compare with, a checkout's
files (:data:`mnistlib.course.REPO`).

The measured figures the notebooks' Markdown names (``{{ net1_train_s }}``, :mod:`mnistlib.figures`)
are computed from the benchmark report (docs/benchmarks.json, docs/quick-mode.json) first and written
to ``course/source/figures.json``, which nbgrader's converters fill them in from; ``check`` also
reports a figures.json that the current report would change.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import figures
from .course import COURSE, REPO, SOLUTIONS, assignment_ids
from .markers import strip_marker_lines
from .progress import FILE_NAME

#: What the figures are computed from: the benchmark report and the quick-mode runs of a checkout.
BENCHMARKS = REPO / "docs" / "benchmarks.json" if REPO else None
QUICK_MODE = REPO / "docs" / "quick-mode.json" if REPO else None
#: The Colab edition of the release: what the README's Colab links open.
COLAB = REPO / "colab" if REPO else None

#: The Colab edition's first code cell: pip, in the kernel's own Python (``%pip``), installs the
#: learner's package from the course's repository (a direct URL, so no same-named package on PyPI
#: can win), quietly (pip's messages, all on stderr, are dropped); when it cannot, the one sentence
#: after ``||`` says what to do instead.
COLAB_INSTALL = (
    '%pip install -q "mnist-keras-course @ git+https://github.com/mnist-keras-course/mnist-keras-course"'
    ' 2>/dev/null || echo "Not installed: check that you are online and run this cell again, or open the course on'
    ' Binder (see the README)."'
)
#: Said just above it, for the learner.
COLAB_NOTE = (
    "**On Colab** nothing of the course is installed yet: the next cell installs its package for this "
    "session (a few minutes) from the course's repository. If it says *Not installed*, the cells below "
    "cannot run until it has worked."
)


def _learner_file(name: str) -> bool:
    """What a learner's checks write beside a notebook (progress, its lock, temporary and set-aside
    copies): never a course file, even while a kernel is writing it."""
    return name.startswith((FILE_NAME, f".{FILE_NAME}"))


# Runs inside the throw-away course folder: one process for every nbgrader conversion (starting
# nbgrader once per notebook costs seconds each). Same converters as `nbgrader generate_assignment`
# and `nbgrader generate_solution`; the solutions are not executed, so they stay output-free.
_GENERATE = """
import sys
from traitlets.config.loader import PyFileConfigLoader
from nbgrader.coursedir import CourseDirectory
from nbgrader.converters import GenerateAssignment, GenerateSolution
from nbgrader.utils import capture_log

config = PyFileConfigLoader("nbgrader_config.py", path=".").load_config()
config.CourseDirectory.root = "."
config.GenerateSolution.preprocessors = [
    "mnistlib.figures.FillFigures",  # GenerateAssignment has it from nbgrader_config.py
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearOutput",
]
for assignment in sys.argv[1:]:
    for converter in (GenerateAssignment, GenerateSolution):
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = assignment
        app = converter(coursedir=coursedir, config=config)
        app.force = True
        result = capture_log(app)
        if not result["success"]:
            sys.exit(f"nbgrader {converter.__name__} {assignment} failed: {result}")
"""


def _nbgrader_generate(assignments: list[str], cwd: Path) -> None:
    env = dict(os.environ)
    env.pop("NBGRADER_EXECUTION", None)
    # nbgrader runs `alembic` to create its database: find it next to this Python.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _GENERATE, *assignments], cwd=cwd, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"generating {', '.join(assignments)} failed:\n{done.stdout}\n{done.stderr}")


def strip_markers(notebook: dict) -> dict:
    """Drop nbgrader's solution / hidden-test marker lines, keeping what is between them."""
    for cell in notebook["cells"]:
        source = cell["source"]
        cell["source"] = strip_marker_lines("".join(source) if isinstance(source, list) else source)
    return notebook


def _write_notebook(notebook: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def compute_figures(course: Path = COURSE, benchmarks: Path | None = None, quick: Path | None = None) -> dict:
    """The figures the source notebooks of ``course`` name, computed from the benchmark report.

    Raises :class:`mnistlib.figures.FigureError` naming the notebook, cell and figure that cannot be filled in.
    """
    benchmarks, quick = benchmarks or BENCHMARKS, quick or QUICK_MODE
    if benchmarks is None or quick is None:
        raise figures.FigureError(
            "the figures come from a checkout's docs/benchmarks.json: build in a checkout"
        )
    reports = figures.Reports.read(benchmarks, quick)
    notebooks = {
        f"course/source/{i}/{i}.ipynb": json.loads((course / "source" / i / f"{i}.ipynb").read_text())
        for i in assignment_ids(course)
    }
    return figures.compute(reports, notebooks)


def colab_edition(release: dict, assignment: str) -> dict:
    """The Colab edition of one released notebook: :data:`COLAB_NOTE` and :data:`COLAB_INSTALL` just
    before its first code cell, nothing else changed."""
    cells = release["cells"]
    first = next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")
    note = {
        "cell_type": "markdown",
        "id": f"{assignment[:2]}-colab-note",
        "metadata": {},
        "source": COLAB_NOTE,
    }
    install = {
        "cell_type": "code",
        "execution_count": None,
        "id": f"{assignment[:2]}-colab-install",
        "metadata": {},
        "outputs": [],
        "source": COLAB_INSTALL,
    }
    return dict(release, cells=[*cells[:first], note, install, *cells[first:]])


def build(
    out_release: Path,
    out_solutions: Path,
    course: Path = COURSE,
    *,
    benchmarks: Path | None = None,
    quick: Path | None = None,
    out_figures: Path | None = None,
    out_colab: Path | None = None,
) -> list[str]:
    """Generate the release and the solutions for every assignment into the given folders, and the
    Colab edition of the release into ``out_colab`` when given.

    The figures come from ``benchmarks`` and ``quick`` (default: the checkout's docs/benchmarks.json and
    docs/quick-mode.json) and are written to ``out_figures`` (default: ``course/source/figures.json``).
    Nothing is written when a figure cannot be filled in (:class:`mnistlib.figures.FigureError`).
    """
    ids = assignment_ids(course)
    computed = compute_figures(course, benchmarks, quick)
    figures_text = json.dumps(computed, indent=1, ensure_ascii=False) + "\n"
    with tempfile.TemporaryDirectory(prefix="mnistlib-course-") as tmp:
        work = Path(tmp) / "course"
        work.mkdir()
        shutil.copy2(course / "nbgrader_config.py", work / "nbgrader_config.py")
        shutil.copytree(course / "source", work / "source")
        (work / "source" / figures.FIGURES_FILE).write_text(figures_text, encoding="utf-8")
        _nbgrader_generate(ids, work)
        out_figures = out_figures or course / "source" / figures.FIGURES_FILE
        if not out_figures.is_file() or out_figures.read_text(encoding="utf-8") != figures_text:
            out_figures.write_text(figures_text, encoding="utf-8")
        if out_release.exists():
            shutil.rmtree(out_release)
        shutil.copytree(work / "release", out_release)
        out_solutions.mkdir(parents=True, exist_ok=True)
        for old in out_solutions.glob("*.ipynb"):
            old.unlink()
        for assignment in ids:
            generated = work / "solution" / assignment / f"{assignment}.ipynb"
            notebook = strip_markers(json.loads(generated.read_text()))
            _write_notebook(notebook, out_solutions / f"{assignment}.ipynb")
    for path in out_release.rglob("*.ipynb"):  # one stable JSON layout for clean diffs
        _write_notebook(json.loads(path.read_text()), path)
    if out_colab is not None:
        out_colab.mkdir(parents=True, exist_ok=True)
        for old in out_colab.glob("*.ipynb"):
            old.unlink()
        for assignment in ids:
            release = json.loads((out_release / assignment / f"{assignment}.ipynb").read_text())
            _write_notebook(colab_edition(release, assignment), out_colab / f"{assignment}.ipynb")
    return ids


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if REPO and path.is_relative_to(REPO) else str(path)


def drift(course: Path = COURSE, solutions: Path = SOLUTIONS, colab: Path | None = COLAB) -> list[str]:
    """Files that differ between the committed release/Colab edition/solutions and a fresh build."""
    with tempfile.TemporaryDirectory(prefix="mnistlib-drift-") as tmp:
        fresh_release, fresh_solutions = Path(tmp) / "release", Path(tmp) / "solutions"
        fresh_colab = Path(tmp) / "colab" if colab is not None else None
        fresh_figures = Path(tmp) / figures.FIGURES_FILE
        build(fresh_release, fresh_solutions, course, out_figures=fresh_figures, out_colab=fresh_colab)
        problems = []
        committed_figures = course / "source" / figures.FIGURES_FILE
        if not committed_figures.is_file():
            problems.append(f"missing: {_shown(committed_figures)}")
        elif not filecmp.cmp(fresh_figures, committed_figures, shallow=False):
            problems.append(f"differs from docs/benchmarks.json: {_shown(committed_figures)}")
        pairs = [(fresh_release, course / "release"), (fresh_solutions, solutions)]
        if colab is not None:
            pairs.append((fresh_colab, colab))
        for fresh_root, committed_root in pairs:
            fresh = {p.relative_to(fresh_root) for p in fresh_root.rglob("*") if p.is_file()}
            committed = (
                {
                    p.relative_to(committed_root)
                    for p in committed_root.rglob("*")
                    if p.is_file() and not _learner_file(p.name)
                }
                if committed_root.exists()
                else set()
            )
            for rel in sorted(fresh | committed):
                a, b = fresh_root / rel, committed_root / rel
                if rel not in committed:
                    problems.append(f"missing: {_shown(b)}")
                elif rel not in fresh:
                    problems.append(f"not generated from any source: {_shown(b)}")
                elif not filecmp.cmp(a, b, shallow=False):
                    problems.append(f"differs from its source: {_shown(b)}")
        return problems
