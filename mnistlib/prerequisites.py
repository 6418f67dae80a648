"""One clear line instead of a follow-on error: "finish `relu` first".

A cell that uses a learner's exercise (directly, or through a variable computed from it) starts with::

    mnistlib.needs("relu", "relu_grad")

``needs`` looks each name up in the notebook's namespace and runs that exercise's visible check
(``mnistlib.checks``) silently. If the function is missing, unfinished (still
``raise NotImplementedError()``) or fails its check, the cell stops with :class:`FinishFirst`,
whose message names the first such exercise and its section, e.g.::

    Finish `relu` first (the exercise in section 3 of this notebook): its check does not pass yet.

In IPython and Jupyter that one line is all the learner sees (no traceback: see
:meth:`FinishFirst._render_traceback_`), instead of an error deep inside NumPy, Keras or matplotlib.
A function that passed is remembered (per function object, so redefining it checks it again), so
cells that need the same exercise cost nothing after the first.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
import weakref

from .exercises import EXERCISES

#: Set by the grader in a learner's kernel, where the checks (the answer key) are out of reach: then
#: ``needs`` only asks that each exercise be defined, and the grader's checker judges the rest.
ANSWER_KEY_HIDDEN_ENV = "MNISTLIB_ANSWER_KEY_HIDDEN"

_passed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # function -> True once its check passed


class FinishFirst(Exception):
    """An exercise this cell needs is missing, unfinished or wrong. Shown as one line in a notebook."""

    def __init__(self, exercise: str, reason: str):
        self.exercise = exercise
        self.reason = reason
        section = EXERCISES[exercise].section_number if exercise in EXERCISES else "?"
        super().__init__(
            f"Finish `{exercise}` first (the exercise in section {section} of this notebook): {reason}."
        )

    def _render_traceback_(self) -> list[str]:
        """IPython shows what this returns in place of the traceback: just the message."""
        return [f"\x1b[31m{self}\x1b[0m"]


def check_passes(exercise: str, fn) -> str | None:
    """Run ``exercise``'s visible check on ``fn`` quietly; None if it passes, else why not (a few words).

    None, without a check, in a kernel the grader runs without the checks (:data:`ANSWER_KEY_HIDDEN_ENV`).
    """
    try:
        from .checks import CheckFailed
    except ImportError:
        if os.environ.get(ANSWER_KEY_HIDDEN_ENV) == "1":
            return None
        raise

    if not callable(fn):
        return f"`{exercise}` is not a function"
    try:
        if _passed.get(fn):
            return None
    except TypeError:  # not weak-referenceable (e.g. a functools.partial): check every time
        pass
    check = EXERCISES[exercise].check()
    # The bare check, without checks.guided's wrapper: a cell's silent look at an exercise is not one
    # of the learner's attempts, so it records no progress and earns no hint rung.
    check = getattr(check, "__wrapped__", check)
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check(fn)
    except CheckFailed as failure:
        if "not written yet" in str(failure):
            return "it still raises NotImplementedError"
        return "its check does not pass yet"
    except NotImplementedError:
        return "it still raises NotImplementedError"
    except Exception as error:  # the learner's code crashed inside the check
        return f"its check does not pass yet ({type(error).__name__})"
    with contextlib.suppress(TypeError):
        _passed[fn] = True
    return None


def _global_names(code) -> set[str]:
    """The global names a code object (and the functions defined inside it) refers to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _global_names(const)
    return names


def with_prerequisites(exercises, scope: dict) -> list[str]:
    """``exercises`` and every exercise their functions in ``scope`` call, in teaching order."""
    found: set[str] = set()
    todo = list(exercises)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        code = getattr(scope.get(name), "__code__", None)
        if code is not None:
            todo += [used for used in _global_names(code) if used in EXERCISES and used in scope]
    order = list(EXERCISES)
    return sorted(found, key=order.index)


def needs(*exercises: str, namespace: dict | None = None) -> None:
    """Stop the cell with one line unless every named exercise passes its visible check.

    ``exercises`` are names of exercise functions, looked up in ``namespace`` (by default the
    caller's globals: the notebook's variables). The exercises that the learner's functions call
    are checked too, all in the order the course teaches them, and the first that fails is named:
    with a wrong ``relu``, ``needs("train_sgd")`` names ``relu``, the mistake to fix.
    """
    scope = namespace if namespace is not None else sys._getframe(1).f_globals
    for exercise in exercises:
        if exercise not in EXERCISES:
            raise ValueError(f"needs({exercise!r}): not an exercise of the course")
    for exercise in with_prerequisites(exercises, scope):
        if exercise not in scope:
            raise FinishFirst(exercise, "run its cell (it is not defined yet)")
        reason = check_passes(exercise, scope[exercise])
        if reason:
            raise FinishFirst(exercise, reason)
