"""Right answers that also change an argument in place, made from any exercise's reference.

``KINDS`` holds, per kind of in-place change numpy allows, one statement that changes the array ``a``.
``in_place_variant(reference, kind)`` returns a function that computes the reference's answer, then
changes the first array among its arguments (or among the values of a dict or list argument) that way;
``variant_source(solution, name, kind)`` writes the same function as answer-cell code, for a learner's
notebook. Every exercise's contract leaves its arrays unchanged, so each variant must fail its test
cell, with the same verdict and message in the learner's own kernel and through the grader
(tests/grading/test_differential.py, tests/grading/test_differential_grading.py).
"""

from __future__ import annotations

import functools
import re
import textwrap

import numpy as np

KINDS = {
    "shape reassigned": "a.shape = (-1,) if a.ndim > 1 else (1, -1)",
    "dtype reassigned": "a.dtype = np.dtype(dict(u='i', i='u', f='i', b='u')[a.dtype.kind] + str(a.itemsize))",
    "resized": "a.resize(a.size + 3, refcheck=False)",
    "out= write": "np.logical_not(a, out=a) if a.dtype == bool else np.add(a, 1, out=a, casting='unsafe')",
    "written through a view": "v = a.reshape(-1)[-1:]; np.add(v, 1, out=v, casting='unsafe')",
    "shuffled in place": "np.random.default_rng(0).shuffle(a.reshape(-1))",
}

_FIRST_ARRAY = """
def _first_array(args, kwargs):
    for value in (*args, *kwargs.values()):
        if isinstance(value, np.ndarray) and value.size:
            return value
        inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for item in inner:
            if isinstance(item, np.ndarray) and item.size:
                return item
    return None
"""

_WRAPPER = """
def {name}(*args, **kwargs):
    result = _right_{name}(*args, **kwargs)
    result = result.copy() if isinstance(result, np.ndarray) else result
    a = _first_array(args, kwargs)
    if a is not None:
        {change}
    return result
"""

_helpers: dict = {"np": np}
exec(_FIRST_ARRAY, _helpers)  # the same helper the notebooks' variants define
_first_array = _helpers["_first_array"]


def in_place_variant(reference, kind: str):
    """``reference``'s answer, then the first array argument changed by ``KINDS[kind]``."""

    @functools.wraps(reference)
    def variant(*args, **kwargs):
        result = reference(*args, **kwargs)
        result = result.copy() if isinstance(result, np.ndarray) else result
        array = _first_array(args, kwargs)
        if array is not None:
            exec(KINDS[kind], {"np": np, "a": array})
        return result

    return variant


def variant_source(solution: str, name: str, kind: str) -> str:
    """Answer-cell code: the solution renamed ``_right_<name>``, and ``name`` as its in-place variant."""
    renamed, count = re.subn(rf"^def {name}\(", f"def _right_{name}(", textwrap.dedent(solution), flags=re.M)
    if count != 1:
        raise ValueError(f"no def {name}( in the solution")
    return renamed + "\n" + _FIRST_ARRAY + _WRAPPER.format(name=name, change=KINDS[kind])
