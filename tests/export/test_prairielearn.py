"""`mnistlib export prairielearn`: question folders and grading image, and the entrypoint on real submissions.

One export (notebooks 01 and 02) is built with the real command, as the guide says, in a clone
whose venv section 1 made (``guide_clone``). Each case gets a temporary
``/grade`` (``MNISTLIB_GRADE_ROOT``) holding the question's ``tests/`` as PrairieLearn copies it and
the learner's files in ``student/``; the entrypoint runs with this suite's Python standing in for the
image's (Docker is not available here: the Dockerfile's own steps are checked instead). Every
results.json is checked against a JSON Schema written from PrairieLearn's documentation.

Time (2 cores): about 10 s to export, 50-70 s for the cases, graded at once (three for real: 02's
solution and release, 01 with one bug; the broken submissions are refused in seconds).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from doc_commands import block
from export_roots import (
    DOC,
    fake_bwrap_path,
    release,
    solution,
    start,
    submission,
    valid,
    visible_bug_01,
    wait_all,
)
from fresh_clone import run_block

pytestmark = [pytest.mark.slow, pytest.mark.network]  # network: the wheel's build tools

SCHEMA = "prairielearn-results.schema.json"

CASES = {  # case -> (question's assignment, files uploaded, use the failing bwrap)
    "solution": ("02-reshaping", {"02-reshaping.ipynb": solution("02-reshaping")}, False),
    "release": ("02-reshaping", {"02-reshaping.ipynb": release("02-reshaping")}, False),
    "one-bug-no-sandbox": ("01-loading-data", {"01-loading-data.ipynb": visible_bug_01()}, True),
    "no-notebook": ("02-reshaping", {}, False),
    "several": (
        "02-reshaping",
        {"a.ipynb": solution("02-reshaping"), "b.ipynb": solution("02-reshaping")},
        False,
    ),
    "other-assignment": ("02-reshaping", {"02-reshaping.ipynb": solution("01-loading-data")}, False),
    "not-json": ("02-reshaping", {"02-reshaping.ipynb": "not a notebook at all"}, False),
    "crash": ("damaged-settings", {"02-reshaping.ipynb": solution("02-reshaping")}, False),
}


@pytest.fixture(scope="module")
def exported(guide_clone):
    """The guide's "PrairieLearn" block, run as written in the clone and venv of the guide's section 1."""
    done = run_block(block(DOC, "PrairieLearn"), guide_clone.root, guide_clone.activated())
    return guide_clone.root / "prairielearn-export", done


@pytest.fixture(scope="module")
def graded(exported, tmp_path_factory, mnist_idx_dir):
    out, _ = exported
    processes, roots = {}, {}
    for case, (assignment, files, failing_bwrap) in CASES.items():
        root = tmp_path_factory.mktemp(f"grade-{case}")
        if assignment == "damaged-settings":
            (root / "tests").mkdir()
            shutil.copyfile(
                out / "questions/mnistlib-02-reshaping/tests/entrypoint", root / "tests/entrypoint"
            )
            (root / "tests" / "mnistlib-autograder.json").write_text(
                '{"assignment": "02-reshaping"}'
            )  # no limits
        else:
            shutil.copytree(out / "questions" / f"mnistlib-{assignment}" / "tests", root / "tests")
        (root / "student").mkdir()
        submission(root / "student", files)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNISTLIB_")}
        env.update(
            MNISTLIB_GRADE_ROOT=str(root), MNISTLIB_GRADE_PYTHON=sys.executable, HOME=str(root / "home")
        )
        env["MNISTLIB_DATA"] = str(mnist_idx_dir)  # the image has MNIST baked in; here the suite's copy
        if failing_bwrap:
            env["PATH"] = fake_bwrap_path(root / "fake-bin")
        processes[case] = start(["bash", str(root / "tests" / "entrypoint")], env)
        roots[case] = root
    logs = wait_all(processes)
    return {
        case: (json.loads((roots[case] / "results" / "results.json").read_text()), logs[case])
        for case in CASES
    }


def test_each_question_has_info_html_and_tests(exported):
    out, done = exported
    question = out / "questions" / "mnistlib-02-reshaping"
    assert sorted(p.name for p in (out / "questions").iterdir()) == [
        "mnistlib-01-loading-data",
        "mnistlib-02-reshaping",
    ]
    info = json.loads((question / "info.json").read_text())
    assert info["gradingMethod"] == "External" and info["type"] == "v3"
    assert info["externalGradingOptions"] == {
        "enabled": True,
        "image": "ghcr.io/my-org/mnist-grader:1",
        "entrypoint": "/grade/tests/entrypoint",
        "timeout": 300,
    }
    assert re.fullmatch(r"[0-9a-f-]{36}", info["uuid"])
    other = json.loads((out / "questions" / "mnistlib-01-loading-data" / "info.json").read_text())
    assert other["uuid"] != info["uuid"], "every question its own uuid"
    html = (question / "question.html").read_text()
    assert (
        '<pl-file-upload file-names="02-reshaping.ipynb">' in html and "<pl-external-grader-results>" in html
    )
    assert os.access(question / "tests" / "entrypoint", os.X_OK)
    assert (
        json.loads((question / "tests" / "mnistlib-autograder.json").read_text())["assignment"]
        == "02-reshaping"
    )


def test_the_assessment_holds_each_question_at_its_points_and_the_topic_is_written(exported):
    out, done = exported
    assessment = json.loads((out / "assessment" / "infoAssessment.json").read_text())
    assert assessment["type"] == "Homework" and re.fullmatch(r"[0-9a-f-]{36}", assessment["uuid"])
    assert {"title", "set", "number", "zones"} <= set(assessment)
    (zone,) = assessment["zones"]
    assert zone["questions"] == [
        {"id": "mnistlib-01-loading-data", "autoPoints": 3.0, "maxAutoPoints": 3.0},
        {"id": "mnistlib-02-reshaping", "autoPoints": 2.0, "maxAutoPoints": 2.0},
    ]
    for question in zone["questions"]:  # each id is a question folder of the export
        assert (out / "questions" / question["id"] / "info.json").is_file()
    topic = json.loads((out / "course-topic" / "infoCourse-topic.json").read_text())
    info = json.loads((out / "questions" / "mnistlib-02-reshaping" / "info.json").read_text())
    assert topic["name"] == info["topic"] and {"color", "description"} <= set(topic)
    assert '"topics" list of your infoCourse.json' in done.stdout


@pytest.mark.parametrize(
    "image", ["registry.example.edu/mnist-grader:1", "ghcr.io:443/org/grader:1", "localhost/grader"]
)
def test_an_image_prairielearn_would_not_pull_is_refused(image, tmp_path, mnist_idx_dir):
    env = {**os.environ, "MNISTLIB_DATA": str(mnist_idx_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "mnistlib", "export", "prairielearn", "02-reshaping", "--image", image,
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and f"--image {image}: PrairieLearn pulls grading images only" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_image_folder_has_a_dockerfile_whose_inputs_are_there_and_verified(exported):
    out, _ = exported
    image = out / "image"
    dockerfile = (image / "Dockerfile").read_text()
    assert dockerfile.startswith("# The grading image") and "FROM python:3.12" in dockerfile
    for source in re.findall(r"^COPY (\S+) ", dockerfile, flags=re.M):
        assert (image / source).is_dir(), source
    assert sorted(p.name for p in (image / "wheels").iterdir()) == [  # the learner's and the grader's
        "mnist_keras_course-0.1.0-py3-none-any.whl",
        "mnist_keras_course_grader-0.1.0-py3-none-any.whl",
    ]
    check = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"],
        cwd=image / "mnist",
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0 and check.stdout.count(": OK") == 4, check.stdout
    assert "bubblewrap" in dockerfile and "mnistlib data fetch --from /opt/mnistlib/mnist" in dockerfile


def test_the_entrypoint_passes_shellcheck(exported):
    out, _ = exported
    if shutil.which("shellcheck") is None:
        if os.environ.get("CI"):  # make test installs it: under CI a missing tool is a failure
            pytest.fail("shellcheck is not installed (apt-get install shellcheck)", pytrace=False)
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    entrypoint = out / "questions" / "mnistlib-02-reshaping" / "tests" / "entrypoint"
    done = subprocess.run(["shellcheck", str(entrypoint)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_every_results_json_follows_prairielearns_format(graded):
    for case, (payload, _log) in graded.items():
        valid(payload, SCHEMA)
        assert len(json.dumps(payload)) < 1_000_000, case


def test_the_solution_scores_one_and_the_release_zero(graded):
    solution_result, _ = graded["solution"]
    assert solution_result["gradable"] is True and solution_result["score"] == 1.0
    assert [(t["name"], t["points"], t["max_points"]) for t in solution_result["tests"]] == [
        ("flatten_images", 2.0, 2.0)
    ]
    release_result, _ = graded["release"]
    assert release_result["gradable"] is True and release_result["score"] == 0.0
    assert "not written yet" in release_result["tests"][0]["message"]


def test_one_bug_loses_exactly_that_exercise_even_without_the_sandbox(graded):
    payload, _ = graded["one-bug-no-sandbox"]
    assert [(t["name"], t["points"], t["max_points"]) for t in payload["tests"]] == [
        ("get_digit", 2.0, 2.0),
        ("label_counts", 0.0, 1.0),
    ]
    assert payload["score"] == pytest.approx(2 / 3)
    assert "label_counts" in payload["tests"][1]["message"]
    assert "Graded without the bubblewrap sandbox" in payload["output"]


@pytest.mark.parametrize(
    "case, words",
    [
        ("no-notebook", "No notebook found in your submission"),
        ("several", "Your submission has 2 notebooks (a.ipynb, b.ipynb)"),
        ("other-assignment", "is the notebook of assignment 01-loading-data, not of this one (02-reshaping)"),
        (
            "not-json",
            "02-reshaping.ipynb is not a notebook: its text is not valid JSON (line 1, column",
        ),
        ("crash", "internal problem"),
    ],
)
def test_a_broken_submission_is_not_gradable_and_says_why(graded, case, words):
    payload, _ = graded[case]
    assert payload["gradable"] is False and payload["score"] == 0
    assert words in payload["message"] and payload["format_errors"] == [payload["message"]]


def test_a_missing_python_still_leaves_a_result(exported, tmp_path):
    out, _ = exported
    shutil.copytree(out / "questions" / "mnistlib-02-reshaping" / "tests", tmp_path / "tests")
    env = {
        **os.environ,
        "MNISTLIB_GRADE_ROOT": str(tmp_path),
        "MNISTLIB_GRADE_PYTHON": str(tmp_path / "nope"),
    }
    done = subprocess.run(
        ["bash", str(tmp_path / "tests" / "entrypoint")], env=env, capture_output=True, text=True
    )
    payload = valid(json.loads((tmp_path / "results" / "results.json").read_text()), SCHEMA)
    assert (
        done.returncode == 0
        and payload["gradable"] is False
        and "could not start (exit status 127)" in payload["message"]
    )
