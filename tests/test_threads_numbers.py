"""What the notebooks say about speed on shared machines agrees with the benchmark (issue 29).

Notebooks 05, 08 and 09 say, where they discuss how long training takes, how much longer it takes on
a machine whose cores are busy with other programs, and that ``MNISTLIB_THREADS`` chooses the
threads. The range they quote must contain what ``mnistlib bench --only threads`` measured
(docs/benchmarks.json, ``threads``: with the CPU budget, each training row's seconds per epoch with a
CPU-bound process on every core over its seconds on the idle machine). The range is a figure of
mnistlib/figures.py (``{{ busy_slowdown_range }}``), filled in by ``mnistlib course build``: checked
here in the student release, as the learner reads it; tests/test_numbers_agree.py checks that the
build generates it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mnistlib import bench
from mnistlib.bench.threads import busy_slowdowns

REPO = Path(__file__).resolve().parent.parent
REPORT = json.loads(bench.REPORT_DATA.read_text())
QUOTING = ("05-training", "08-gradient-descent-by-hand", "09-going-further")
RANGE = re.compile(r"expect training to take (\d+(?:\.\d+)?) to (\d+(?:\.\d+)?) times as long")


def markdown(notebook: str, folder: str = "release") -> str:
    cells = json.loads((REPO / "course" / folder / notebook / f"{notebook}.ipynb").read_text())["cells"]
    return re.sub(r"\s+", " ", " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"))


def half_of_last_digit(number: str) -> float:
    return 0.5 * 10 ** -(len(number.split(".")[1]) if "." in number else 0)


def holds(low: str, high: str, measured: list[float]) -> bool:
    """Whether the range 'low to high', at the digits it is written with, contains every measured value."""
    return float(low) - half_of_last_digit(low) <= min(measured) and max(measured) <= float(
        high
    ) + half_of_last_digit(high)


@pytest.mark.parametrize("notebook", QUOTING)
def test_the_notebook_quotes_the_measured_slowdown_on_a_busy_machine(notebook):
    text = markdown(notebook)
    found = RANGE.findall(text)
    assert len(found) == 1, (
        f"{notebook}: one sentence 'expect training to take N to M times as long', found {found}"
    )
    ((low, high),) = found
    measured = busy_slowdowns(REPORT["threads"])
    assert holds(low, high, measured), f"{notebook} says {low} to {high} times, measured {measured}"
    assert "expect training to take {{ busy_slowdown_range }} times as long" in markdown(notebook, "source")


@pytest.mark.parametrize("notebook", QUOTING)
def test_the_notebook_tells_how_to_choose_the_threads(notebook):
    assert "`MNISTLIB_THREADS`" in markdown(notebook)


@pytest.mark.parametrize(
    "low, high, measured, ok",
    [
        ("1.5", "2.5", [1.6, 2.4], True),
        ("1.5", "2.5", [1.46, 2.54], True),  # written to one decimal
        ("1.5", "2.5", [1.6, 2.6], False),
        ("2", "3", [1.4, 2.0], False),
    ],
)
def test_holds_reads_the_digits_written(low, high, measured, ok):
    assert holds(low, high, measured) is ok
