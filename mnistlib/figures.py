"""The measured figures the notebooks quote: each defined once, filled in when the course is built.

A source notebook's Markdown names a figure in double braces (a Jinja2 expression)::

    about a minute: {{ net1_train_s }} s in our benchmark, {{ net1_epoch_s_range }} s per epoch

and the student release and the worked solutions read "about a minute: 52 s in our benchmark, 2 to 3 s
per epoch". :data:`FIGURES` says, once per name, what a figure quotes and how it is written; its value
comes from the benchmark report (docs/benchmarks.json, written by ``mnistlib bench``), the quick-mode
runs (docs/quick-mode.json, ``python -m mnistlib.bench.quick_figures``) or the tutorial's published
numbers (:data:`mnistlib.bench.TUTORIAL`).

``mnistlib course build`` (:mod:`mnistlib.authoring`) computes the figures the notebooks name and
writes them to ``course/source/figures.json``; nbgrader fills them in with :class:`FillFigures`
(configured in course/nbgrader_config.py), so an instructor's own ``nbgrader generate_assignment``
makes the same release as the build does. ``mnistlib course check`` reports a figures.json, release
or solution that a fresh build from the current report would change. An unknown name, a report that
lacks what a figure needs, or a quick-mode range the runs fall outside of stops the build with an
error naming the notebook, the cell and the figure.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

#: The computed figures (name -> text), next to the assignments in ``course/source/``.
FIGURES_FILE = "figures.json"

N1, N2, SGD, CONV = "network 1", "network 2", "NumPy SGD (notebook 08)", "convnet (notebook 09)"
TEST_IMAGES = 10_000


class FigureError(ValueError):
    """A figure the build cannot fill in; the message names the notebook, cell and figure."""


@dataclass(frozen=True)
class Reports:
    """What figures are computed from: the benchmark report and the quick-mode runs."""

    bench: dict  # docs/benchmarks.json
    quick: dict  # docs/quick-mode.json

    @classmethod
    def read(cls, bench: Path, quick: Path) -> Reports:
        return cls(json.loads(bench.read_text()), json.loads(quick.read_text()))

    def model(self, model: str) -> dict:
        """The accuracy section's summary of ``model``: mean accuracy and loss over seeds, train_s, epochs."""
        from .bench import accuracy_summary

        for row in accuracy_summary(self.bench):
            if row["model"] == model:
                return row
        raise KeyError(f"accuracy: {model}")

    def seeds(self, model: str) -> list[dict]:
        rows = [row for row in self.bench["accuracy"] if row["model"] == model]
        if not rows:
            raise KeyError(f"accuracy: {model}")
        return rows

    def notebook_s(self, notebook: str, mode: str = "full") -> float:
        for row in self.bench["notebooks"]:
            if row["notebook"] == notebook and row["mode"] == mode:
                return row["seconds"]
        raise KeyError(f"notebooks: {notebook} ({mode})")


@dataclass(frozen=True)
class Figure:
    what: str  # what the figure quotes, in words
    text: Callable[[Reports], str]  # its text, from the reports


# ----------------------------------------------------------------------------- how figures are written


def _acc(model: str) -> Callable[[Reports], float]:
    return lambda r: r.model(model)["accuracy"]


def _loss(model: str) -> Callable[[Reports], float]:
    return lambda r: r.model(model)["loss"]


def _train_s(model: str) -> Callable[[Reports], float]:
    return lambda r: r.model(model)["train_s"]


def _epoch_s(model: str) -> Callable[[Reports], float]:
    return lambda r: r.model(model)["train_s"] / r.model(model)["epochs"]


def _mistakes(accuracy: float) -> float:
    return (1 - accuracy) * TEST_IMAGES


def _dense_mistakes(r: Reports) -> float:
    """The two dense networks' mistakes, on average."""
    return _mistakes((r.model(N1)["accuracy"] + r.model(N2)["accuracy"]) / 2)


def digits(value: Callable[[Reports], float], places: int = 0, scale: float = 1) -> Callable[[Reports], str]:
    """``value`` times ``scale``, rounded to ``places`` decimals: 0.98312 -> '0.9831', '98' with scale 100."""
    return lambda r: f"{value(r) * scale:.{places}f}"


def whole_range(value: Callable[[Reports], float]) -> Callable[[Reports], str]:
    """The whole numbers around ``value``: 2.47 -> '2 to 3'."""
    return lambda r: f"{math.floor(value(r))} to {math.floor(value(r)) + 1}"


#: Durations in words, for "about a minute"; a time is written as the nearest of them.
DURATION_WORDS = {
    30: "half a minute",
    60: "a minute",
    90: "a minute and a half",
    120: "two minutes",
    150: "two and a half minutes",
    180: "three minutes",
    210: "three and a half minutes",
    240: "four minutes",
}


def in_words(value: Callable[[Reports], float]) -> Callable[[Reports], str]:
    """A duration in seconds as the nearest of :data:`DURATION_WORDS`: 52 -> 'a minute'."""
    return lambda r: DURATION_WORDS[min(DURATION_WORDS, key=lambda s: abs(s - value(r)))]


def busy_slowdown(r: Reports) -> str:
    """How many times as long training takes with a CPU-bound process on every core (threads section,
    with the CPU budget): from the least to the most slowed training row, widened to halves, so the
    range holds every row (2.53 and 7.08 -> '2.5 to 7.5')."""
    from .bench.threads import busy_slowdowns

    measured = busy_slowdowns(r.bench["threads"])
    return f"{math.floor(min(measured) * 2) / 2:g} to {math.ceil(max(measured) * 2) / 2:g}"


def quick_range(notebook: str, keys: tuple[str, ...], low: int, high: int) -> Callable[[Reports], str]:
    """A quick-mode accuracy range in percent, chosen wide enough for other machines and library versions
    ('75 to 85'); every run of docs/quick-mode.json must fall inside it, or the build stops."""

    def text(r: Reports) -> str:
        measured = [run[key] * 100 for run in r.quick["runs"][notebook] for key in keys]
        if not measured or not all(low <= m <= high for m in measured):
            raise FigureError(
                f"docs/quick-mode.json measured {notebook}'s {', '.join(keys)} as {measured} %, "
                f"outside the range {low} to {high} % the notebook quotes: widen it in mnistlib/figures.py"
            )
        return f"{low} to {high}"

    return text


def quick_07_gap(key: str) -> Callable[[Reports], str]:
    """A validation - training loss gap at the last epoch of notebook 07 in quick mode (``network_1_gap`` or
    ``network_2_gap``), the runs' mean to two decimals ('0.18', '-0.11'). Notebook 07 says what its quick
    mode shows, against the lesson of the full data: network 1's validation loss still below its training
    loss (a gap under 0) and network 2's gap the larger; a run that shows otherwise stops the build."""

    def text(r: Reports) -> str:
        runs = r.quick["runs"]["07-dropout"]
        gaps = [(run["network_1_gap"], run["network_2_gap"]) for run in runs]
        if not gaps or not all(gap_1 < 0 and gap_2 > gap_1 for gap_1, gap_2 in gaps):
            raise FigureError(
                f"docs/quick-mode.json measured 07-dropout's (network 1, network 2) gaps as {gaps}, which is "
                "not what the notebook says of quick mode (network 1's gap below 0, network 2's the larger): "
                "rewrite its quick-mode sentence"
            )
        return f"{sum(run[key] for run in runs) / len(runs):.2f}"

    return text


def meets(target: float, value: Callable[[Reports], list[float]], what: str) -> Callable[[Reports], str]:
    """A target the notebook says is met ('over 97 %'): every measured value must beat it."""

    def text(r: Reports) -> str:
        measured = value(r)
        if not all(m > target for m in measured):
            raise FigureError(f"the report contradicts the notebook: {what} {measured} is not over {target}")
        return f"{target * 100:g}"

    return text


def _tutorial(model: str, index: int) -> Callable[[Reports], float]:
    from .bench import TUTORIAL

    return lambda r: TUTORIAL[model][index]


# ----------------------------------------------------------------------------- the figures

FIGURES: dict[str, Figure] = {
    # network 1 (notebooks 05-07), the tutorial's settings: mean over the report's seeds
    "net1_accuracy": Figure("network 1's test accuracy", digits(_acc(N1), 4)),
    "net1_accuracy_pct": Figure("network 1's test accuracy in %", digits(_acc(N1), 0, 100)),
    "net1_loss": Figure("network 1's test loss", digits(_loss(N1), 3)),
    "net1_mistakes": Figure("network 1's misread test digits", lambda r: f"{_mistakes(_acc(N1)(r)):.0f}"),
    "net1_train_s": Figure("network 1's training time in seconds", digits(_train_s(N1))),
    "net1_train_words": Figure("network 1's training time in words", in_words(_train_s(N1))),
    "net1_epoch_s_range": Figure("network 1's seconds per epoch", whole_range(_epoch_s(N1))),
    "net1_epoch_s": Figure("network 1's seconds per epoch, in Keras's progress line", digits(_epoch_s(N1))),
    "net1_step_ms": Figure(
        "network 1's milliseconds per step (54 steps an epoch)", digits(lambda r: _epoch_s(N1)(r) / 54 * 1000)
    ),
    # network 2 (notebook 07)
    "net2_accuracy": Figure("network 2's test accuracy", digits(_acc(N2), 4)),
    "net2_loss": Figure("network 2's test loss", digits(_loss(N2), 3)),
    "net2_train_s": Figure("network 2's training time in seconds", digits(_train_s(N2))),
    "net2_train_words": Figure("network 2's training time in words", in_words(_train_s(N2))),
    "net2_epoch_s_range": Figure("network 2's seconds per epoch", whole_range(_epoch_s(N2))),
    # both dense networks (notebook 09)
    "dense_mistakes": Figure("the dense networks' misread test digits, on average", digits(_dense_mistakes)),
    # the NumPy network of notebook 08
    "sgd_accuracy": Figure("the NumPy network's test accuracy", digits(_acc(SGD), 3)),
    "sgd_mistakes": Figure(
        "the NumPy network's misread test digits", lambda r: f"{_mistakes(_acc(SGD)(r)):.0f}"
    ),
    "sgd_train_s": Figure("the NumPy network's training time in seconds", digits(_train_s(SGD))),
    "sgd_target_pct": Figure(
        "notebook 08's accuracy target, met by every seed",
        meets(0.97, lambda r: [row["accuracy"] for row in r.seeds(SGD)], "the NumPy network's accuracy"),
    ),
    # the convnet of notebook 09
    "conv_accuracy": Figure("the convnet's test accuracy", digits(_acc(CONV), 4)),
    "conv_accuracy_pct": Figure("the convnet's test accuracy in %", digits(_acc(CONV), 0, 100)),
    "conv_error_pct": Figure("the convnet's error in %", digits(lambda r: 1 - _acc(CONV)(r), 0, 100)),
    "conv_loss": Figure("the convnet's test loss", digits(_loss(CONV), 3)),
    "conv_mistakes": Figure("the convnet's misread test digits", lambda r: f"{_mistakes(_acc(CONV)(r)):.0f}"),
    "conv_fewer_mistakes_pct": Figure(
        "the share of the dense networks' mistakes the convnet removes, in %",
        digits(lambda r: 1 - _mistakes(_acc(CONV)(r)) / _dense_mistakes(r), 0, 100),
    ),
    "conv_epoch_s": Figure("the convnet's seconds per epoch", digits(_epoch_s(CONV))),
    "conv_train_s": Figure("the convnet's training time in seconds", digits(_train_s(CONV))),
    "conv_train_words": Figure("the convnet's training time in words", in_words(_train_s(CONV))),
    "conv_target_pct": Figure(
        "notebook 09's accuracy target, met by every seed",
        meets(0.99, lambda r: [row["accuracy"] for row in r.seeds(CONV)], "the convnet's accuracy"),
    ),
    # whole notebooks, full mode
    "nb06_full_s": Figure(
        "notebook 06's full-mode time in seconds", digits(lambda r: r.notebook_s("06-diagnosing-overfitting"))
    ),
    "nb06_full_words": Figure(
        "notebook 06's full-mode time in words", in_words(lambda r: r.notebook_s("06-diagnosing-overfitting"))
    ),
    "nb07_full_s": Figure(
        "notebook 07's full-mode time in seconds", digits(lambda r: r.notebook_s("07-dropout"))
    ),
    "nb07_full_words": Figure(
        "notebook 07's full-mode time in words", in_words(lambda r: r.notebook_s("07-dropout"))
    ),
    # quick mode (docs/quick-mode.json): test accuracy ranges in %, notebook 07's gaps
    "quick_05_accuracy_range": Figure(
        "network 1's quick-mode test accuracy", quick_range("05-training", ("test_accuracy",), 75, 85)
    ),
    "quick_06_accuracy_range": Figure(
        "network 1's quick-mode test accuracy (notebook 06)",
        quick_range("06-diagnosing-overfitting", ("test_accuracy",), 80, 88),
    ),
    "quick_07_accuracy_range": Figure(
        "both networks' quick-mode test accuracy",
        quick_range("07-dropout", ("network_1_test_accuracy", "network_2_test_accuracy"), 65, 80),
    ),
    "quick_07_net1_gap": Figure(
        "network 1's quick-mode gap, validation - training loss at its last epoch",
        quick_07_gap("network_1_gap"),
    ),
    "quick_07_net2_gap": Figure(
        "network 2's quick-mode gap, validation - training loss at its last epoch",
        quick_07_gap("network_2_gap"),
    ),
    "quick_08_accuracy_range": Figure(
        "the NumPy network's quick-mode test accuracy",
        quick_range("08-gradient-descent-by-hand", ("test_accuracy",), 87, 92),
    ),
    "quick_09_accuracy_range": Figure(
        "the convnet's quick-mode test accuracy", quick_range("09-going-further", ("test_accuracy",), 83, 90)
    ),
    # shared machines (issue 29): the threads section
    "busy_slowdown_range": Figure(
        "training's slowdown with every core busy, with the CPU budget", busy_slowdown
    ),
    # the R tutorial's published numbers (mnistlib.bench.TUTORIAL)
    "tutorial_net1_accuracy": Figure("the tutorial's network 1 accuracy", digits(_tutorial(N1, 0), 4)),
    "tutorial_net1_accuracy_pct": Figure(
        "the tutorial's network 1 accuracy in %", digits(_tutorial(N1, 0), 0, 100)
    ),
    "tutorial_net1_loss": Figure("the tutorial's network 1 loss", digits(_tutorial(N1, 1), 3)),
    "tutorial_net2_accuracy": Figure("the tutorial's network 2 accuracy", digits(_tutorial(N2, 0), 3)),
    "tutorial_net2_loss": Figure("the tutorial's network 2 loss", digits(_tutorial(N2, 1), 3)),
}


# ----------------------------------------------------------------------------- placeholders in notebooks


def _environment():
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


def _source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _where(notebook: str, cell: dict, index: int) -> str:
    return f"{notebook}, cell {cell.get('id') or f'#{index}'}"


def placeholders(notebook: dict, name: str = "notebook") -> list[tuple[str, str]]:
    """``(where, figure name)`` for every figure the Markdown cells of ``notebook`` name, in order."""
    import jinja2
    from jinja2 import meta

    env = _environment()
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        where = _where(name, cell, index)
        try:
            tree = env.parse(_source(cell))
        except jinja2.TemplateSyntaxError as err:
            raise FigureError(
                f"{where}: a figure placeholder does not parse (line {err.lineno}): {err}"
            ) from None
        found += [(where, figure) for figure in sorted(meta.find_undeclared_variables(tree))]
    return found


def compute(reports: Reports, notebooks: dict[str, dict]) -> dict[str, str]:
    """The text of every figure the ``notebooks`` (name -> notebook) name, checked against :data:`FIGURES`."""
    figures: dict[str, str] = {}
    for name, notebook in notebooks.items():
        for where, figure in placeholders(notebook, name):
            if figure not in FIGURES:
                close = difflib.get_close_matches(figure, FIGURES, n=3, cutoff=0.7)
                raise FigureError(
                    f"{where}: unknown figure {{{{ {figure} }}}}"
                    + (f" (did you mean {' or '.join(close)}?)" if close else "")
                    + "; the figures are defined in mnistlib/figures.py (FIGURES)"
                )
            if figure in figures:
                continue
            try:
                figures[figure] = FIGURES[figure].text(reports)
            except (KeyError, IndexError, TypeError) as err:
                raise FigureError(
                    f"{where}: figure {figure} ({FIGURES[figure].what}) needs {err} from the benchmark report "
                    "(docs/benchmarks.json or docs/quick-mode.json), which does not have it: measure it with "
                    "`mnistlib bench`"
                ) from None
            except FigureError as err:
                raise FigureError(f"{where}: figure {figure}: {err}") from None
    return dict(sorted(figures.items()))


def fill(notebook: dict, figures: dict[str, str], name: str = "notebook") -> dict:
    """``notebook`` with every placeholder of its Markdown cells replaced by its figure's text."""
    import jinja2

    env = _environment()
    for where, figure in placeholders(notebook, name):
        if figure not in figures:
            raise FigureError(
                f"{where}: figure {{{{ {figure} }}}} is not in {FIGURES_FILE}: "
                "rebuild it with `mnistlib course build` (its names are defined in mnistlib/figures.py)"
            )
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown" and "{" in _source(cell):
            try:
                text = env.from_string(_source(cell)).render(figures)
            except jinja2.TemplateError as err:  # pragma: no cover - placeholders() parsed it already
                raise FigureError(f"{name}: {err}") from None
            cell["source"] = text.splitlines(keepends=True) if isinstance(cell["source"], list) else text
    return notebook


class FillFigures(Preprocessor):
    """nbgrader preprocessor: fill in the figures a notebook's Markdown names (``{{ net1_train_s }}``).

    The figures are read from ``source/figures.json`` of the course being generated, or of the course
    installed with mnistlib when that has none (a grading run's throw-away course holds only the
    assignments it grades).
    """

    enabled = Bool(True, help="fill in the figures (nbconvert's preprocessors are off unless enabled)").tag(
        config=True
    )
    figures_file = Unicode("", help="the figures' JSON (name -> text); default: source/figures.json").tag(
        config=True
    )

    def _figures(self) -> dict[str, str]:
        candidates = [Path(self.figures_file)] if self.figures_file else []
        root = self.config.get("CourseDirectory", {}).get("root")
        if root and not self.figures_file:
            candidates.append(Path(root) / "source" / FIGURES_FILE)
        if not self.figures_file:
            from .course import COURSE

            candidates.append(Path(COURSE) / "source" / FIGURES_FILE)
        for path in candidates:
            if path.is_file():
                return json.loads(path.read_text(encoding="utf-8"))
        raise FigureError(
            f"no figures to fill in: {' or '.join(map(str, candidates))} is missing (`mnistlib course build` writes it)"
        )

    def preprocess(self, nb, resources):
        name = resources.get("nbgrader", {}).get("notebook") or "notebook"
        if any(True for _ in placeholders(nb, name)):
            fill(nb, self._figures(), name)
        return nb, resources
