"""mnistlib: the helper library of the mnist-keras-course.

* :func:`load_mnist` -- MNIST from a verified local cache, fetched on first use.
* :mod:`mnistlib.plots` -- the pictures the notebooks draw.
* :mod:`mnistlib.checks` -- the learner-facing checks behind the exercises.

Importing mnistlib also quiets TensorFlow's C++ start-up notices (oneDNN,
CUDA) for anything imported after it, unless ``TF_CPP_MIN_LOG_LEVEL`` is set.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .data import MNISTDataError, load_mnist  # noqa: E402
from .notebook import setup_notebook  # noqa: E402
from .quick import is_quick  # noqa: E402

__all__ = ["MNISTDataError", "is_quick", "load_mnist", "setup_notebook"]
__version__ = "0.1.0"
