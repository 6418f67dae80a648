"""The worker process of :mod:`mnistlib.bench.threads`: one measurement in a fresh process.

``python -m mnistlib.bench.threads_worker speed|notebook ...`` measures the speed rows
(:func:`mnistlib.bench.bench_speed`) or one solution notebook under the thread settings its
environment sets, and prints one ``RESULT {json}`` line for the parent to read. A module of its own
so that ``bench.threads`` (which ``bench`` imports) never imports ``bench`` back: no import circle.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .. import cpu
from . import SOLUTIONS, bench_speed
from .memory import run_notebook_measured
from .threads import RESULT, SPEED_ROUNDS


def _worker(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="python -m mnistlib.bench.threads_worker")
    sub = parser.add_subparsers(dest="what", required=True)
    speed = sub.add_parser("speed")
    speed.add_argument("--rounds", type=int, default=SPEED_ROUNDS)
    speed.add_argument("--quick", action="store_true")
    notebook = sub.add_parser("notebook")
    notebook.add_argument("id")
    notebook.add_argument("mode", choices=("quick", "full"))
    args = parser.parse_args(argv)

    if args.what == "speed":
        measured = bench_speed(args.quick, rounds=args.rounds)
        return {"spread": measured["spread"], "budget": str(cpu.applied().get("budget") or cpu.budget())}
    with tempfile.TemporaryDirectory() as tmp:
        measured = run_notebook_measured(
            SOLUTIONS / f"{args.id}.ipynb", quick=args.mode == "quick", workdir=Path(tmp)
        )
    return {"seconds": measured["seconds"], "budget": str(cpu.budget())}


if __name__ == "__main__":
    print(RESULT + json.dumps(_worker(sys.argv[1:])), flush=True)
