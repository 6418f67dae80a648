"""The learner's distribution, ``mnist-keras-course``: pyproject.toml has its metadata.

Only what a notebook imports: ``mnistlib`` without its grader's and maintainers' modules
(``grading/``, ``export/``, ``bench/``, ``authoring.py``: the grader's distribution in
``grader/`` ships those) and the course's student release without ``source/`` (solutions and
hidden tests). setuptools can leave out whole packages but not single modules of a package it
ships, hence this file: it drops ``authoring.py`` (and anything that a stale ``build/`` folder
still holds) from what goes into the wheel.
"""

import os
import shutil
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "grader"))
from split import GRADER_MODULES, kept_modules  # noqa: E402  (grader/split.py: the one list of the split)


class LearnerBuildPy(build_py):
    def run(self):
        if not self.editable_mode:  # files an older build left in build/lib would go into the wheel
            shutil.rmtree(self.build_lib, ignore_errors=True)
        super().run()

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return kept_modules(modules, lambda name: name not in GRADER_MODULES)


setup(cmdclass={"build_py": LearnerBuildPy})
