"""Numbers in one place: every measured figure the notebooks quote agrees with the benchmark report.

The report's data is docs/benchmarks.json (written by ``mnistlib bench``); docs/benchmarks.md is
rendered from it and docs/benchmarks-notes.md. This test finds every figure in the learner-facing
text of the source notebooks (markdown cells, and the literal text of ``print`` lines): numbers with
a unit of time, memory or percent, 3-4 decimal accuracies and losses, counts of digits or mistakes,
durations in words. Each must be listed below, per notebook, either with the report value it quotes
(and it must agree with that value at the precision it is quoted, or contain it when it is a range)
or as a given (arithmetic, a setting, a target, the tutorial's own number). A figure that is not
listed fails too, so a new measured number cannot slip into the prose unchecked.

To run it on other notebooks (e.g. an older commit's): ``NUMBERS_NOTEBOOKS=dir pytest this file``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from mnistlib import bench

REPO = Path(__file__).resolve().parent.parent
SOURCE = Path(os.environ.get("NUMBERS_NOTEBOOKS") or REPO / "course" / "source")
REPORT = json.loads(bench.REPORT_DATA.read_text())
SUMMARY = {row["model"]: row for row in bench.accuracy_summary(REPORT)}
N1, N2, SGD, CONV = "network 1", "network 2", "NumPy SGD (notebook 08)", "convnet (notebook 09)"
TEST_IMAGES = 10_000
QUICK = json.loads((REPO / "docs" / "quick-mode.json").read_text())[
    "runs"
]  # python -m mnistlib.bench.quick_figures


def acc(model: str) -> float:
    return SUMMARY[model]["accuracy"]


def loss(model: str) -> float:
    return SUMMARY[model]["loss"]


def train_s(model: str) -> float:
    return SUMMARY[model]["train_s"]


def epoch_s(model: str) -> float:
    return SUMMARY[model]["train_s"] / SUMMARY[model]["epochs"]


def mistakes(accuracy: float) -> float:
    return (1 - accuracy) * TEST_IMAGES


def notebook_s(notebook: str, mode: str = "full") -> float:
    (row,) = [r for r in REPORT["notebooks"] if r["notebook"].startswith(notebook) and r["mode"] == mode]
    return row["seconds"]


# ------------------------------------------------------------------------ finding figures

_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_UNIT = r"(?:ms/step|\ ?ms\b|\ times\ (?:faster|slower)|\ s\b|s(?=\ -\ )|\ seconds?\b|\ CPU-seconds\b|\ ?minutes?\b|\ min\b|\ ?%|\ GB\b|\ MB\b)"
_WORDS = {
    "half a minute": 30,
    "a minute and a half": 90,
    "a minute": 60,
    "two minutes": 120,
    "two and a half minutes": 150,
    "three minutes": 180,
    "three and a half minutes": 210,
    "four minutes": 240,
}
_COUNTED = r"(?:for\ |mistakes|of\ |test\ |digits|\))"  # what follows a bare count of digits
_WORD_ALTERNATIVES = "|".join(
    re.escape(words).replace("\\ ", " ").replace(" ", r"\ ")
    for words in sorted(_WORDS, key=len, reverse=True)
)
FIGURE = re.compile(
    rf"""(?<![\w/.])(?:
        (?:{_NUMBER}\ ?(?:to|-|–)\ ?)?{_NUMBER}{_UNIT}          # 87 s, 4 to 5 seconds, 188 MB, 98 %
      | 0\.\d{{3,4}}\b                                          # an accuracy or a loss: 0.9835, 0.064
      | {_NUMBER}\ (?:mistakes|of\ the\ 10,000|test\ digits|more\ mistakes|misclassified)
      | {_NUMBER}\ to\ {_NUMBER}(?=\ {_COUNTED})                # 170 to 180 for the dense networks
      | (?<=about\ ){_NUMBER}(?=\ ?{_COUNTED})                   # about 165 for the dense networks
      | {_WORD_ALTERNATIVES}
    )""",
    re.X,
)


def learner_text(cell: dict) -> str:
    """What a learner reads in a cell: markdown, or the literal text of a code cell's print lines."""
    source = "".join(cell["source"])
    if cell["cell_type"] == "code":
        lines = [line for line in source.splitlines() if "print(" in line]
        source = re.sub(r"\{[^{}]*\}", "", "\n".join(lines))  # f-string fields are computed, not quoted
    return re.sub(r"\s+", " ", source)


def figures(notebook_path: Path) -> list[tuple[str, str]]:
    """(figure, its context) for every figure in a notebook's learner-facing text."""
    found = []
    for cell in json.loads(notebook_path.read_text())["cells"]:
        text = learner_text(cell)
        for match in FIGURE.finditer(text):
            found.append((match.group(0), text[max(0, match.start() - 60) : match.end() + 40]))
    return found


# ------------------------------------------------------------------------ checking figures


def _numbers(figure: str) -> list[tuple[float, float]]:
    """Each number of a figure with half its last digit's place: '4 to 5 s' -> [(4, 0.5), (5, 0.5)]."""
    if figure in _WORDS:
        return [(_WORDS[figure], 0.15 * _WORDS[figure])]  # words are round: within 15 %
    out = []
    for text in re.findall(_NUMBER, figure.removesuffix(" of the 10,000")):
        text = text.replace(",", "")
        decimals = len(text.split(".")[1]) if "." in text else 0
        out.append((float(text), 0.5 * 10**-decimals))
    return out


def agrees(figure: str, value: float, scale: float = 1.0) -> bool:
    """Whether ``figure`` quotes ``value`` (times ``scale``, e.g. 100 for a percentage).

    A single number must equal the value rounded to the digits it shows ('0.064' for 0.0641, '87 s'
    for 86.9); 'about 40' allows the tens place; a range ('4 to 5 s') must contain the value.
    """
    value *= scale
    numbers = _numbers(figure)
    if len(numbers) == 2:
        (low, _), (high, _) = numbers
        return low <= value <= high
    ((quoted, half),) = numbers
    if figure not in _WORDS and quoted >= 10 and quoted % 10 == 0 and "." not in figure:
        half = max(half, 5)  # a round number is quoted to the nearest ten at best
    return abs(value - quoted) <= half + 1e-9


def Quote(value: float, scale: float = 1.0, what: str = ""):  # noqa: N802 - reads as a table entry
    return ("quote", value, scale, what)


def Check(ok: bool, what: str):  # noqa: N802
    return ("check", ok, None, what)


def Within(low: float, high: float, what: str):  # noqa: N802
    """A figure for several measured values at once (the dense networks' mistakes): between them."""
    return ("within", (min(low, high), max(low, high)), None, what)


def QuickRange(notebook: str, keys: str | tuple, what: str):  # noqa: N802
    """A quick-mode range ('75 to 85 %'): it must contain the figures of every run in docs/quick-mode.json."""
    keys = (keys,) if isinstance(keys, str) else keys
    return ("quick", [run[key] for run in QUICK[notebook] for key in keys], 100, what)


def Given(why: str):  # noqa: N802
    return ("given", None, None, why)


TUTORIAL_1, TUTORIAL_2 = bench.TUTORIAL[N1], bench.TUTORIAL[N2]
DENSE_MISTAKES = mistakes((acc(N1) + acc(N2)) / 2)  # the two dense networks, on average
SETTING = Given("a setting of the course (the validation share, a learning rate, a dropout rate)")
ARITHMETIC = Given("arithmetic on the data's shape, shown in the text")
TARGET = Given("a target or a round comparison, not a measurement")

CLAIMS: dict[str, dict[str, tuple]] = {
    "01": {
        "90%": Given("a made-up example of unbalanced classes"),
        "98%": Quote(TUTORIAL_1[0], 100, "the tutorial's accuracy"),
        "11%": Given("computed from the labels in the cell above"),
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
        "98 %": Quote(acc(N1), 100, "network 1's test accuracy"),
    },
    "05": {
        "10 %": SETTING,
        "a minute": Quote(train_s(N1), what="network 1's training time"),
        "52 s": Quote(train_s(N1), what="network 1's training time"),
        "2 to 3 s": Quote(epoch_s(N1), what="network 1's seconds per epoch"),
        "3s": Quote(epoch_s(N1), what="network 1's seconds per epoch, in Keras's example line"),
        "48ms/step": Quote(epoch_s(N1) / 54 * 1000, what="network 1's milliseconds per step"),
        "0.9876": Given("an example of Keras's progress line (training accuracy of one epoch)"),
        "0.0411": Given("an example of Keras's progress line"),
        "0.9793": Given("an example of Keras's progress line"),
        "0.0731": Given("an example of Keras's progress line"),
        "0.9822": Quote(TUTORIAL_1[0], what="the tutorial's accuracy"),
        "0.084": Quote(TUTORIAL_1[1], what="the tutorial's loss"),
        "0.9831": Quote(acc(N1), what="network 1's test accuracy"),
        "0.064": Quote(loss(N1), what="network 1's test loss"),
        "169 of the 10,000": Quote(mistakes(acc(N1)), what="network 1's mistakes"),
        "75 to 85 %": QuickRange("05-training", "test_accuracy", "network 1's test accuracy"),
    },
    "06": {
        "99.99 %": Given("a made-up example of memorisation"),
        "10 %": SETTING,
        "100 %": TARGET,
        "a minute": Quote(train_s(N1), what="network 1's training time"),
        "52 s": Quote(train_s(N1), what="network 1's training time"),
        "2 to 3 seconds": Quote(epoch_s(N1), what="network 1's seconds per epoch"),
        "0.9831": Quote(acc(N1), what="network 1's test accuracy"),
        "0.064": Quote(loss(N1), what="network 1's test loss"),
        "0.9822": Quote(TUTORIAL_1[0], what="the tutorial's accuracy"),
        "0.084": Quote(TUTORIAL_1[1], what="the tutorial's loss"),
        "two minutes": Quote(notebook_s("06"), what="notebook 06's full-mode time ('a little under')"),
        "112 s": Quote(notebook_s("06"), what="notebook 06's full-mode time"),
        "80 to 88 %": QuickRange("06-diagnosing-overfitting", "test_accuracy", "network 1's test accuracy"),
    },
    "07": {
        "40 %": SETTING,
        "60 %": SETTING,
        "10 %": SETTING,
        "a minute": Quote(train_s(N2), what="network 2's training time"),
        "66 s": Quote(train_s(N2), what="network 2's training time"),
        "3 to 4 seconds": Quote(epoch_s(N2), what="network 2's seconds per epoch"),
        "0.9831": Quote(acc(N1), what="network 1's test accuracy"),
        "0.064": Quote(loss(N1), what="network 1's test loss"),
        "0.9833": Quote(acc(N2), what="network 2's test accuracy"),
        "0.063": Quote(loss(N2), what="network 2's test loss"),
        "0.983": Quote(TUTORIAL_2[0], what="the tutorial's accuracy"),
        "0.068": Quote(TUTORIAL_2[1], what="the tutorial's loss"),
        "0.9822": Quote(TUTORIAL_1[0], what="the tutorial's accuracy"),
        "a minute and a half": Quote(notebook_s("07"), what="notebook 07's full-mode time"),
        "96 s": Quote(notebook_s("07"), what="notebook 07's full-mode time"),
        "0.001": Given("0.1 % of the test set, arithmetic"),
        "1": Given("the average activation dropout keeps, arithmetic"),
        "65 to 80 %": QuickRange(
            "07-dropout",
            ("network_1_test_accuracy", "network_2_test_accuracy"),
            "both networks' test accuracy",
        ),
    },
    "08": {
        "97 %": Check(acc(SGD) > bench.TARGETS[SGD], "notebook 08's accuracy is over its 97 % target"),
        "0.001": SETTING,
        "2.3": Given("ln 10, the loss of a uniform guess, arithmetic"),
        "5 s": Quote(train_s(SGD), what="the NumPy network's training time"),
        "0.976": Quote(acc(SGD), what="the NumPy network's test accuracy"),
        "236 of the 10,000": Quote(mistakes(acc(SGD)), what="the NumPy network's mistakes"),
        "87 to 92 %": QuickRange(
            "08-gradient-descent-by-hand", "test_accuracy", "the NumPy network's accuracy"
        ),
    },
    "09": {
        "98%": Quote(acc(N1), 100, "the dense networks' test accuracy"),
        "44%": Quote(
            1 - mistakes(acc(CONV)) / DENSE_MISTAKES, 100, "the share of mistakes the convnet removes"
        ),
        "99%": Quote(acc(CONV), 100, "the convnet's test accuracy"),
        "0.002": SETTING,
        "10%": SETTING,
        "0.001": SETTING,
        "99 %": TARGET,
        "16 s": Quote(epoch_s(CONV), what="the convnet's seconds per epoch"),
        "a minute and a half": Quote(train_s(CONV), what="the convnet's training time"),
        "95 s": Quote(train_s(CONV), what="the convnet's training time"),
        "10,000 test digits": Given("the size of the test set"),
        "0.9822": Quote(TUTORIAL_1[0], what="the tutorial's accuracy"),
        "0.9830": Quote(TUTORIAL_2[0], what="the tutorial's accuracy"),
        "170 mistakes": Quote(mistakes(TUTORIAL_2[0]), what="the tutorial's network 2 mistakes"),
        "0.9906": Quote(acc(CONV), what="the convnet's test accuracy"),
        "94 mistakes": Quote(mistakes(acc(CONV)), what="the convnet's mistakes"),
        "94": Quote(mistakes(acc(CONV)), what="the convnet's mistakes"),
        "0.027": Quote(loss(CONV), what="the convnet's test loss"),
        "168": Within(mistakes(acc(N1)), mistakes(acc(N2)), "the dense networks' mistakes"),
        "168 mistakes": Within(mistakes(acc(N1)), mistakes(acc(N2)), "the dense networks' mistakes"),
        "0.1%": Given("ten digits of the test set, arithmetic"),
        "100%": TARGET,
        "1%": Quote(mistakes(acc(CONV)) / TEST_IMAGES, 100, "the convnet's error ('just under')"),
        "0.27%": Given("the tutorial's state of the art"),
        "27 mistakes": Given("the tutorial's state of the art"),
        "0.2%": Given("results reported in the literature, not measured here"),
        "99.8%": Given("results reported in the literature, not measured here"),
        "10 test digits": Given("0.1 % of the test set, arithmetic"),
        "83 to 90 %": QuickRange("09-going-further", "test_accuracy", "the convnet's test accuracy"),
    },
}


def problem(notebook: str, figure: str) -> str | None:
    """Why ``figure`` in ``notebook`` disagrees with the report, or None when it agrees."""
    claim = CLAIMS.get(notebook, {}).get(figure)
    if claim is None:
        return "not in the list of figures: quote it from docs/benchmarks.json and add it to CLAIMS"
    kind, value, scale, what = claim
    if kind == "quote" and not agrees(figure, value, scale):
        return f"quotes {what}, which the report gives as {value * scale:.4g}"
    if kind == "within":
        ((quoted, half),) = _numbers(figure)
        if not value[0] - half <= quoted <= value[1] + half:
            return f"quotes {what}, which the report gives as {value[0]:.4g} to {value[1]:.4g}"
    if kind == "quick":
        outside = [v for v in value if not agrees(figure, v, scale)]
        if outside or len(_numbers(figure)) != 2:
            return f"quotes {what} in quick mode, measured as {value} (docs/quick-mode.json)"
    if kind == "check" and not value:
        return f"the report contradicts it: {what}"
    return None


NOTEBOOKS = sorted(SOURCE.glob("*/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_every_figure_in_a_notebook_agrees_with_the_benchmark_report(path):
    found = figures(path)
    wrong = [
        f"  {figure!r}: {why}\n    ... {context} ..."
        for figure, context in found
        if (why := problem(path.stem[:2], figure))
    ]
    assert not wrong, f"{path.name} quotes figures the benchmark report does not back:\n" + "\n".join(wrong)


def test_every_listed_figure_is_still_in_its_notebook():
    """A stale entry would let the figure come back unchecked in another meaning."""
    if SOURCE != REPO / "course" / "source":
        pytest.skip("checking other notebooks")
    present = {(p.stem[:2], figure) for p in NOTEBOOKS for figure, _ in figures(p)}
    stale = [
        (nb, figure) for nb, claims in CLAIMS.items() for figure in claims if (nb, figure) not in present
    ]
    assert not stale, f"listed but no longer quoted: {stale}"


def test_the_quick_mode_story_the_notebooks_tell_is_the_measured_one():
    """Notebooks 05 and 06 say that in quick mode the validation loss is still falling at the last epoch
    (the best epoch is the last), so that notebook 06's early stopping never acts."""
    for run in QUICK["05-training"] + QUICK["06-diagnosing-overfitting"]:
        assert run["best_epoch"] == run["epochs"], run
    for run in QUICK["06-diagnosing-overfitting"]:
        assert run["early_stopping_epochs_run"] == run["epochs"], run
    text = json.dumps(
        json.loads((SOURCE / "06-diagnosing-overfitting/06-diagnosing-overfitting.ipynb").read_text())
    )
    assert "early stopping never acts" in text


def test_the_markdown_report_is_rendered_from_its_data_and_notes():
    results = dict(REPORT, notes=bench.REPORT_NOTES.read_text().strip())
    assert bench.REPORT.read_text() == bench.render(results) + "\n", (
        "docs/benchmarks.md is not what its data renders to: regenerate it with "
        "`mnistlib bench --report-from docs/benchmarks.json`"
    )


# ------------------------------------------------------------------------ the checker itself


@pytest.mark.parametrize(
    "figure, value, scale, ok",
    [
        ("87 s", 86.9, 1, True),
        ("87 s", 88.0, 1, False),
        ("0.064", 0.0641, 1, True),
        ("0.0602", 0.0641, 1, False),
        ("4 to 5 s", 4.35, 1, True),
        ("4 to 5 s", 5.09, 1, False),
        ("98 %", 0.9835, 100, True),
        ("40%", 0.43, 100, True),
        ("40%", 0.47, 100, False),
        ("a minute and a half", 87, 1, True),
        ("a minute and a half", 60, 1, False),
    ],
)
def test_agrees_reads_precision_and_ranges(figure, value, scale, ok):
    assert agrees(figure, value, scale) is ok


@pytest.mark.parametrize(
    "sentence, quoted, value",
    [
        # The contradictions issue 15 found, each against the report value it claims to quote.
        ("it took 13 minutes (794 s), about 40 s per epoch", "40 s", epoch_s(N1)),
        ("it took 13 minutes (794 s), about 40 s per epoch", "794 s", train_s(N1)),
        ("an accuracy of 0.9849 and a loss of 0.0602", "0.9849", acc(N1)),
        ("151 of the 10,000 test digits misread", "151 of the 10,000", mistakes(acc(N1))),
        ("against 170 to 180 for the dense networks", "170 to 180", DENSE_MISTAKES),
        ("a test accuracy of **0.9902**: 98 mistakes out of 10,000", "98 mistakes", mistakes(acc(CONV))),
    ],
)
def test_the_old_contradictions_are_found_and_fail(sentence, quoted, value):
    assert quoted in [m.group(0) for m in FIGURE.finditer(sentence)]
    assert not agrees(quoted, value)


def test_figures_are_found_in_markdown_and_print_lines_but_not_in_computed_fields(tmp_path):
    notebook = {
        "cells": [
            {
                "cell_type": "markdown",
                "source": ["It took about 13 minutes on a busy machine, 0.9849, 151 mistakes."],
            },
            {
                "cell_type": "code",
                "source": ["x = 0.1234\n", 'print(f"{acc:.1%} and 0.9902 (about 170 mistakes)")'],
            },
        ]
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook))
    assert [figure for figure, _ in figures(path)] == [
        "13 minutes",
        "0.9849",
        "151 mistakes",
        "0.9902",
        "170 mistakes",
    ]
    assert problem("05", "13 minutes") is not None
