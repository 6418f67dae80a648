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

What a learner sees of a failed check is its message only, verdict first (in IPython and Jupyter:
:meth:`CheckFailed._render_traceback_`), in the style of :func:`mnistlib.needs`: the frames of
this package say nothing to a learner. They are there on request: ``%tb`` in the next cell prints
the whole traceback, and ``MNISTLIB_TRACEBACK=full`` in the environment (for instructors and
maintainers) shows it every time. While nbgrader executes a notebook the traceback is IPython's
usual one: grading reads the cell's line from it (:mod:`mnistlib.grading.regions`), and its
feedback shows ``CheckFailed: <message>`` as before. When the learner's own code raises inside a
check, the traceback keeps the learner's frames and drops the check's.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..exercises import EXERCISES

#: ``MNISTLIB_TRACEBACK=full``: show failed checks with IPython's whole traceback, library frames included.
TRACEBACK_ENV = "MNISTLIB_TRACEBACK"
_PACKAGE = str(Path(__file__).resolve().parent.parent)  # mnistlib's folder: frames in it are the library's


def _full_traceback_wanted() -> bool:
    """True when the whole traceback is asked for: ``%tb``, ``MNISTLIB_TRACEBACK=full``, or nbgrader."""
    if os.environ.get(TRACEBACK_ENV, "").strip().lower() == "full" or os.environ.get("NBGRADER_EXECUTION"):
        return True
    frame = sys._getframe(1)
    while frame is not None:  # %tb (IPython's `tb` magic) asks for the last traceback again
        code = frame.f_code
        if code.co_name == "tb" and code.co_filename.replace("\\", "/").endswith("core/magics/execution.py"):
            return True
        frame = frame.f_back
    return False


class CheckFailed(AssertionError):
    """A check found a mistake; the message is meant for the learner.

    In IPython and Jupyter it is shown as its message only, the verdict on the first line (see the
    module's docstring for how to see the whole traceback).

    ``mistake`` names the diagnosis, stable across wordings of the hint: ``"not-scaled"`` where
    :func:`fail` raised it, ``"flatten_images/not-scaled"`` once :func:`guided` has added the
    exercise; None when the check does not know what went wrong. The grader's class report
    (:mod:`mnistlib.grading.report`) counts learners by it.
    """

    #: The exercise whose check failed (set by :func:`guided`); None for a check called on its own.
    exercise: str | None = None
    mistake: str | None = None

    def message_lines(self) -> list[str]:
        """The verdict (which exercise, and that it does not pass yet), then the message's lines."""
        lines = str(self).strip("\n").splitlines()
        if lines and "not written yet" in lines[0]:  # call()'s message is a verdict already
            return [f"\u2718 {lines[0].strip()}", *lines[1:]]
        who = f"`{self.exercise}`" if self.exercise else "your function"
        return [f"\u2718 {who} does not pass its check yet:", *lines]

    def _render_traceback_(self) -> list[str]:
        """IPython shows what this returns in place of the traceback: the verdict, then the message."""
        if _full_traceback_wanted():
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None:
                return shell.InteractiveTB.structured_traceback(type(self), self, self.__traceback__)
        verdict, *rest = self.message_lines()
        return [f"\x1b[31m{verdict}\x1b[0m", *rest]


def _learner_frames(traceback):
    """``traceback`` from its first frame outside this package (the learner's code); None if none."""
    while traceback is not None and traceback.tb_frame.f_code.co_filename.startswith(_PACKAGE):
        traceback = traceback.tb_next
    return traceback


class ArgumentChanged(CheckFailed):
    """The grader's bridge found that a learner's function changed its ``argument`` (a position
    from 0, or a keyword's name) in place in a way it cannot hand back to the test exactly
    (``change``: how, in words). :func:`call` reports it as any in-place change it sees itself."""

    def __init__(self, argument: int | str, change: str):
        self.argument, self.change = argument, change
        position = f"argument {argument + 1}" if isinstance(argument, int) else f"argument {argument}="
        super().__init__(
            f"\n  expected: the function to leave the arguments it is given unchanged"
            f"\n  got:      it changed its {position} in place ({change})"
            f"\n  hint:     {IN_PLACE_HINT}"
        )


def guided(check: Callable) -> Callable:
    """Wrap a ``check_<exercise>`` so that it records its outcome and deepens its hints.

    Neither the recording nor the hints can change whether the check passes: a problem
    with the progress file becomes a one-line note.
    """
    exercise = check.__name__.removeprefix("check_")

    @functools.wraps(check)
    def run(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841 (IPython leaves this frame out of tracebacks)
        from .. import hints, progress

        known = EXERCISES.get(exercise)
        notebook = known.notebook if known else None
        try:
            result = check(*args, **kwargs)
        except CheckFailed as failure:
            failure.mistake = qualified_mistake(exercise, failure.mistake)
            progress.record_check(exercise, False, str(failure), notebook)
            more = hints.after_failure(exercise)
            if more:
                failure.args = (str(failure) + more, *failure.args[1:])
            if failure.exercise is None:
                failure.exercise = exercise
            raise
        except Exception as error:  # the learner's code raised: a failure too
            progress.record_check(exercise, False, f"{type(error).__name__}: {error}", notebook)
            more = hints.after_failure(exercise)
            if more and hasattr(error, "add_note"):
                error.add_note(more.strip("\n"))
            theirs = None if _full_traceback_wanted() else _learner_frames(error.__traceback__)
            if theirs is not None:  # show the learner's frames, not the check's that called them
                raise error.with_traceback(theirs)  # noqa: B904 (the same error, re-raised)
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


IN_PLACE_HINT = (
    "work on a copy or build a new array: x.copy(), x.reshape(...), x.astype(...) and x / 255 make new "
    "arrays, while x[...] = ..., x += ..., x.shape = ..., np.random.shuffle(x) and out=x change the "
    "caller's array, which it still needs"
)

#: For the exercises that turn a stack of images into a new array (flatten_images, add_channel_axis).
IN_PLACE_IMAGES = (
    "your function changed the images in place (e.g. images.shape = ..., images.resize, or writing "
    "into images[...]). Work on a new array: reshape(...) and astype(...) return one"
)


def call(fn, *args, name: str | None = None, in_place_hint: str | None = None, **kwargs):
    """Call the learner's function; turn the "not written yet" case into a clear message.

    Every argument made of data (arrays, and lists, tuples and dicts of them) is copied before the
    call and compared afterwards, shape, dtype and bytes: a function that changes one in place
    fails here, with ``in_place_hint`` (or a general one). So a check may compute what it expects
    from its arguments before or after the call alike, and none can be fooled by a function that
    writes its answer into them. (Random generators and Keras models are meant to change.)
    """
    name = name or getattr(fn, "__name__", "your function")
    before = [(position, value, _snapshot(value)) for position, value in _arguments(args, kwargs)]
    refused = None
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError:
        failure = CheckFailed(
            f"\n  {name} is not written yet: replace `raise NotImplementedError()` with your code."
        )
        failure.mistake = NOT_WRITTEN
        raise failure from None
    except ArgumentChanged as error:  # (graded) a change the grader cannot hand back: as if seen here
        refused = error
    if refused is not None:
        keys = [*range(len(args)), *kwargs]
        positions = [position for position, _ in _arguments(args, kwargs)]
        position = positions[keys.index(refused.argument)] if refused.argument in keys else "argument"
        fail(
            f"{name} to leave the arguments it is given unchanged",
            f"it changed its {position} in place ({refused.change})",
            in_place_hint or IN_PLACE_HINT,
            mistake="changed-argument-shape",
        )
    for position, value, snapshot in before:
        change = _change(value, snapshot)
        if change:
            fail(
                f"{name} to leave the arguments it is given unchanged",
                f"it changed its {position} in place ({change})",
                in_place_hint or IN_PLACE_HINT,
                mistake="changed-argument",
            )
    return _plain(result)


def _plain(value, depth: int = 0):
    """``value`` with every ndarray subclass in it (also in lists, tuples and dicts) as a plain ndarray.

    A check judges data: a subclass's own methods (an ``__eq__`` or ``__array_function__`` that
    lies) must not steer it. The grader's bridge hands the checks the same plain data, so the notebook
    and the grader give the same message (tests/grading/test_differential.py).
    """
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        return np.ndarray.view(value, np.ndarray)  # the unbound base method: a subclass cannot override it
    if depth < 20 and type(value) in (list, tuple):
        items = [_plain(item, depth + 1) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if depth < 20 and type(value) is dict and any(isinstance(v, np.ndarray) for v in value.values()):
        plain = {key: _plain(item, depth + 1) for key, item in value.items()}
        return value if all(plain[k] is value[k] for k in value) else plain
    return value


def _arguments(args: tuple, kwargs: dict):
    ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
    for index, value in enumerate(args):
        yield f"{ordinals[index] if index < len(ordinals) else f'#{index + 1}'} argument", value
    for key, value in kwargs.items():
        yield f"argument {key}=", value


def _snapshot(value):
    """An independent copy of ``value``'s data (None for what may change or cannot)."""
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if type(value) in (list, tuple):
        return type(value)(_snapshot(item) for item in value)
    if type(value) is dict:
        return {key: _snapshot(item) for key, item in value.items()}
    if value is None or isinstance(value, int | float | complex | str | bytes | np.generic):
        return _Value(value)  # immutable itself; inside a list or dict it may be replaced
    return None


class _Value(NamedTuple):
    value: Any


def _change(value, snapshot, where: str = "") -> str:
    """How ``value`` differs from its snapshot, in words ("" when it does not)."""
    if isinstance(snapshot, _Value):
        same = value is snapshot.value or type(value) is type(snapshot.value) and value == snapshot.value
        return "" if same else f"{where or 'it'} went from {snapshot.value!r} to {describe(value)}"
    if isinstance(snapshot, np.ndarray):
        subject = f"the entry {where}" if where else "the array"
        if not isinstance(value, np.ndarray):
            return f"{subject} became {describe(value)}"
        if value.shape != snapshot.shape:
            return f"the shape of {subject} went from {snapshot.shape} to {value.shape}"
        if value.dtype != snapshot.dtype:
            return f"the dtype of {subject} went from {snapshot.dtype} to {value.dtype}"
        if value.tobytes() != snapshot.tobytes():
            now, was = (np.frombuffer(a.tobytes(), np.uint8).reshape(a.size, -1) for a in (value, snapshot))
            changed = int(np.count_nonzero((now != was).any(axis=1)))
            return f"{changed} of the {value.size} values in {subject} were changed"
        return ""
    if isinstance(snapshot, list | tuple):
        if type(value) is not type(snapshot) or len(value) != len(snapshot):
            return f"{where or 'the list'} itself changed"
        for index, (item, saved) in enumerate(zip(value, snapshot, strict=True)):
            found = _change(item, saved, f"{where}[{index}]")
            if found:
                return found
        return ""
    if isinstance(snapshot, dict):
        if type(value) is not dict or set(value) != set(snapshot):
            return f"the keys of {where or 'the dict'} changed"
        for key, saved in snapshot.items():
            found = _change(value[key], saved, f"{where}[{key!r}]")
            if found:
                return found
    return ""


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
