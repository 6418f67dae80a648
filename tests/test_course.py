"""Where mnistlib finds the course: the package mnistlib.course_files, through importlib.resources.

In this (editable) install it must be the checkout's course/ folder, so the tests, ``make generate``
and ``mnistlib bench`` work on the files one edits; an installed wheel is tested by test_wheel.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mnistlib import bench, course
from mnistlib.grading import command as grading

REPO = Path(__file__).resolve().parent.parent


def test_the_editable_install_finds_the_checkouts_course_through_importlib_resources():
    from importlib import resources

    assert resources.files("mnistlib.course_files") == REPO / "course"
    assert course.COURSE == grading.COURSE == REPO / "course"
    assert course.checkout() == REPO and course.SOLUTIONS == REPO / "solutions"
    assert bench.REPORT == REPO / "docs" / "benchmarks.md"


def test_a_mnistlib_without_its_course_files_says_how_to_fix_it(tmp_path):
    # mnistlib/ alone on sys.path, without site (so no editable finder): an install made before
    # the course was packaged looks like this
    (tmp_path / "mnistlib").symlink_to(REPO / "mnistlib")
    probe = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import mnistlib.course"
    done = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert (
        "CourseFilesMissing: mnistlib's course files (mnistlib.course_files) are not installed" in done.stderr
    )
    assert "pip install -e ." in done.stderr


def test_copy_course_gives_an_nbgrader_root_and_keeps_an_instructors_edits(tmp_path):
    dest = tmp_path / "my-course"
    copied, kept = course.copy_course(dest)
    ids = course.assignment_ids()
    expected = {
        Path("nbgrader_config.py"),
        Path("source", "figures.json"),
    }  # nbgrader fills the figures from it
    expected |= {Path(folder, a, f"{a}.ipynb") for folder in ("source", "release") for a in ids}
    assert {p.relative_to(dest) for p in copied} == expected and kept == []
    assert course.assignment_ids(dest) == ids
    config = dest / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.Execute.timeout = 30  # mine\n")
    copied, kept = course.copy_course(dest)
    assert copied == [] and len(kept) == len(expected)
    assert config.read_text().endswith("# mine\n")
