"""Right answers that also change an argument in place, made from any exercise's reference.

``in_place_variant(reference, kind)`` returns a function that computes the reference's answer, then
changes the first array among its arguments (or among the values of a dict or list argument) in
one of the ways numpy allows (``KINDS``). Every exercise's contract leaves its arrays unchanged, so each
variant must fail its test cell, with the same verdict and message in the learner's own kernel and
through the grader (tests/grading/test_differential.py). Importable in both processes.
"""

from __future__ import annotations

import functools

import numpy as np


def _bump(array: np.ndarray) -> None:
    """Change every value of ``array`` through ``out=``."""
    if array.dtype == bool:
        np.logical_not(array, out=array)
    else:
        np.add(array, 1, out=array, casting="unsafe")


_SWAP = {"u": "i", "i": "u", "f": "i", "b": "u"}

KINDS = {
    "shape reassigned": lambda a: setattr(a, "shape", (-1,) if a.ndim > 1 else (1, -1)),
    "dtype reassigned": lambda a: setattr(a, "dtype", np.dtype(f"{_SWAP[a.dtype.kind]}{a.itemsize}")),
    "resized": lambda a: a.resize(a.size + 3, refcheck=False),
    "out= write": _bump,
    "written through a view": lambda a: _bump(a.reshape(-1)[-1:]),
    "shuffled in place": lambda a: np.random.default_rng(0).shuffle(a.reshape(-1)),
}


def _first_array(args: tuple, kwargs: dict) -> np.ndarray | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, np.ndarray) and value.size:
            return value
        inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for item in inner:
            if isinstance(item, np.ndarray) and item.size:
                return item
    return None


def in_place_variant(reference, kind: str):
    """``reference``'s answer, then the first array argument changed by ``KINDS[kind]``."""

    @functools.wraps(reference)
    def variant(*args, **kwargs):
        result = reference(*args, **kwargs)
        result = result.copy() if isinstance(result, np.ndarray) else result
        array = _first_array(args, kwargs)
        if array is not None:
            KINDS[kind](array)
        return result

    return variant
