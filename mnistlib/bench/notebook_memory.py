"""Peak memory and wall time of course notebooks: do they fit in Binder's 2 GB?

Each notebook runs top to bottom in a fresh kernel (nbclient), in a temporary folder, while
the resident memory of the kernel and its children is sampled (see mnistlib.bench.memory). The
course's budget is 1.5 GB per notebook with the full data and full epochs.

    python -m mnistlib.bench.notebook_memory                     # every solution notebook, full data
    python -m mnistlib.bench.notebook_memory --quick             # the same in quick mode (seconds each)
    python -m mnistlib.bench.notebook_memory solutions/05-training.ipynb course/source/08-*/08-*.ipynb
    nice -n 10 python -m mnistlib.bench.notebook_memory --json results.json

Full-data runs take minutes per notebook (docs/benchmarks.md): run them one at a time, niced.
Exit status: 0 when every notebook ran and stayed under ``--limit-mb``, else 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from mnistlib.course import checkout

REPO = checkout() or Path.cwd()  # a maintainer's tool: run from a checkout
LIMIT_MB = 1536  # 1.5 GB: Binder's 2 GB minus room for the Jupyter server and the browser's tabs


def default_notebooks() -> list[Path]:
    """The worked solutions; the source notebooks where no solutions are generated yet."""
    solutions = sorted((REPO / "solutions").glob("*.ipynb"))
    return solutions or sorted((REPO / "course" / "source").glob("*/*.ipynb"))


def measure(paths: list[Path], *, quick: bool, timeout: int) -> list[dict]:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from mnistlib.bench.memory import run_notebook_measured

    rows = []
    for path in paths:
        print(f"running {path.name} ({'quick' if quick else 'full'}) ...", file=sys.stderr, flush=True)
        row = {"notebook": path.stem, "mode": "quick" if quick else "full"}
        with tempfile.TemporaryDirectory(prefix="notebook-memory-") as tmp:
            try:
                row.update(run_notebook_measured(path, quick=quick, workdir=Path(tmp), timeout=timeout))
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
                row["error"] = " ".join(str(err).split())[:300]
        rows.append(row)
        print(f"  {format_row(row)}", file=sys.stderr, flush=True)
    return rows


def format_row(row: dict) -> str:
    if "error" in row:
        return f"{row['notebook']:<32} {row['mode']:<5} FAILED: {row['error']}"
    return f"{row['notebook']:<32} {row['mode']:<5} {row['seconds']:>8.1f} s {row['peak_mb']:>8.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: the solutions)")
    parser.add_argument(
        "--quick", action="store_true", help="quick mode (MNISTLIB_QUICK=1); default: full data"
    )
    parser.add_argument(
        "--limit-mb", type=float, default=LIMIT_MB, help=f"budget per notebook (default {LIMIT_MB})"
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    paths = args.notebooks or default_notebooks()
    if not paths:
        parser.error("no notebooks found: pass some, or generate the solutions first")
    rows = measure(paths, quick=args.quick, timeout=args.timeout)

    print(f"{'notebook':<32} {'mode':<5} {'wall':>10} {'peak':>11}")
    for row in rows:
        print(format_row(row))
    over = [row for row in rows if "error" not in row and row["peak_mb"] > args.limit_mb]
    failed = [row for row in rows if "error" in row]
    if over:
        print(f"over the {args.limit_mb:.0f} MB budget: {', '.join(row['notebook'] for row in over)}")
    if args.json:
        args.json.write_text(json.dumps({"limit_mb": args.limit_mb, "results": rows}, indent=2) + "\n")
    return 1 if over or failed else 0


if __name__ == "__main__":
    sys.exit(main())
