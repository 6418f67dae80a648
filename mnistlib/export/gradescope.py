"""``mnistlib export gradescope``: one autograder zip per assignment, for Gradescope's programming assignments.

    mnistlib export gradescope [ASSIGNMENT...] --out DIR

Each ``autograder-<id>.zip`` follows Gradescope's autograder specification
(github.com/gradescope/autograder_samples, docs/specs.md): at its root ``setup.sh`` (run once when
Gradescope builds the image: Python, bubblewrap, the course wheel and its dependencies, MNIST
checked by SHA-256) and ``run_autograder`` (run per submission: grades
``/autograder/submission/`` and writes ``/autograder/results/results.json``), plus the wheel,
MNIST with its ``SHA256SUMS`` and the settings (``mnistlib-autograder.json``).

Inside the container, ``python -m mnistlib.export.gradescope run`` does the grading
(:func:`mnistlib.export.results.grade_submission`); ``MNISTLIB_AUTOGRADER_ROOT`` replaces
``/autograder`` (tests, or trying a zip out on your own machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from ..grading import limits
from . import build, results

ROOT_ENV = "MNISTLIB_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"


def export(assignments: list[str], out: Path, *, wheel: Path | None, timeout: int, memory_mb: int,
           hidden_visibility: str) -> list[Path]:  # fmt: skip
    """Write ``autograder-<id>.zip`` for each assignment into ``out``; their paths."""
    chosen = build.chosen_assignments(assignments)
    configs = {
        a: build.settings(a, timeout=timeout, memory_mb=memory_mb, hidden_visibility=hidden_visibility)
        for a in chosen
    }
    mnist = build.mnist_files()
    made = []
    with tempfile.TemporaryDirectory(prefix="mnistlib-export-") as tmp:
        wheel_file = build.build_wheel(Path(tmp), wheel)
        for assignment in chosen:
            members: dict[str, bytes | Path] = {
                "setup.sh": build.script("setup.sh").encode(),
                "run_autograder": build.script("run_autograder").encode(),
                build.CONFIG: build.config_bytes(configs[assignment]),
                **{f"wheels/{w.name}": w for w in build.both_wheels(wheel_file)},  # learner's + grader's
                "mnist/SHA256SUMS": build.sha256sums(mnist).encode(),
                **{f"mnist/{name}": path for name, path in mnist.items()},
            }
            made.append(
                build.write_zip(out / f"autograder-{assignment}.zip", members, {"setup.sh", "run_autograder"})
            )
    return made


def run(root: Path) -> dict:
    """Grade ``root/submission`` and write ``root/results/results.json``; never raises for a submission."""
    started = time.perf_counter()
    config: dict = {}
    try:
        config = json.loads((root / "source" / build.CONFIG).read_text(encoding="utf-8"))
        outcome = results.grade_submission(
            root / "submission",
            config["assignment"],
            timeout=int(config["timeout"]),
            memory_mb=int(config["memory_mb"]),
        )
    except Exception as err:  # noqa: BLE001 - whatever happens, the learner gets a 0 with a reason
        traceback.print_exc(file=sys.stdout)  # Gradescope shows stdout to instructors only
        outcome = results.crashed(str(config.get("assignment", "?")), err)
    payload = results.gradescope(outcome, config, time.perf_counter() - started)
    if outcome.get("result"):  # the instructor's view (stdout): the full table, hidden messages included
        from ..grading.command import format_table

        print(format_table(outcome["result"]))
    from ..grading.shards import write_json_atomic

    write_json_atomic(root / "results" / "results.json", payload)
    return payload


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mnistlib export gradescope",
        description=__doc__.split("\n\n")[0].replace("``", "`"),  # help is plain text, not reST
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1].replace("``", "`"),
    )
    p.add_argument("assignments", nargs="*", help="assignment ids, e.g. 02-reshaping (default: all nine)")
    p.add_argument("--out", type=Path, required=True, help="folder for the zips (created if missing)")
    p.add_argument(
        "--wheel", type=Path, help="the course wheel to install (default: built from this checkout)"
    )
    limits.add_arguments(p)
    p.add_argument(
        "--hidden-visibility",
        default="after_published",
        choices=build.VISIBILITIES,
        help="when learners see the hidden tests' results and the total (default: after_published)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["run"], ["describe"]):  # inside the container (run_autograder, setup.sh)
        p = argparse.ArgumentParser(prog=f"python -m mnistlib.export.gradescope {argv[0]}")
        p.add_argument("--root", type=Path, default=Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT))
        args = p.parse_args(argv[1:])
        if argv[0] == "describe":
            config = json.loads((args.root / "source" / build.CONFIG).read_text(encoding="utf-8"))
            print(
                f"assignment {config['assignment']}, {config['points']:g} points, mnistlib {config['mnistlib_version']}"
            )
            return 0
        run(args.root)
        return 0
    args = build_parser().parse_args(argv)
    try:
        made = export(
            args.assignments,
            args.out,
            wheel=args.wheel,
            timeout=args.timeout,
            memory_mb=args.memory_mb,
            hidden_visibility=args.hidden_visibility,
        )
    except build.ExportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in made:
        print(f"{path}  ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"{len(made)} autograder zip(s) in {args.out}: upload each to its Gradescope assignment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
