"""Sharded class grading: `mnistlib grade CLASS --shard I/N` and `mnistlib grade merge`.

A class of 12 learners of notebook 01 (the cheapest to grade: no training, and no TensorFlow in
its sandbox), made from the worked solution, the untouched release and one-bug copies, is graded once as a whole and once as 3 shards run at the
same time (as 3 nodes of a batch scheduler would); the merged CSV must be byte for byte the
single run's, in nbgrader's columns and in Canvas's. The shards run the lines of the guide's Slurm
and Kubernetes scripts (docs/instructor.md, "Grading at scale"), and the merge its block as written.
The split itself, and merge's refusals, are checked without grading. Time: about 2 minutes on
2 busy cores, nearly all of it the two gradings.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from doc_commands import block
from fresh_clone import run_block

from mnistlib.course import COURSE
from mnistlib.grading import command as grading
from mnistlib.grading import shards as grading_shards

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "01-loading-data"
SOLUTION = REPO / "solutions" / f"{ASSIGNMENT}.ipynb"
RELEASE = REPO / "course" / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
#: Points each kind of learner gets: all 3, none, or get_digit's 2 without label_counts's 1.
FULL = {"solution": 3.0, "release": 0.0, "bug": 2.0}


def one_bug(text: str) -> str:
    """The solution counting 11 digits: fails label_counts (1 point), keeps get_digit (2 points)."""
    assert "np.bincount(labels, minlength=10)" in text
    return text.replace("np.bincount(labels, minlength=10)", "np.bincount(labels, minlength=11)")


def make_class(root: Path, n: int = 12) -> Path:
    """``root/submitted/<learner>/01-loading-data/01-loading-data.ipynb`` for ``n`` learners."""
    kinds = ["solution", "release", "bug", "solution"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        target = root / "submitted" / f"learner{i:02d}-{kind}" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(parents=True)
        if kind == "solution":
            shutil.copyfile(SOLUTION, target)
        elif kind == "release":
            shutil.copyfile(RELEASE, target)
        else:
            target.write_text(one_bug(SOLUTION.read_text()))
    return root


DOC = "docs/instructor.md"


def doc_line(heading: str, language: str) -> str:
    """The one ``mnistlib`` line of a scheduler's script in the guide (a block no shell test can run)."""
    text = block(DOC, heading, 0, languages={language}).text
    lines = [line.strip().removeprefix("- ") for line in text.splitlines() if "mnistlib grade" in line]
    assert len(lines) == 1, lines
    return lines[0]


def env_with(**values) -> dict:
    env = {**os.environ, **{k: str(v) for k, v in values.items()}}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # the `mnistlib` command
    return env


def mnistlib(*args, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mnistlib", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def shell(line: str, cwd: Path, **values) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", "-c", line],
        cwd=cwd,
        env=env_with(**values),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=900)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, mnist_idx_dir):
    """The class graded in one run, and as three shards at once run by the guide's own lines.

    Shards 1 and 2 run the Slurm array job's line, shard 3 the Kubernetes Indexed Job's
    (``JOB_COMPLETION_INDEX`` counts from 0); then the guide's "Merging the shards" block, as written.
    """
    work = tmp_path_factory.mktemp("shards")
    course = make_class(work / "course")
    whole = finished(mnistlib("grade", "submitted", "--jobs", "2", "--csv", work / "whole.csv", cwd=course))
    slurm, k8s = doc_line("Slurm array job", "text"), doc_line("Kubernetes Indexed Job", "yaml")
    shards = [shell(slurm, course, SLURM_ARRAY_TASK_ID=i, SLURM_CPUS_PER_TASK=1) for i in (1, 2)]
    shards.append(shell(k8s, course, JOB_COMPLETION_INDEX=2))
    shard_done = [finished(p) for p in shards]
    merged = run_block(block(DOC, "Merging the shards"), course, env_with())
    return course, whole, shard_done, merged


@pytest.mark.slow
def test_three_shards_merge_to_exactly_the_single_run_csv(graded):
    course, whole, shards, merged = graded
    work = course.parent
    assert whole.returncode == 1, whole.stderr  # not everyone has full marks
    for i, done in enumerate(shards, start=1):
        assert done.returncode == 0, done.stderr  # a shard that graded everything succeeded
        assert f"results written to mnistlib-shard-{i}-of-3.json" in done.stdout
    files = sorted(course.glob("mnistlib-shard-*-of-3.json"))
    assert [f.name for f in files] == [f"mnistlib-shard-{i}-of-3.json" for i in (1, 2, 3)]
    graded_by = [json.loads(f.read_text())["jobs"] for f in files]
    assert sorted(sum(graded_by, [])) == sorted(json.loads(files[0].read_text())["all_jobs"])
    assert all(len(jobs) == 4 for jobs in graded_by), "12 equal-cost learners: 4 per shard"
    assert "grades written to grades.csv" in merged.stdout
    assert (course / "grades.csv").read_bytes() == (work / "whole.csv").read_bytes()
    rows = (course / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("assignment,duedate,timestamp,student_id") and len(rows) == 13
    scores = {r.split(",")[3]: float(r.split(",")[9]) for r in rows[1:]}
    assert {s: v for s, v in scores.items()} == {s: FULL[s.rsplit("-", 1)[1]] for s in scores}


@pytest.mark.slow
def test_merged_canvas_csv_has_one_column_per_assignment_and_login_ids(graded):
    course, *_ = graded
    rows = [line.split(",") for line in (course / "canvas-grades.csv").read_text().splitlines()]
    # the guide names notebook 01's existing Canvas assignment, as Canvas's export heads it
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Loading data (123456)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "3"]
    learners = sorted(p.name for p in (course / "submitted").iterdir())
    assert [r[3] for r in rows[2:]] == learners
    assert {r[0]: r[5] for r in rows[2:]} == {s: f"{FULL[s.rsplit('-', 1)[1]]:g}" for s in learners}


@pytest.mark.slow
def test_merge_refuses_duplicates_and_names_missing_shards(graded, tmp_path):
    course, *_ = graded
    one, two, three = sorted(course.glob("mnistlib-shard-*-of-3.json"))
    out = tmp_path / "grades.csv"
    twice = finished(mnistlib("grade", "merge", one, two, two, "--csv", out, cwd=tmp_path))
    assert twice.returncode == 2 and "shard 2/3 is given twice" in twice.stderr
    copy = tmp_path / "copy.json"
    payload = json.loads(one.read_text())
    payload["shard"] = 3  # a file claiming another shard number, with shard 1's learners
    copy.write_text(json.dumps(payload))
    dup = finished(mnistlib("grade", "merge", one, two, copy, "--csv", out, cwd=tmp_path))
    assert dup.returncode == 2 and "is graded in both" in dup.stderr
    missing = finished(mnistlib("grade", "merge", one, three, "--csv", out, cwd=tmp_path))
    assert missing.returncode == 2
    assert "missing shard(s) 2/3" in missing.stderr
    learners_of_two = json.loads(two.read_text())["jobs"]
    assert "4 submission(s) not graded" in missing.stderr and learners_of_two[0] in missing.stderr
    assert not out.exists(), "nothing written when work is missing"
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    bad = finished(mnistlib("grade", "merge", junk, cwd=tmp_path))
    assert bad.returncode == 2 and "junk.json: not a shard results file" in bad.stderr


def test_the_split_is_deterministic_complete_and_balanced_by_cost():
    costs = {"05-training": 14.0, "02-reshaping": 2.0, "09-going-further": 6.0}
    jobs = [
        {"student": f"s{i:02d}", "assignment": a, "path": "x"}
        for i in range(10)
        for a in (["05-training", "02-reshaping"] if i % 3 == 0 else ["02-reshaping", "09-going-further"])
    ]
    shards = grading_shards.split(jobs, 3, costs.get)
    assert sorted(map(str, sum(shards, []))) == sorted(map(str, jobs)), "each job in exactly one shard"
    assert grading_shards.split(list(reversed(jobs)), 3, costs.get) == shards, "input order does not matter"
    for shard in shards:  # a learner's notebooks stay together
        learners = [j["student"] for j in shard]
        assert all(learners.count(s) == 2 for s in learners)
    loads = [sum(costs[j["assignment"]] for j in shard) for shard in shards]
    assert max(loads) - min(loads) <= 16.0, loads  # within one learner's cost
    alphabetical = [jobs[i : i + 7] for i in range(0, 20, 7)]
    alpha_loads = [sum(costs[j["assignment"]] for j in s) for s in alphabetical]
    assert max(loads) - min(loads) < max(alpha_loads) - min(alpha_loads)
    real = [{"student": "a", "assignment": a, "path": "x"} for a in grading.course_assignments(COURSE)]
    assert grading_shards.select(real, "1/1", lambda a: grading.grading_cost(COURSE, a))[2] == sorted(
        real, key=lambda j: j["assignment"]
    )


@pytest.mark.parametrize("text", ["3", "0/3", "4/3", "a/b", "1/0"])
def test_a_wrong_shard_is_named(text, tmp_path):
    cls = make_class(tmp_path / "class", n=1)
    done = finished(mnistlib("grade", cls, "--shard", text, cwd=tmp_path))
    assert done.returncode == 2 and f"--shard {text}" in done.stderr.replace("'", "")
    assert list(tmp_path.glob("mnistlib-shard-*")) == []
