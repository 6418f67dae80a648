"""mnistlib: the helper library of the mnist-keras-course.

* :func:`load_mnist` -- MNIST from a verified local cache, fetched on first use.
* :mod:`mnistlib.plots` -- the pictures the notebooks draw.
* :mod:`mnistlib.checks` -- the learner-facing checks behind the exercises.
* :func:`hint` -- the next rung of help for an exercise: ``hint("flatten_images")``.
* :mod:`mnistlib.progress` -- where am I: the course map (``mnistlib progress``).
* :func:`needs` -- one line ("finish `relu` first") instead of a follow-on error.

Importing mnistlib also quiets TensorFlow's C++ log (oneDNN and CUDA notices)
for anything imported after it, unless ``TF_CPP_MIN_LOG_LEVEL`` is set. The level
is 3, errors included: on a machine with CUDA libraries but no GPU, TensorFlow's
first operation logs "failed call to cuInit" as an error, which means nothing to
a learner, and under nbgrader any text on a test cell's stderr costs its points.
Real failures still raise Python exceptions.
"""

import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__all__ = ["FinishFirst", "MNISTDataError", "hint", "is_quick", "load_mnist", "needs", "setup_notebook"]
__version__ = "0.1.0"  # the package version: pyproject.toml reads it from here

# Where each name of __all__ lives. They are imported on first use, so that importing a small
# module such as mnistlib.grading.kernel (which starts every grading kernel) skips NumPy.
_HOMES = {
    "MNISTDataError": "data",
    "load_mnist": "data",
    "setup_notebook": "notebook",
    "is_quick": "data.quick",
    "hint": "hints",
    "needs": "prerequisites",
    "FinishFirst": "prerequisites",
}


def __getattr__(name: str):
    if name in _HOMES:
        value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mnistlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
