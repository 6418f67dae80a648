"""Hints that deepen: two more rungs of help for every exercise, beyond a check's own message.

A failing check names the likely mistake. When the same check keeps failing in the same
kernel, it adds more help to its message: after the 2nd failure the first rung (the idea,
and the section of the notebook that explains it), after the 4th the second rung (a concrete
nudge: the function to look at, a smaller example to try). ``hint("flatten_images")`` (also
``from mnistlib import hint``) prints the next rung on request. No rung gives the answer.

The hint text is in each exercise's record (:data:`mnistlib.exercises.EXERCISES`: ``concept`` and
``nudge``), with the exercise's other facts.
"""

from __future__ import annotations

import difflib
import textwrap

from .exercises import EXERCISES, Exercise

__all__ = ["hint"]

#: After this many failures of the same check in one kernel, rung 1, then rung 2, is shown.
FAILURES_FOR_RUNG = (2, 4)


def rung_text(exercise: Exercise, level: int) -> str:
    """Rung ``level`` of ``exercise``'s hints: 1 is the idea and where to read again, 2 the nudge."""
    if level == 1:
        return f'{exercise.concept} Read again: "{exercise.explained_in}" in {exercise.notebook}.'
    return exercise.nudge


_failures: dict[str, int] = {}  # failures of each check in this kernel, since it last passed
_level: dict[str, int] = {}  # rungs revealed so far in this kernel (by failures or by hint())
_stuck: list[str] = []  # the exercise whose check failed last in this kernel (none once it passes)


def reset() -> None:
    """Forget this kernel's failure counts and revealed rungs (as after a kernel restart)."""
    _failures.clear()
    _level.clear()
    _stuck.clear()


def format_rung(exercise: str, level: int) -> str:
    """Rung ``level`` (1 or 2) of ``exercise``, as lines that line up with a check's message."""
    label = "idea:" if level == 1 else "try:"
    head = f"  {label:<10}"
    body = f"(more help {level} of {len(FAILURES_FOR_RUNG)}) {rung_text(EXERCISES[exercise], level)}"
    return textwrap.fill(
        body,
        width=108,
        initial_indent=head,
        subsequent_indent=" " * len(head),
        break_on_hyphens=False,
        break_long_words=False,
    )


def after_failure(exercise: str) -> str:
    """Count a failure of ``exercise``'s check; return the rungs it has earned ("" for none)."""
    if exercise not in EXERCISES:
        return ""
    _stuck[:] = [exercise]
    count = _failures[exercise] = _failures.get(exercise, 0) + 1
    earned = sum(count >= n for n in FAILURES_FOR_RUNG)
    level = _level[exercise] = max(_level.get(exercise, 0), earned)
    return "".join("\n" + format_rung(exercise, n) for n in range(1, level + 1))


def after_pass(exercise: str) -> None:
    """A passing check starts its failure count again."""
    _failures.pop(exercise, None)
    if exercise in _stuck:
        _stuck.clear()


def stuck_on() -> str | None:
    """The exercise a learner is stuck on: the last check that failed in this kernel and has not
    passed since; else the first exercise, in teaching order, that the progress file has failing."""
    if _stuck:
        return _stuck[0]
    from . import progress

    try:
        path = progress.progress_path() if progress.recording() else None
        data = progress.load(path) if path is not None else progress.empty()
    except Exception:
        return None
    return next((name for name in EXERCISES if progress.state(data, name)[0] == "failing"), None)


def _name(exercise) -> str:
    name = exercise if isinstance(exercise, str) else getattr(exercise, "__name__", str(exercise))
    return name.strip().removeprefix("check_")


def hint(exercise=None) -> None:
    """Print the next rung of help for an exercise: ``hint("flatten_images")`` or ``hint(flatten_images)``.

    Without an argument, for the exercise you are stuck on (:func:`stuck_on`).
    """
    if exercise is None:
        exercise = stuck_on()
        if exercise is None:
            print(
                "No check has failed yet, so there is nothing to help with: name the exercise you want "
                'help with, for example mnistlib.hint("get_digit").'
            )
            return
    name = _name(exercise)
    if name not in EXERCISES:
        close = difflib.get_close_matches(name, list(EXERCISES), n=1, cutoff=0.6)
        if close:
            print(f'There are no hints for {name!r}, no exercise has that name. Did you mean "{close[0]}"?')
        else:
            print(
                f"There are no hints for {name!r}, no exercise has that name. The exercises are: {', '.join(EXERCISES)}."
            )
        return
    level = _level.get(name, 0)
    if level >= len(FAILURES_FOR_RUNG):
        print(f"That was all the help there is for {name}; here it is again.")
        print("\n".join(format_rung(name, n) for n in range(1, level + 1)))
        return
    _level[name] = level + 1
    print(f"{name}:\n{format_rung(name, level + 1)}")
