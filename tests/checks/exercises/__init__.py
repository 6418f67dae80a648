"""Every exercise's record, by name: ``EXERCISES["flatten_images"]`` (see ``checks.harness``).

One module per topic, named as the check module in ``mnistlib.checks`` and the notebook it serves; each
module lists its exercises in ``EXERCISES``, in the notebook's order.
"""

import importlib
import pkgutil

from checks.harness import Exercise

TOPICS = [module.name for module in pkgutil.iter_modules(__path__)]


def _collect() -> dict[str, Exercise]:
    found: dict[str, Exercise] = {}
    for topic in TOPICS:
        for exercise in importlib.import_module(f"{__name__}.{topic}").EXERCISES:
            if exercise.name in found:
                raise ValueError(f"two records for {exercise.name!r}")
            found[exercise.name] = exercise
    return found


EXERCISES = _collect()
