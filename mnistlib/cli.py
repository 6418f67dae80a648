"""The ``mnistlib`` command (also ``python -m mnistlib``).

    mnistlib data fetch [--from PATH] [--force]   put verified MNIST in the cache
    mnistlib data verify                          check the cached files by SHA-256
    mnistlib data where                           say where the data is and its source
    mnistlib course build | check                 regenerate / drift-check release, colab, solutions
    mnistlib course copy-release | copy-course DEST   a learner's / an instructor's copy of the course
    mnistlib course where                         the folder of the course installed with mnistlib
    mnistlib course start [FOLDER]                copy the student notebooks, open notebook 01 in JupyterLab
    mnistlib grade PATH...                        grade learner notebooks (see --help)
    mnistlib bench [--quick]                      measure the course (see --help)
    mnistlib progress [FOLDER]                    the course map: what is done, what is left
    mnistlib hint [EXERCISE]                      the next rung of help (default: the exercise last failed)
    mnistlib export gradescope|prairielearn ...   grading packaged for those engines (see --help)

``data``, ``course`` and ``hint`` are handled here; each other top-level command lives in its own
module with its own ``main(argv)``, which this file routes to. Nothing in mnistlib imports this
module: it is the top of the import graph (docs/architecture.md). ``mnistlib --version`` prints the
package's version; output cut short by a pipe (``mnistlib progress | head``) ends quietly.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

from . import __version__, data

# command -> (module, one-line help); each module has main(argv) -> exit status
_DELEGATED = {
    "course": ("mnistlib.cli", "copy, regenerate or drift-check the course's notebooks"),
    "grade": ("mnistlib.grading.command", "grade learner notebooks with nbgrader"),
    "bench": ("mnistlib.bench", "measure accuracy, speed and memory; write docs/benchmarks.md"),
    "progress": ("mnistlib.progress", "the course map: each exercise passed, failing or not tried"),
    "export": ("mnistlib.export", "package grading for Gradescope or PrairieLearn"),
}


def _data_fetch(args) -> int:
    started = time.perf_counter()
    if args.source:
        try:
            files = data.read_local(args.source)
        except (data.SourceFailed, data.IDXError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        directory = data.store(files, f"copied from {args.source}")
    else:
        try:
            directory = data.fetch(force=args.force)
        except data.MNISTDataError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    info = data.describe(directory)
    print(f"MNIST ready in {directory} (source: {info['source']}, {time.perf_counter() - started:.1f} s)")
    return 0


def _data_verify(args) -> int:
    info = data.describe()
    for name, status in info["files"].items():
        print(f"{status:>9}  {name}")
    if info["complete"]:
        print(f"all four files verified by SHA-256 in {info['cache']}")
        return 0
    print("not complete: run `mnistlib data fetch` to (re)fetch", file=sys.stderr)
    return 1


def _data_where(args) -> int:
    info = data.describe()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0 if info["complete"] else 1
    if info["MNISTLIB_DATA"]:
        print(f"MNISTLIB_DATA is set: load_mnist() reads {info['MNISTLIB_DATA']}")
    state = "present and verified" if info["complete"] else "NOT complete"
    print(f"cache: {info['cache']} ({state})")
    for name, status in info["files"].items():
        print(f"  {status:>9}  {name}")
    if info["source"]:
        print(f"source: {info['source']} (fetched {info['fetched']})")
    if info["keras_cache"]:
        print(f"Keras's own cache also has: {info['keras_cache']}")
    return 0 if info["complete"] else 1


def _hint(args) -> int:
    from .hints import hint

    hint(args.exercise)
    return 0


def course_main(argv: list[str]) -> int:
    """``mnistlib course ACTION [DEST]`` (see :mod:`mnistlib.course`)."""
    # Imported here, not at the top: finding the installed course needs an installed mnistlib, and
    # `python -m mnistlib data fetch` also runs from a checkout that is not installed (binder/postBuild).
    from . import course

    if argv[:1] == ["start"]:  # its own options (--port, --no-browser): see mnistlib/course_start.py
        from .course_start import main as start

        return start(argv[1:])
    actions = {
        "start": "copy the student notebooks into my-work/ and open notebook 01 in JupyterLab "
        "(see: mnistlib course start --help)",
        "copy-release": "copy the student notebooks into DEST (a notebook already there is kept)",
        "copy-course": "make an nbgrader course of your own in DEST (instructors)",
        "where": "print the folder of the course installed with mnistlib",
        "build": "regenerate the release, its Colab edition and the solutions from the sources (a checkout)",
        "check": "check that the release, its Colab edition and the solutions match their sources (a checkout)",
    }
    epilog = "actions:\n" + "\n".join(f"  {name:<13} {text}" for name, text in actions.items())
    parser = argparse.ArgumentParser(
        prog="mnistlib course",
        description=course.__doc__.split("\n\n")[0],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=list(actions), help="what to do (see actions below)")
    parser.add_argument(
        "dest",
        nargs="?",
        help="with copy-release: the learner's work folder; with copy-course: the new course root "
        "(start has options of its own: mnistlib course start --help)",
    )
    args = parser.parse_args(argv)
    if args.action == "where":
        print(course.COURSE)
        return 0
    if args.action in ("copy-release", "copy-course"):
        if not args.dest:
            parser.error(f"{args.action} needs a destination folder")
        if args.action == "copy-release":
            copied, kept = course.copy_release(Path(args.dest))
            what = "notebook file(s)"
        else:
            try:
                copied, kept = course.copy_course(Path(args.dest))
            except course.CourseFilesMissing as missing:
                print(
                    f"error: `mnistlib course copy-course` makes an instructor's course: {missing}",
                    file=sys.stderr,
                )
                return 2
            what = "course file(s) (nbgrader_config.py, source/, release/)"
        print(f"{len(copied)} {what} copied to {args.dest}, {len(kept)} already there kept unchanged")
        return 0
    if course.REPO is None:
        print(
            f"error: `mnistlib course {args.action}` regenerates the release and solutions of a checkout "
            f"of the course repository, but this mnistlib is installed without one (its course: {course.COURSE}). "
            "Run it in a clone, with mnistlib installed from there (pip install -e .).",
            file=sys.stderr,
        )
        return 2
    try:
        from .authoring import COLAB, build, drift  # nbgrader's converters: only for a checkout's maintainers
    except ModuleNotFoundError as missing:
        if missing.name != "mnistlib.authoring":
            raise
        print(
            f"error: `mnistlib course {args.action}` is course authoring: {course.grader_hint()}",
            file=sys.stderr,
        )
        return 2

    from .figures import FigureError

    try:
        if args.action == "build":
            ids = build(course.COURSE / "release", course.SOLUTIONS, out_colab=COLAB)
            print(
                f"generated the release, its Colab edition and the solutions of {len(ids)} assignments: "
                f"{', '.join(ids)}"
            )
            return 0
        problems = drift()
    except FigureError as err:
        print(f"error: a figure cannot be filled in, nothing was written: {err}", file=sys.stderr)
        return 1
    for line in problems:
        print(line)
    if problems:
        print("run `mnistlib course build` (or `make generate`) and commit the result", file=sys.stderr)
        return 1
    print("release, Colab edition and solutions match their sources")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnistlib", description="Tools of the mnist-keras-course.")
    parser.add_argument("--version", action="version", version=f"mnistlib {__version__} (mnist-keras-course)")
    commands = parser.add_subparsers(dest="command", required=True)
    data_p = commands.add_parser("data", help="fetch, verify or locate the MNIST files")
    data_cmds = data_p.add_subparsers(dest="data_command", required=True)
    p = data_cmds.add_parser("fetch", help="put verified MNIST into the cache")
    p.add_argument("--from", dest="source", help="import a local mnist.npz or IDX folder instead")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    p.set_defaults(func=_data_fetch)
    p = data_cmds.add_parser("verify", help="check the cached files by SHA-256")
    p.set_defaults(func=_data_verify)
    p = data_cmds.add_parser("where", help="say where the data is and where it came from")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=_data_where)
    for name, (_, help_text) in _DELEGATED.items():
        commands.add_parser(name, help=help_text, add_help=False)
    p = commands.add_parser(
        "hint",
        help="the next rung of help for an exercise",
        description="Print the next rung of help for an exercise (in this command, each run starts at "
        "the first rung; in a notebook, mnistlib.hint() goes one rung further each time).",
    )
    p.add_argument(
        "exercise",
        nargs="?",
        help="e.g. flatten_images (default: the exercise whose check failed last, from the progress file)",
    )
    p.set_defaults(func=_hint)
    return parser


def _run(argv: list[str]) -> int:
    if argv[:1] == ["course"]:
        return course_main(argv[1:])
    if argv and argv[0] in _DELEGATED:
        name = _DELEGATED[argv[0]][0]
        if importlib.util.find_spec(".".join(name.split(".")[:2])) is None:
            from . import course

            print(  # grade, export, bench: not in the learner's package
                f"error: `mnistlib {argv[0]}` is not installed with this mnistlib: {course.grader_hint()}",
                file=sys.stderr,
            )
            return 2
        module = importlib.import_module(name)
        return module.main(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        status = _run(argv)
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # the reader went away (`mnistlib progress | head`): nothing left to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that Python's last flush at exit does not fail again
        return 0
