"""Numbers in one place: the measured figures the notebooks quote are generated from the benchmark report.

A source notebook names each measured figure (``{{ net1_train_s }}``); :mod:`mnistlib.figures` defines
each name once, from docs/benchmarks.json (written by ``mnistlib bench``), docs/quick-mode.json and the
tutorial's published numbers, and ``mnistlib course build`` fills them in for the release and the
solutions. These tests check that generation: every placeholder names a figure and every figure is
used, the committed figures and release are what the current report gives, a changed report changes
the release, and a bad name or a report without the figure stops the build with an error that names
the notebook, the cell and the figure.

And the guard: the learner-facing text of the source notebooks (Markdown, and the literal text of
``print`` lines), placeholders taken out, may hold only figures listed below as givens (arithmetic, a
setting, a target, a made-up example): a measured number typed by hand fails, so it cannot slip into
the prose unchecked.

To run the guard on other notebooks (e.g. an older commit's): ``NUMBERS_NOTEBOOKS=dir pytest this file``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from mnistlib import authoring, bench, figures
from mnistlib.figures import FIGURES, FigureError, Reports

REPO = Path(__file__).resolve().parent.parent
COURSE = REPO / "course"
SOURCE = Path(os.environ.get("NUMBERS_NOTEBOOKS") or COURSE / "source")
REPORT = json.loads(bench.REPORT_DATA.read_text())
REPORTS = Reports.read(bench.REPORT_DATA, REPO / "docs" / "quick-mode.json")
NOTEBOOKS = sorted(SOURCE.glob("*/*.ipynb"))
COMMITTED_FIGURES = json.loads((COURSE / "source" / figures.FIGURES_FILE).read_text())


def notebook(path: Path) -> dict:
    return json.loads(path.read_text())


def source_text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


# ------------------------------------------------------------------------ the guard: no hand-typed figure

_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_UNIT = r"(?:ms/step|\ ?ms\b|\ times\ (?:faster|slower)|\ s\b|s(?=\ -\ )|\ seconds?\b|\ CPU-seconds\b|\ ?minutes?\b|\ min\b|\ ?%|\ GB\b|\ MB\b)"
_WORDS = (
    "half a minute",
    "a minute and a half",
    "a minute",
    "two minutes",
    "two and a half minutes",
    "three minutes",
    "three and a half minutes",
    "four minutes",
)
_COUNTED = r"(?:for\ |mistakes|of\ |test\ |digits|\))"  # what follows a bare count of digits
_WORD_ALTERNATIVES = "|".join(
    re.escape(words).replace("\\ ", " ").replace(" ", r"\ ")
    for words in sorted(_WORDS, key=len, reverse=True)
)
FIGURE = re.compile(
    rf"""(?<![\w/.])(?:
        (?:{_NUMBER}\ ?(?:to|-|–)\ ?)?{_NUMBER}{_UNIT}          # 87 s, 4 to 5 seconds, 188 MB, 98 %
      | (?:{_NUMBER}\ to\ )?{_NUMBER}\ times\ as\ long            # 2.5 to 7 times as long
      | 0\.\d{{3,4}}\b                                          # an accuracy or a loss: 0.9835, 0.064
      | {_NUMBER}\ (?:mistakes|of\ the\ 10,000|test\ digits|more\ mistakes|misclassified)
      | {_NUMBER}\ to\ {_NUMBER}(?=\ {_COUNTED})                # 170 to 180 for the dense networks
      | (?<=about\ ){_NUMBER}(?=\ ?{_COUNTED})                   # about 165 for the dense networks
      | {_WORD_ALTERNATIVES}
    )""",
    re.X,
)
PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.S)


def learner_text(cell: dict) -> str:
    """What a learner reads in a source cell, placeholders taken out: Markdown, or the literal text of a
    code cell's print lines (an f-string's fields are computed, not quoted)."""
    source = source_text(cell)
    if cell["cell_type"] == "code":
        lines = [line for line in source.splitlines() if "print(" in line]
        source = re.sub(r"\{[^{}]*\}", "", "\n".join(lines))
    else:
        source = PLACEHOLDER.sub("{figure}", source)
    return re.sub(r"\s+", " ", source)


def hand_typed(path: Path) -> list[tuple[str, str]]:
    """(figure, its context) for every figure typed by hand in a notebook's learner-facing text."""
    found = []
    for cell in notebook(path)["cells"]:
        text = learner_text(cell)
        for match in FIGURE.finditer(text):
            found.append((match.group(0), text[max(0, match.start() - 60) : match.end() + 40]))
    return found


def Given(why: str):  # noqa: N802 - reads as a table entry
    return why


SETTING = Given("a setting of the course (the validation share, a learning rate, a dropout rate)")
ARITHMETIC = Given("arithmetic on the data's shape, shown in the text")
TARGET = Given("a target or a round comparison, not a measurement")
PROGRESS_LINE = Given("an example of Keras's progress line (one epoch's training and validation figures)")
#: Per notebook: the figures typed by hand, each with the reason it is not a measurement.
GIVENS: dict[str, dict[str, str]] = {
    "01": {
        "90%": Given("a made-up example of unbalanced classes"),
        "11%": Given("computed from the labels in the cell above (tests/test_notebook_prose.py)"),
        "376 MB": ARITHMETIC,
        "47 MB": ARITHMETIC,
    },
    "02": {
        "47 MB": ARITHMETIC,
        "188 MB": ARITHMETIC,
        "376 MB": ARITHMETIC,
        "31.4 MB": ARITHMETIC,
        "62.7 MB": ARITHMETIC,
        "1-2 GB": Given("Binder's documented memory"),
    },
    "03": {"2.4 MB": ARITHMETIC, "188 MB": ARITHMETIC},
    "04": {
        "3.90 MB": ARITHMETIC,
        "0.659": ARITHMETIC,
        "0.242": ARITHMETIC,
        "0.099": ARITHMETIC,
        "0.107": ARITHMETIC,
        "0.787": ARITHMETIC,
        "0.693": ARITHMETIC,
        "0.001": SETTING,
        "10 %": Given("chance: one digit in ten"),
    },
    "05": {
        "10 %": SETTING,
        "10,000 test digits": Given("the size of the test set"),
        "0.9876": PROGRESS_LINE,
        "0.0411": PROGRESS_LINE,
        "0.9793": PROGRESS_LINE,
        "0.0731": PROGRESS_LINE,
    },
    "06": {
        "99.99 %": Given("a made-up example of memorisation"),
        "10 %": SETTING,
        "100 %": TARGET,
    },
    "07": {
        "40 %": SETTING,
        "60 %": SETTING,
        "10 %": SETTING,
        "0.001": Given("0.1 % of the test set, arithmetic"),
        "1": Given("the average activation dropout keeps, arithmetic"),
    },
    "08": {
        "0.001": SETTING,
        "10,000 test digits": Given("the size of the test set"),
        "2.3": Given("ln 10, the loss of a uniform guess, arithmetic"),
    },
    "09": {
        "0.002": SETTING,
        "10%": SETTING,
        "0.001": SETTING,
        "10,000 test digits": Given("the size of the test set"),
        # a code cell's print line: the tutorial's numbers, checked against bench.TUTORIAL below
        "0.9822": Given("the tutorial's network 1 accuracy, printed (test_printed_tutorial_figures...)"),
        "0.9830": Given("the tutorial's network 2 accuracy, printed (test_printed_tutorial_figures...)"),
        "170 mistakes": Given(
            "the tutorial's network 2 mistakes, printed (test_printed_tutorial_figures...)"
        ),
        "0.1%": Given("ten digits of the test set, arithmetic"),
        "100%": TARGET,
        "0.27%": Given("the tutorial's state of the art"),
        "27 mistakes": Given("the tutorial's state of the art"),
        "0.2%": Given("results reported in the literature, not measured here"),
        "99.8%": Given("results reported in the literature, not measured here"),
        "10 test digits": Given("0.1 % of the test set, arithmetic"),
    },
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_no_measured_figure_is_typed_by_hand(path):
    givens = GIVENS.get(path.stem[:2], {})
    wrong = [
        f"  {figure!r}\n    ... {context} ..." for figure, context in hand_typed(path) if figure not in givens
    ]
    assert not wrong, (
        f"{path.name} types figures by hand: name a figure of mnistlib/figures.py instead "
        "({{ net1_train_s }}), or, for arithmetic, a setting or a target, list it in GIVENS:\n"
        + "\n".join(wrong)
    )


def test_every_given_is_still_in_its_notebook():
    """A stale entry would let the figure come back by hand in another meaning."""
    if SOURCE != COURSE / "source":
        pytest.skip("checking other notebooks")
    present = {(p.stem[:2], figure) for p in NOTEBOOKS for figure, _ in hand_typed(p)}
    stale = [
        (nb, figure) for nb, givens in GIVENS.items() for figure in givens if (nb, figure) not in present
    ]
    assert not stale, f"listed but no longer typed: {stale}"


def test_no_figure_the_notebooks_name_is_also_typed_by_hand_in_their_markdown():
    """Where a placeholder exists, its figure written out by hand (a copy that would not follow the report)."""
    distinctive = {name: text for name, text in COMMITTED_FIGURES.items() if "." in text or " to " in text}
    typed = [
        (path.stem[:2], name, text)
        for path in NOTEBOOKS
        for cell in notebook(path)["cells"]
        if cell["cell_type"] == "markdown"
        for name, text in distinctive.items()
        if re.search(rf"(?<![\w.]){re.escape(text)}(?![\w])", PLACEHOLDER.sub("", source_text(cell)))
    ]
    assert not typed, f"written by hand where a figure exists (notebook, figure, text): {typed}"


@pytest.mark.parametrize(
    "sentence, figure",
    [
        # The contradictions issue 15 found, typed by hand: the guard finds each.
        ("it took 13 minutes (794 s), about 40 s per epoch", "40 s"),
        ("it took 13 minutes (794 s), about 40 s per epoch", "794 s"),
        ("an accuracy of 0.9849 and a loss of 0.0602", "0.9849"),
        ("151 of the 10,000 test digits misread", "151 of the 10,000"),
        ("against 170 to 180 for the dense networks", "170 to 180"),
        ("a test accuracy of **0.9902**: 98 mistakes out of 10,000", "98 mistakes"),
        ("expect training to take 2.5 to 7 times as long", "2.5 to 7 times as long"),
        ("takes about a minute and a half", "a minute and a half"),
    ],
)
def test_the_guard_finds_figures_typed_by_hand(sentence, figure):
    assert figure in [m.group(0) for m in FIGURE.finditer(sentence)]


def test_the_guard_reads_markdown_and_print_lines_but_not_placeholders_or_computed_fields(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "markdown",
                        "source": ["About 13 minutes, 0.9849, {{ net1_accuracy }}, 151 mistakes."],
                    },
                    {
                        "cell_type": "code",
                        "source": ["x = 0.1234\n", 'print(f"{acc:.1%} and 0.9902 (about 170 mistakes)")'],
                    },
                ]
            }
        )
    )
    assert [figure for figure, _ in hand_typed(path)] == [
        "13 minutes",
        "0.9849",
        "151 mistakes",
        "0.9902",
        "170 mistakes",
    ]


def test_printed_tutorial_figures_agree_with_the_tutorial():
    """Notebook 09 prints the tutorial's numbers in a code cell (placeholders are for Markdown)."""
    (line,) = [
        line
        for cell in notebook(SOURCE / "09-going-further" / "09-going-further.ipynb")["cells"]
        if cell["cell_type"] == "code"
        for line in source_text(cell).splitlines()
        if "the tutorial's dense networks" in line
    ]
    (acc1, _), (acc2, _) = bench.TUTORIAL["network 1"], bench.TUTORIAL["network 2"]
    expected = f"accuracy {acc1:.4f} and {acc2:.4f} ({(1 - acc1) * 10_000:.0f} and {(1 - acc2) * 10_000:.0f} mistakes)"
    assert expected in line, line


# ------------------------------------------------------------------------ generation


def placeholders_by_notebook() -> dict[str, list[tuple[str, str]]]:
    return {
        p.stem: figures.placeholders(notebook(p), p.name)
        for p in sorted((COURSE / "source").glob("*/*.ipynb"))
    }


def test_every_placeholder_names_a_figure_and_every_figure_is_named():
    named = {name for found in placeholders_by_notebook().values() for _, name in found}
    assert named - set(FIGURES) == set(), "placeholders naming no figure of mnistlib/figures.py"
    assert set(FIGURES) - named == set(), "figures no notebook names (remove them from mnistlib/figures.py)"


def test_the_committed_figures_are_what_the_current_report_gives():
    """course/source/figures.json, which nbgrader fills in from, is the report's (`mnistlib course build`)."""
    assert authoring.compute_figures() == COMMITTED_FIGURES


def test_the_figures_quote_the_report_at_the_precision_they_are_written():
    """A few figures recomputed here from the report, independently of mnistlib/figures.py's helpers."""
    rows = {row["model"]: row for row in bench.accuracy_summary(REPORT)}
    n1, conv = rows["network 1"], rows["convnet (notebook 09)"]
    assert COMMITTED_FIGURES["net1_accuracy"] == f"{n1['accuracy']:.4f}"
    assert COMMITTED_FIGURES["net1_train_s"] == f"{n1['train_s']:.0f}"
    low, high = map(float, COMMITTED_FIGURES["net1_epoch_s_range"].split(" to "))
    assert low <= n1["train_s"] / n1["epochs"] <= high
    assert COMMITTED_FIGURES["conv_mistakes"] == f"{(1 - conv['accuracy']) * 10_000:.0f}"
    from mnistlib.bench.threads import busy_slowdowns

    low, high = map(float, COMMITTED_FIGURES["busy_slowdown_range"].split(" to "))
    assert all(low <= s <= high for s in busy_slowdowns(REPORT["threads"]))


@pytest.mark.parametrize("generated", ["release", "solutions"])
def test_the_committed_release_and_solutions_quote_the_filled_in_figures(generated):
    """Each Markdown cell with a placeholder reads, in the release and the solutions, as the source filled
    in from figures.json: no placeholder is left, and no figure is another value."""
    for assignment, found in placeholders_by_notebook().items():
        if not found:
            continue
        source = notebook(COURSE / "source" / assignment / f"{assignment}.ipynb")
        filled = figures.fill(copy.deepcopy(source), COMMITTED_FIGURES, assignment)
        path = (
            COURSE / "release" / assignment / f"{assignment}.ipynb"
            if generated == "release"
            else REPO / "solutions" / f"{assignment}.ipynb"
        )
        out = {cell.get("id"): source_text(cell) for cell in notebook(path)["cells"]}
        for cell in filled["cells"]:
            if cell["cell_type"] == "markdown" and "{{" in source_text(
                next(c for c in source["cells"] if c.get("id") == cell["id"])
            ):
                assert out[cell["id"]] == source_text(cell), f"{path.name}, cell {cell['id']}"
                assert "{{" not in out[cell["id"]]


def _figure_cell(text: str, cell_id: str = "c-1") -> dict:
    return {"cells": [{"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": [text]}]}


def test_an_unknown_figure_name_stops_the_build_naming_notebook_cell_and_name():
    with pytest.raises(FigureError) as caught:
        figures.compute(
            REPORTS, {"05-training.ipynb": _figure_cell("about {{ net1_train_secs }} s", "tr-15")}
        )
    message = str(caught.value)
    assert "05-training.ipynb" in message and "tr-15" in message and "net1_train_secs" in message, message
    assert "did you mean net1_train_s" in message, message


def test_a_report_without_the_figure_stops_the_build_naming_what_is_missing():
    report = copy.deepcopy(REPORT)
    report["accuracy"] = [row for row in report["accuracy"] if row["model"] != "network 2"]
    del report["threads"]
    reports = Reports(report, REPORTS.quick)
    for placeholder, missing in (("net2_loss", "network 2"), ("busy_slowdown_range", "threads")):
        with pytest.raises(FigureError) as caught:
            figures.compute(
                reports, {"07-dropout.ipynb": _figure_cell(f"a loss of {{{{ {placeholder} }}}}", "do-28")}
            )
        message = str(caught.value)
        for part in ("07-dropout.ipynb", "do-28", placeholder, missing, "docs/benchmarks.json"):
            assert part in message, message


def test_a_quick_mode_run_outside_its_quoted_range_stops_the_build():
    quick = copy.deepcopy(REPORTS.quick)
    quick["runs"]["05-training"][0]["test_accuracy"] = 0.70  # the notebook says 75 to 85 %
    with pytest.raises(FigureError, match=r"tr-28.*quick_05_accuracy_range.*outside the range 75 to 85"):
        figures.compute(
            Reports(REPORT, quick),
            {"05-training.ipynb": _figure_cell("{{ quick_05_accuracy_range }} %", "tr-28")},
        )


def test_a_placeholder_that_does_not_parse_stops_the_build():
    with pytest.raises(FigureError, match=r"08\.ipynb, cell gd-51: a figure placeholder does not parse"):
        figures.compute(REPORTS, {"08.ipynb": _figure_cell("about {{ sgd_train_s s", "gd-51")})


def test_filling_in_leaves_code_cells_and_other_braces_alone():
    nb = _figure_cell("{{ net1_accuracy }} and $e^{x}$ and `{'a': 1}`")
    nb["cells"].append(
        {"cell_type": "code", "id": "k", "metadata": {}, "source": ['print("{{ net1_accuracy }}")']}
    )
    figures.fill(nb, {"net1_accuracy": "0.9831"})
    assert source_text(nb["cells"][0]) == "0.9831 and $e^{x}$ and `{'a': 1}`"
    assert source_text(nb["cells"][1]) == 'print("{{ net1_accuracy }}")'


def test_nbgrader_fills_in_from_the_course_it_generates_else_the_installed_one(tmp_path):
    """FillFigures (nbgrader's preprocessor in course/nbgrader_config.py) reads source/figures.json of the
    course nbgrader runs in; a grading run's throw-away course has none, and uses the installed course's."""
    import nbformat
    from traitlets.config import Config

    own = tmp_path / "own"
    (own / "source").mkdir(parents=True)
    (own / "source" / figures.FIGURES_FILE).write_text(json.dumps({"net1_train_s": "77"}))
    resources = {"nbgrader": {"notebook": "05-training"}}
    for root, expected in ((own, "77"), (tmp_path / "throw-away", COMMITTED_FIGURES["net1_train_s"])):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("about {{ net1_train_s }} s")])
        fill = figures.FillFigures(config=Config({"CourseDirectory": {"root": str(root)}}))
        nb, _ = fill(nb, resources)
        assert nb.cells[0].source == f"about {expected} s"
    with pytest.raises(
        FigureError, match=r"05-training, cell \w+: figure \{\{ net2_loss \}\} is not in figures.json"
    ):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("{{ net2_loss }}")])
        figures.FillFigures(config=Config({"CourseDirectory": {"root": str(own)}}))(nb, resources)
    missing = figures.FillFigures(figures_file=str(tmp_path / "none.json"))
    with pytest.raises(FigureError, match="none.json is missing"):
        missing(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("{{ net2_loss }}")]), resources)


def _small_course(tmp_path: Path, assignment: str) -> Path:
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy2(COURSE / "nbgrader_config.py", course)
    shutil.copytree(COURSE / "source" / assignment, course / "source" / assignment)
    return course


def test_a_build_that_cannot_fill_a_figure_writes_nothing(tmp_path):
    course = _small_course(tmp_path, "05-training")
    path = course / "source" / "05-training" / "05-training.ipynb"
    path.write_text(path.read_text().replace("{{ net1_train_s }}", "{{ net1_training_seconds }}", 1))
    release, solutions, out = tmp_path / "release", tmp_path / "solutions", tmp_path / "figures.json"
    with pytest.raises(
        FigureError, match=r"05-training\.ipynb, cell tr-15: unknown figure \{\{ net1_training_seconds \}\}"
    ):
        authoring.build(release, solutions, course, out_figures=out)
    assert not release.exists() and not solutions.exists() and not out.exists()


@pytest.mark.slow  # nbgrader's converters, on one notebook
def test_a_changed_report_changes_the_release_and_the_solutions(tmp_path):
    """The build fills the figures in from the report it is given: three times network 1's training time and
    another accuracy come out in the release and the solution, and the source keeps its names."""
    course = _small_course(tmp_path, "05-training")
    report = copy.deepcopy(REPORT)
    for row in report["accuracy"]:
        if row["model"] == "network 1":
            row["train_s"] *= 3
            row["accuracy"] = 0.97123
    benchmarks = tmp_path / "benchmarks.json"
    benchmarks.write_text(json.dumps(report))
    release, solutions, out = tmp_path / "release", tmp_path / "solutions", tmp_path / "figures.json"
    authoring.build(release, solutions, course, benchmarks=benchmarks, out_figures=out)

    train_s = bench.accuracy_summary(report)[0]["train_s"]
    written = json.loads(out.read_text())
    assert written["net1_train_s"] == f"{train_s:.0f}" != COMMITTED_FIGURES["net1_train_s"]
    assert 135 < train_s < 165 and written["net1_train_words"] == "two and a half minutes"
    for path in (release / "05-training" / "05-training.ipynb", solutions / "05-training.ipynb"):
        text = " ".join(source_text(c) for c in notebook(path)["cells"] if c["cell_type"] == "markdown")
        assert f"about two and a half minutes: {train_s:.0f} s in our benchmark" in text, path
        assert "an accuracy of 0.9712 and a loss of" in text, path
        assert "{{" not in text
    assert "{{ net1_train_s }}" in (course / "source" / "05-training" / "05-training.ipynb").read_text()


# ------------------------------------------------------------------------ the report and quick mode


def test_the_quick_mode_story_the_notebooks_tell_is_the_measured_one():
    """Notebooks 05 and 06 say that in quick mode the validation loss is still falling at the last epoch
    (the best epoch is the last), so that notebook 06's early stopping never acts."""
    quick = REPORTS.quick["runs"]
    for run in quick["05-training"] + quick["06-diagnosing-overfitting"]:
        assert run["best_epoch"] == run["epochs"], run
    for run in quick["06-diagnosing-overfitting"]:
        assert run["early_stopping_epochs_run"] == run["epochs"], run
    text = json.dumps(notebook(SOURCE / "06-diagnosing-overfitting/06-diagnosing-overfitting.ipynb"))
    assert "early stopping never acts" in text


def test_notebook_07_says_what_its_quick_mode_shows_of_the_gaps():
    """Issue 26.4: in quick mode network 2 has the larger train/validation gap, against the lesson of the full
    data, and notebook 07 says so with the measured gaps (the runs' mean, recomputed here) and epochs."""
    runs = REPORTS.quick["runs"]["07-dropout"]
    assert runs and all(run["network_1_gap"] < 0 < run["network_2_gap"] for run in runs), runs
    for key, figure in (("network_1_gap", "quick_07_net1_gap"), ("network_2_gap", "quick_07_net2_gap")):
        assert COMMITTED_FIGURES[figure] == f"{sum(run[key] for run in runs) / len(runs):.2f}"
    (epochs_1,), (epochs_2,) = (
        {run["network_1_epochs"] for run in runs},
        {run["network_2_epochs"] for run in runs},
    )
    cells = notebook(SOURCE / "07-dropout/07-dropout.ipynb")["cells"]
    text = " ".join(" ".join(source_text(c) for c in cells if c["cell_type"] == "markdown").split())
    assert f"network 2 trains {epochs_2} epochs, network 1 only {epochs_1})" in text
    assert (
        "network 2's gap is {{ quick_07_net2_gap }} while network 1's is {{ quick_07_net1_gap }}: "
        "its validation loss is still *below* its training loss" in text
    )


@pytest.mark.parametrize(
    "gaps", [(0.05, 0.18), (-0.11, -0.2)], ids=["network 1's gap above 0", "network 2's gap the smaller"]
)
def test_a_quick_mode_run_against_notebook_07s_gap_sentence_stops_the_build(gaps):
    quick = copy.deepcopy(REPORTS.quick)
    quick["runs"]["07-dropout"][-1].update(network_1_gap=gaps[0], network_2_gap=gaps[1])
    with pytest.raises(
        FigureError, match=r"do-28.*quick_07_net2_gap.*not what the notebook says of quick mode"
    ):
        figures.compute(
            Reports(REPORT, quick),
            {"07-dropout.ipynb": _figure_cell("a gap of {{ quick_07_net2_gap }}", "do-28")},
        )


def test_the_markdown_report_is_rendered_from_its_data_and_notes():
    results = dict(REPORT, notes=bench.REPORT_NOTES.read_text().strip())
    assert bench.REPORT.read_text() == bench.render(results) + "\n", (
        "docs/benchmarks.md is not what its data renders to: regenerate it with "
        "`mnistlib bench --report-from docs/benchmarks.json`"
    )
