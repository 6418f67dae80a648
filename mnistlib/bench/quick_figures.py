"""Measure the quick-mode figures the notebooks quote, and write docs/quick-mode.json.

Quick mode (3,000 training and 1,000 test images, fewer epochs) gives other numbers than the full data,
and the notebooks say what to expect there too. This runs the solution notebooks 05-09 in quick mode
``--runs`` times (default 2) and records, from their printed output, the figures those sentences quote.
`mnistlib course build` checks every quoted quick-mode range against this file (mnistlib/figures.py).

    .venv/bin/python -m mnistlib.bench.quick_figures [--runs 2]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from mnistlib.course import checkout

REPO = checkout() or Path.cwd()  # a maintainer's tool: run from a checkout
OUT = REPO / "docs" / "quick-mode.json"
NOTEBOOKS = [
    "05-training",
    "06-diagnosing-overfitting",
    "07-dropout",
    "08-gradient-descent-by-hand",
    "09-going-further",
]
EPOCH_LINE = re.compile(r"val_loss: ([\d.]+)")


def _text(notebook) -> str:
    return "".join(
        out.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.output_type == "stream"
    )


def _run(assignment: str) -> str:
    notebook = nbformat.read(REPO / "solutions" / f"{assignment}.ipynb", as_version=4)
    with tempfile.TemporaryDirectory() as workdir:
        client = NotebookClient(
            notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": workdir}}
        )
        client.execute(env=dict(os.environ, MNISTLIB_QUICK="1"))
    return _text(notebook)


def _float(pattern: str, text: str) -> float:
    return float(re.search(pattern, text).group(1))


def figures(assignment: str, text: str) -> dict:
    """The figures of one quick-mode run of a solution notebook, from its printed output."""
    val_losses = [float(v) for v in EPOCH_LINE.findall(text)]
    if assignment == "05-training":
        return {
            "test_accuracy": _float(r"test accuracy ([\d.]+)", text),
            "epochs": len(val_losses),
            "best_epoch": 1 + val_losses.index(min(val_losses)),
        }
    if assignment == "06-diagnosing-overfitting":
        first = val_losses[: len(val_losses) // 2]
        return {
            "test_accuracy": _float(r"test set: loss [\d.]+, accuracy ([\d.]+)", text),
            "epochs": len(first),
            "best_epoch": int(_float(r"at epoch (\d+)", text)),
            "early_stopping_epochs_run": int(_float(r"ran (\d+) epochs", text)),
        }
    if assignment == "07-dropout":
        found = {}
        for number, name in ((1, "no dropout"), (2, "dropout")):
            # the summary table's row: epochs, test accuracy, test loss, gap (last), gap (epoch 10)
            row = re.search(rf"network {number} \({name}\)\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+(-?[\d.]+)", text)
            found[f"network_{number}_epochs"] = int(row.group(1))
            found[f"network_{number}_test_accuracy"] = float(row.group(2))
            found[f"network_{number}_gap"] = float(row.group(3))  # validation - training loss, last epoch
        return found
    if assignment == "08-gradient-descent-by-hand":
        return {"test_accuracy": _float(r"test accuracy: ([\d.]+)", text)}
    if assignment == "09-going-further":
        return {
            "test_accuracy": _float(r"convnet test loss [\d.]+, test accuracy ([\d.]+)", text),
            "mistakes": int(_float(r"mistakes: (\d+) of", text)),
        }
    raise ValueError(assignment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {name: [] for name in NOTEBOOKS}
    for number in range(args.runs):
        for name in NOTEBOOKS:
            runs[name].append(figures(name, _run(name)))
            print(f"run {number + 1}: {name} {runs[name][-1]}", flush=True)
    import keras
    import numpy

    report = {
        "about": "Quick-mode figures (MNISTLIB_QUICK=1: 3,000 training / 1,000 test images, fewer epochs) "
        "of the solution notebooks, one entry per run, written by python -m mnistlib.bench.quick_figures. The notebooks "
        "fix their seeds, so runs on one machine agree; the notebooks quote ranges around these values to "
        "leave room for other machines and library versions.",
        "date": datetime.date.today().isoformat(),
        "machine": {
            "python": platform.python_version(),
            "keras": keras.__version__,
            "numpy": numpy.__version__,
            "cores": os.cpu_count(),
        },
        "runs": runs,
    }
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
