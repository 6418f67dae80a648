"""Do two speed runs agree? Row by row, the medians of two ``mnistlib bench --only speed`` runs.

    mnistlib bench --only speed --out /tmp/a.md --json /tmp/a.json
    mnistlib bench --only speed --out /tmp/b.md --json /tmp/b.json
    python -m mnistlib.bench.compare /tmp/a.json /tmp/b.json      # --within 0.10 is the default

Prints each row of the report's speed table for both runs and their difference, relative to the
smaller of the two values; exits 1 if any row differs by more than ``--within``, 2 if a file is
not a speed run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: The rows of the report's speed table: (label, function of the speed section).
ROWS = (
    ("float32 GEMM, GFLOP/s", lambda s: s["gemm_gflops"]),
    ("network 1, s/epoch", lambda s: s["net1_epoch_s"]),
    ("network 1, share of GEMM", lambda s: s["net1_gflops"] / s["gemm_gflops"]),
    ("784-512-10 Keras, s/epoch", lambda s: s["twin_keras_epoch_s"]),
    ("784-512-10 Keras, share of GEMM", lambda s: s["twin_keras_gflops"] / s["gemm_gflops"]),
    ("784-512-10 NumPy, s/epoch", lambda s: s["twin_numpy_epoch_s"]),
    ("784-512-10 NumPy, share of GEMM", lambda s: s["twin_numpy_gflops"] / s["gemm_gflops"]),
    ("NumPy time / Keras time", lambda s: s["numpy_keras_ratio"]),
)


#: The values of a speed section the rows read.
KEYS = ("gemm_gflops", "net1_epoch_s", "twin_keras_epoch_s", "twin_numpy_epoch_s", "net1_gflops",
        "twin_keras_gflops", "twin_numpy_gflops", "numpy_keras_ratio")  # fmt: skip


class NotASpeedRun(ValueError):
    pass


def speed_section(path: Path) -> dict:
    """The speed section of a bench JSON file, or :class:`NotASpeedRun` saying what is wrong."""
    try:
        results = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotASpeedRun(f"{path}: no such file") from None
    except (OSError, json.JSONDecodeError) as error:
        raise NotASpeedRun(f"{path}: not a JSON file written by mnistlib bench --json ({error})") from None
    speed = results.get("speed") if isinstance(results, dict) else None
    if not isinstance(speed, dict):
        raise NotASpeedRun(f"{path}: has no speed section (measure one with mnistlib bench --only speed)")
    missing = [key for key in KEYS if not isinstance(speed.get(key), (int, float))]
    if missing:
        raise NotASpeedRun(f"{path}: its speed section lacks {', '.join(missing)} (an older bench?)")
    return speed


def differences(a: dict, b: dict) -> list[tuple[str, float, float, float]]:
    """(row, value in a, value in b, |a - b| / min(a, b)) for every row of the speed table."""
    rows = []
    for label, value in ROWS:
        x, y = value(a), value(b)
        rows.append((label, x, y, abs(x - y) / min(abs(x), abs(y))))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mnistlib.bench.compare", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("first", type=Path, help="a JSON file from mnistlib bench --json")
    parser.add_argument("second", type=Path, help="another, measured after it")
    parser.add_argument(
        "--within", type=float, default=0.10, help="largest relative difference allowed (0.10)"
    )
    args = parser.parse_args(argv)
    try:
        rows = differences(speed_section(args.first), speed_section(args.second))
    except NotASpeedRun as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    width = max(len(label) for label, *_ in rows)
    print(f"{'row':<{width}}  {'first':>9}  {'second':>9}  difference")
    for label, x, y, d in rows:
        flag = "" if d <= args.within else f"  more than {args.within:.0%}"
        print(f"{label:<{width}}  {x:>9.3g}  {y:>9.3g}  {d:>9.1%}{flag}")
    worst = max(d for *_, d in rows)
    agree = worst <= args.within
    print(f"largest difference {worst:.1%}: {'every row within' if agree else 'more than'} {args.within:.0%}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
