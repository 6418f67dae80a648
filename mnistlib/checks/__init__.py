"""Learner-facing checks behind the course's exercises.

Each notebook's exercises have a module here (``mnistlib.checks.loading_data``
for notebook 01, and so on) with one ``check_<function>(fn)`` per exercise: the
*visible* tests a learner runs. They call the learner's function on small,
fast inputs and, when something is off, raise :class:`CheckFailed` with a
message that says what was expected, what came back and the likely mistake.
A passing check prints one line saying what was verified.

The *hidden* tests live only in the instructor source notebooks (between
nbgrader's ``### BEGIN HIDDEN TESTS`` markers) and use the same helpers below.

Every ``check_<function>`` is wrapped by :func:`guided`: each run is recorded in the learner's
progress file (:mod:`mnistlib.progress`), and a check that keeps failing in the same kernel adds
deeper hints to its message (:mod:`mnistlib.hints`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """A check found a mistake; the message is meant for the learner.

    ``mistake`` names the diagnosis, stable across wordings of the hint: ``"not-scaled"`` where
    :func:`fail` raised it, ``"flatten_images/not-scaled"`` once :func:`guided` has added the
    exercise; None when the check does not know what went wrong. The grader's class report
    (:mod:`mnistlib.grading.report`) counts learners by it.
    """

    mistake: str | None = None


def guided(check: Callable) -> Callable:
    """Wrap a ``check_<exercise>`` so that it records its outcome and deepens its hints.

    Neither the recording nor the hints can change whether the check passes: a problem
    with the progress file becomes a one-line note.
    """
    exercise = check.__name__.removeprefix("check_")

    @functools.wraps(check)
    def run(*args, **kwargs):
        from .. import hints, progress

        notebook = progress.NOTEBOOK_OF_MODULE.get(check.__module__.rsplit(".", 1)[-1])
        try:
            result = check(*args, **kwargs)
        except CheckFailed as failure:
            failure.mistake = qualified_mistake(exercise, failure.mistake)
            progress.record_check(exercise, False, str(failure), notebook)
            more = hints.after_failure(exercise)
            if more:
                failure.args = (str(failure) + more, *failure.args[1:])
            raise
        except Exception as error:  # the learner's code raised: a failure too
            progress.record_check(exercise, False, f"{type(error).__name__}: {error}", notebook)
            more = hints.after_failure(exercise)
            if more and hasattr(error, "add_note"):
                error.add_note(more.strip("\n"))
            raise
        progress.record_check(exercise, True, "", notebook)
        hints.after_pass(exercise)
        return result

    return run


def qualified_mistake(exercise: str, mistake: str | None) -> str | None:
    """``"not-scaled"`` -> ``"flatten_images/not-scaled"``; an id with its exercise, or None, as it is."""
    return f"{exercise}/{mistake}" if mistake and "/" not in mistake else mistake


def fail(expected: str, got: str, hint: str | None = None, *, mistake: str | None = None) -> None:
    """Raise :class:`CheckFailed` with the standard three-part message.

    ``mistake`` is the diagnosis's stable id within the exercise (``"not-scaled"``, lower-case words
    joined by ``-``); every call with a hint names one (tests/checks/test_mistakes.py).
    """
    message = f"\n  expected: {expected}\n  got:      {got}"
    if hint:
        message += f"\n  hint:     {hint}"
    failure = CheckFailed(message)
    failure.mistake = mistake
    raise failure


def describe(value: Any) -> str:
    """A short description of a value for messages: type, shape and dtype for arrays."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}, dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


#: The mistake id of an exercise whose function still raises NotImplementedError.
NOT_WRITTEN = "not-written"


def call(fn, *args, name: str | None = None, **kwargs):
    """Call the learner's function; turn the "not written yet" case into a clear message."""
    name = name or getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        failure = CheckFailed(
            f"\n  {name} is not written yet: replace `raise NotImplementedError()` with your code."
        )
        failure.mistake = NOT_WRITTEN
        raise failure from None


def expect_array(
    got: Any, *, shape: tuple | None = None, dtype: Any = None, what: str = "the result"
) -> np.ndarray:
    """Check that ``got`` is a numpy array with the given shape and dtype; return it."""
    if not isinstance(got, np.ndarray):
        fail(
            f"{what} as a numpy array",
            describe(got),
            "build the result with numpy functions",
            mistake="not-an-array",
        )
    if shape is not None and got.shape != tuple(shape):
        fail(f"{what} with shape {tuple(shape)}", f"shape {got.shape}")
    if dtype is not None and got.dtype != np.dtype(dtype):
        fail(f"{what} with dtype {np.dtype(dtype)}", f"dtype {got.dtype}")
    return got


def expect_equal(
    got: Any, expected: Any, *, what: str = "the result", hint: str | None = None, mistake: str | None = None
) -> None:
    """Exact equality (arrays compared element-wise, shapes included)."""
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        got_a, exp_a = np.asarray(got), np.asarray(expected)
        if got_a.shape == exp_a.shape and np.array_equal(got_a, exp_a):
            return
        fail(f"{what} = {_preview(exp_a)}", _preview(got_a), hint, mistake=mistake)
    elif got != expected:
        fail(f"{what} = {expected!r}", repr(got), hint, mistake=mistake)


def expect_close(
    got: Any,
    expected: Any,
    *,
    what: str = "the result",
    hint: str | None = None,
    mistake: str | None = None,
    rtol=1e-5,
    atol=1e-6,
) -> None:
    """Numerical closeness, shapes included."""
    got_a, exp_a = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got_a.shape != exp_a.shape:
        fail(f"{what} with shape {exp_a.shape}", f"shape {got_a.shape}", hint, mistake=mistake)
    if not np.allclose(got_a, exp_a, rtol=rtol, atol=atol):
        worst = np.unravel_index(np.argmax(np.abs(got_a - exp_a)), exp_a.shape) if exp_a.ndim else ()
        fail(
            f"{what} = {_preview(exp_a)}",
            f"{_preview(got_a)} (largest difference at index {tuple(int(i) for i in worst)})",
            hint,
            mistake=mistake,
        )


def passed(message: str) -> None:
    """Print the one-line success message of a check."""
    print(f"\u2714 {message}")


def _preview(array: np.ndarray, limit: int = 8) -> str:
    flat = array.ravel()
    body = np.array2string(flat[:limit], precision=4, separator=", ")
    more = f" ... ({flat.size} values, shape {array.shape})" if flat.size > limit else ""
    return body + more
