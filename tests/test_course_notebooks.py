"""The course's notebooks: stored clean, generated files in sync, releases free of answers,
solutions that run (nbgrader's own verdict on them: tests/test_nbgrader_validate.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import executed
import nbformat
import pytest

from mnistlib import authoring, course, figures
from mnistlib.bench import quick_figures
from mnistlib.figures import Reports
from mnistlib.markers import ANY_REGION, regions

# Any trace of a marker, even one nbgrader would not recognise as a marker line.
MARKER_WORDS = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)")

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("mnist_data")  # load_mnist() offline, from a verified copy
IDS = [
    "01-loading-data",
    "02-reshaping",
    "03-one-hot-labels",
    "04-building-the-network",
    "05-training",
    "06-diagnosing-overfitting",
    "07-dropout",
    "08-gradient-descent-by-hand",
    "09-going-further",
]
ALL_NOTEBOOKS = (
    sorted((REPO / "course").rglob("*.ipynb"))
    + sorted((REPO / "solutions").glob("*.ipynb"))
    + sorted((REPO / "colab").glob("*.ipynb"))  # the release's Colab edition
)
ALL_NOTEBOOKS = [p for p in ALL_NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]


def source_path(assignment: str) -> Path:
    return REPO / "course" / "source" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str) -> Path:
    return REPO / "course" / "release" / assignment / f"{assignment}.ipynb"


def solution_path(assignment: str) -> Path:
    return REPO / "solutions" / f"{assignment}.ipynb"


def cell_text(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_the_nine_assignments_exist_in_teaching_order():
    assert course.assignment_ids() == IDS
    config = (REPO / "course" / "nbgrader_config.py").read_text()
    assert not re.findall(r'"(\d\d-[a-z-]+)"', config), "the assignments are listed once: source/'s folders"
    for assignment in IDS:
        assert source_path(assignment).is_file()
        assert release_path(assignment).is_file()
        assert solution_path(assignment).is_file()
        assert (REPO / "colab" / f"{assignment}.ipynb").is_file()


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebooks_are_stored_without_outputs(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a code cell has stored outputs"
            assert cell["execution_count"] is None, f"{path.name}: a code cell has an execution count"


@pytest.mark.slow
def test_release_and_solutions_match_their_sources():
    problems = authoring.drift()
    assert problems == [], "run `make generate` (mnistlib course build):\n" + "\n".join(problems)


@pytest.mark.parametrize("assignment", IDS)
def test_release_contains_no_solutions_or_hidden_tests(assignment):
    source = json.loads(source_path(assignment).read_text())
    release = json.loads(release_path(assignment).read_text())
    release_text = "\n".join(cell_text(c) for c in release["cells"])
    assert not MARKER_WORDS.search(release_text)
    answers = [c for c in release["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    assert answers, "an assignment without autograded answer cells"
    for cell in answers:
        if cell["cell_type"] == "code":
            assert "raise NotImplementedError()" in cell_text(cell)
    # Every line that the source has only between the markers is gone from the release.
    source_text = "\n".join(cell_text(c) for c in source["cells"])
    outside = ANY_REGION.sub("", source_text)
    for inside in regions(source_text):
        for line in inside.splitlines():
            if line.strip() and line not in outside:
                assert line not in release_text, f"{assignment}: release leaks {line.strip()!r}"


@pytest.mark.parametrize("assignment", IDS)
def test_solutions_read_as_plain_worked_notebooks(assignment):
    text = solution_path(assignment).read_text()
    assert not MARKER_WORDS.search(text)
    assert "raise NotImplementedError()" not in text


@pytest.mark.parametrize("assignment", ["05-training", "06-diagnosing-overfitting", "07-dropout"])
def test_training_notebooks_train_the_tutorials_20_epochs_and_5_in_quick_mode(assignment):
    notebook = nbformat.read(source_path(assignment), as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert re.search(r"^EPOCHS = 5 if mnistlib\.is_quick\(\) else 20\b", code, re.MULTILINE)
    epochs = re.findall(r"\bepochs=([A-Za-z0-9_]+)", code)
    # 1: notebook 05 counts the steps of a single epoch
    assert epochs and set(epochs) <= {"EPOCHS", "EPOCHS_NETWORK_1", "1"}, epochs
    assert "epochs=20" not in code


def test_importing_mnistlib_is_light_and_its_names_load_on_first_use():
    probe = (
        "import sys, mnistlib\n"
        "assert 'numpy' not in sys.modules, 'import mnistlib pulled in NumPy'\n"
        "from mnistlib import load_mnist, is_quick, setup_notebook, MNISTDataError\n"
        "assert callable(load_mnist) and 'load_mnist' in dir(mnistlib)\n"
        "try:\n    mnistlib.no_such_name\nexcept AttributeError as error:\n    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no attribute 'no_such_name'" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("assignment", IDS)
def test_solution_runs_top_to_bottom_in_quick_mode_quietly(assignment, tmp_path):
    """The run of the browser test when it ran this session (tests/executed.py), else nbclient's."""
    notebook, runner = executed.solution_run(assignment, solution_path(assignment), tmp_path)
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and cell.source.strip():
            assert cell.execution_count, f"cell {number} never ran ({runner})"
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            assert output.output_type != "error", f"{output.get('ename')}: {output.get('evalue')} ({runner})"
            if output.output_type == "stream" and output.name == "stderr":
                text = output.text.lower()
                for noise in ("warning", "deprecat", "cuda", "onednn", "absl"):
                    assert noise not in text, f"noise on stderr in {assignment}: {output.text[:300]}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", quick_figures.NOTEBOOKS)
def test_what_the_notebooks_say_of_quick_mode_holds_for_this_sessions_run(assignment, tmp_path):
    """The prose's quick-mode figures (ranges, notebook 07's gaps and the claim about them) hold for the quick-mode
    run of this session, read as ``mnistlib.bench.quick_figures`` reads a run, not only for docs/quick-mode.json."""
    notebook, runner = executed.solution_run(assignment, solution_path(assignment), tmp_path)
    reports = Reports.read(REPO / "docs" / "benchmarks.json", REPO / "docs" / "quick-mode.json")
    this_run = quick_figures.figures(assignment, quick_figures._text(notebook))
    quick = {**reports.quick, "runs": {**reports.quick["runs"], assignment: [this_run]}}
    sources = {f"{a}.ipynb": json.loads(source_path(a).read_text()) for a in IDS}
    try:
        figures.compute(Reports(reports.bench, quick), sources)
    except figures.FigureError as error:
        pytest.fail(f"{runner}'s quick-mode run of {assignment} ({this_run}) contradicts a notebook: {error}")
