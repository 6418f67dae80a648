"""``mnistlib export``: the course's grading, packaged for engines that run one container per submission.

    mnistlib export gradescope [ASSIGNMENT...] --out DIR     autograder-<id>.zip per assignment
    mnistlib export prairielearn [ASSIGNMENT...] --out DIR   a question folder per assignment

Both grade a submission with the same pipeline as ``mnistlib grade`` (nbgrader's autograde, the
checker kernel, hidden tests, the bubblewrap sandbox when the container allows it) and report one
entry per exercise with the check's message. See docs/instructor.md, "Grading at scale".
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    targets = {"gradescope": "mnistlib.export.gradescope", "prairielearn": "mnistlib.export.prairielearn"}
    if not argv or argv[0] not in targets:
        if argv[:1] in (["-h"], ["--help"]):  # the whole story, as plain text (no reST markup)
            print(__doc__.replace("``", "`").strip())
            print("\nEach engine has its own options: mnistlib export gradescope --help")
            return 0
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        print(f"error: say which engine: {' or '.join(targets)}", file=sys.stderr)
        return 2
    import importlib

    return importlib.import_module(targets[argv[0]]).main(argv[1:])
