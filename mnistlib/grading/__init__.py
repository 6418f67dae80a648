"""Grading: ``mnistlib grade``, and the nbgrader pieces the course's config plugs in.

* :mod:`.command` -- the ``mnistlib grade`` command and :func:`grade` (from Python:
  ``from mnistlib.grading import grade``); :mod:`.worker` -- one process of its pool;
  :mod:`.shards` and :mod:`.lms` -- a class in shards, merged, and grades for Canvas.
* :mod:`.preprocessors` -- nbgrader preprocessors: restore deleted test cells, run test
  cells in a clean checker kernel, feedback without hidden tests' code.
* :mod:`.kernel` -- the kernel launcher and its limits; :mod:`.forkserver` -- warm kernels
  (docs/forkserver.md); :mod:`.sandbox` -- bubblewrap around a learner's kernels;
  :mod:`.bridge` -- the data-only calls from the checker to the learner's kernel.
* :mod:`.diagnose` and :mod:`.regions` -- what a graded notebook says about itself.

Importing this package imports nothing else: every grading kernel starts through
:mod:`.kernel`, so it must stay light.
"""

import importlib

__all__ = ["GradingError", "grade"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.command"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
