"""The grader's (instructor's) distribution, ``mnist-keras-course-grader``: see pyproject.toml here.

It ships the modules of ``../mnistlib`` and ``../course`` that the learner's distribution leaves
out (grader/split.py), into the same ``mnistlib`` package, and needs the learner's distribution
at exactly its own version (one version: ``mnistlib.__version__``).
"""

import os
import re
import shutil
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from split import GRADER_MODULES, kept_modules  # noqa: E402

with open(os.path.join(HERE, "..", "mnistlib", "__init__.py"), encoding="utf-8") as init:
    VERSION = re.search(r'^__version__ = "([^"]+)"', init.read(), re.MULTILINE).group(1)

#: The learner's packages this distribution adds single modules to (their other modules are the learner's).
SHARED_PACKAGES = {"mnistlib", "mnistlib.course_files"}


class GraderBuildPy(build_py):
    def run(self):
        if not self.editable_mode:
            shutil.rmtree(self.build_lib, ignore_errors=True)
        super().run()

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        if package not in SHARED_PACKAGES:
            return modules
        return kept_modules(modules, lambda name: name in GRADER_MODULES)


setup(
    version=VERSION,
    install_requires=[
        f"mnist-keras-course=={VERSION}",  # the learner's package, at this very version
        "nbgrader>=0.9.6",
        "jinja2>=3.1",  # the class report's page and the notebooks' figure placeholders (mnistlib.figures)
        "psutil>=7.0",  # memory limits and peak-memory measurement in grading and benchmarks
    ],
    cmdclass={"build_py": GraderBuildPy},
)
