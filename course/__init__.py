"""The course as package data: installed, this folder is ``mnistlib.course_files``.

pyproject.toml maps it there (``package-dir``), so the wheel carries ``nbgrader_config.py``,
``source/`` and ``release/``, and ``mnistlib.course.course_folder()`` finds them through
importlib.resources in an installed package and in an editable install of a checkout alike.
Nothing here is meant to be imported by hand.
"""
