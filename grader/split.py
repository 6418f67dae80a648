"""Where the two distributions part: used by ../setup.py (learner) and setup.py here (grader).

The learner's ``mnist-keras-course`` holds what a notebook imports; the grader's
``mnist-keras-course-grader`` adds, into the same ``mnistlib`` package, the subpackages listed
in each pyproject.toml and the single modules below, which live in packages that the learner's
distribution ships.
"""

#: Modules of the learner's packages that only the grader's distribution ships.
GRADER_MODULES = {
    "mnistlib.authoring",  # course build / check: nbgrader's converters, for a checkout's maintainers
    "mnistlib.figures",  # the notebooks' measured figures, filled in by course build and nbgrader
    "mnistlib.markers",  # nbgrader's solution and hidden-test markers: authoring and grading read them
    "mnistlib.course_files.nbgrader_config",  # the course's nbgrader configuration
}


def kept_modules(modules, keep):
    """The ``(package, module, file)`` entries of setuptools' build_py whose dotted name ``keep`` accepts."""
    return [entry for entry in modules if keep(f"{entry[0]}.{entry[1]}")]
