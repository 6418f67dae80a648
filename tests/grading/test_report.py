"""The class report (`mnistlib grade ... --report`) of a class whose mistakes were planted.

The class (tests/grading/planted.py) is 12 learners: for notebook 02, three who forgot to scale, two
who divided by 256, two who unfolded column by column, one float64, two right answers, one whose
function raises (a failure no check names: ``other``) and one who handed in a file that is not a
notebook (ungradable); four of them also hand in notebook 03, with two mistakes of its own. Each
wrong answer is the source of a named wrong answer of tests/checks/exercises.

The class is graded once per session by one ``mnistlib grade`` run and once as two shards merged,
as an instructor types them; the two reports must agree, and count exactly what was planted.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import difflib
import hashlib
import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, need_browser
from doc_commands import block
from fresh_clone import run_block, run_script
from grading.planted import NOT_A_NOTEBOOK, PLAN, RAISES, RIGHT, write_class, wrong_function
from grading.runs import mnistlib_grade
from test_browser import BLOCKING, axe  # noqa: F401 - axe: the fixture installing axe-core

from mnistlib.checks import CheckFailed
from mnistlib.grading import mistakes as grading_mistakes
from mnistlib.grading import report
from mnistlib.grading.worker import RETRY_NOTE

REPO = Path(__file__).resolve().parents[2]
GUIDE = "docs/instructor.md"
ARTIFACTS = REPO / "test-artifacts"
#: The screenshot docs/instructor.md shows, taken from this class (see test_the_page_in_chromium).
SCREENSHOT = REPO / "docs" / "class-report.png"
LEARNERS = sorted({learner for _, _, answers in PLAN.values() for learner in answers})
#: Report fields that measure this run, not the class: left out when two runs are compared.
TIMING = re.compile(r'(class="(?:num )?seconds">)[^<]*')
#: The one script the page may hold: the package's table sorter, inline.
SORTER = resources.files("mnistlib.grading").joinpath(report.SORTER_FILE).read_text(encoding="utf-8")


#: The guide's section with the report's commands; its blocks are run as written by :func:`planted`.
SECTION = "7. What the class got wrong: the class report"


def _grade(*args, cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mnistlib", "grade", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _done(process: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=1200)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.fixture(scope="session")
def planted(tmp_path_factory, mnist_idx_dir):
    """The planted class graded by the guide's commands: in one run, and as three shards merged.

    In the class folder, the guide's first block (one run; exit status 1, as not everyone has full
    marks); then three shards at once, one worker each, as section 6 runs them; then the guide's
    second block (merge, with and without names).
    """
    work = tmp_path_factory.mktemp("planted-class")
    klass = write_class(work / "class")
    env = {**os.environ, "MNISTLIB_DATA": str(mnist_idx_dir)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # the `mnistlib` command
    one_run = run_script(block(GUIDE, SECTION, 0).text, klass, env, timeout=1200)
    assert one_run.returncode == 1, one_run.stderr  # graded; not everyone has full marks
    one = work / "one"
    one.mkdir()
    for name in ("class-report.html", "class-report.json"):
        (klass / name).rename(one / name)
    shards = [_grade("submitted", "--shard", f"{i}/3", "--jobs", "1", cwd=klass, env=env) for i in (1, 2, 3)]
    for run in map(_done, shards):
        assert run.returncode == 0, run.stderr
    run_block(block(GUIDE, SECTION, 1), klass, env)
    return {
        "class": klass,
        "shards": [json.loads((klass / f"mnistlib-shard-{i}-of-3.json").read_text()) for i in (1, 2, 3)],
        "one": {"html": one / "class-report.html", "json": one / "class-report.json"},
        "merged": {"html": klass / "class-report.html", "json": klass / "class-report.json"},
        "anonymous": {
            "html": klass / "class-report-anonymous.html",
            "json": klass / "class-report-anonymous.json",
        },
    }


def _data(files: dict) -> dict:
    return json.loads(files["json"].read_text())


def _without_timing(data: dict) -> dict:
    """The report without what measures the run rather than the class: seconds, peak memory, and the
    note on a notebook graded twice because a kernel did not start in time on a busy machine."""
    data = copy.deepcopy(data)
    for assignment in data["assignments"]:
        assignment["median_seconds"] = None
        for learner in assignment["learners"]:
            learner["seconds"] = learner["peak_mb"] = None
            learner["notes"] = [n for n in learner["notes"] if n != RETRY_NOTE]
    return data


def _differences(one: dict, other: dict) -> str:
    lines = [json.dumps(d, indent=1, sort_keys=True).splitlines() for d in (one, other)]
    return "\n".join(difflib.unified_diff(*lines, "one run", "merged shards", lineterm="", n=2))


def _expected(assignment: str) -> tuple[dict, list[str], list[str]]:
    """What was planted in ``assignment``: ``{mistake id: learners}``, who answered right, who is ungradable.

    A named wrong answer's id is the one its check gives when called on it here, in this process.
    """
    exercise, module, answers = PLAN[assignment]
    groups: dict[str, list[str]] = {}
    right, ungradable = [], []
    for learner, answer in sorted(answers.items()):
        if answer == RIGHT:
            right.append(learner)
            continue
        if answer == NOT_A_NOTEBOOK:
            ungradable.append(learner)
            continue
        if answer == RAISES:
            mistake = grading_mistakes.OTHER
        else:
            from checks.exercises import EXERCISES

            with pytest.raises(CheckFailed) as failure:
                EXERCISES[exercise].check(wrong_function(module, answer))
            mistake = failure.value.mistake
            assert mistake and mistake.startswith(f"{exercise}/"), (answer, mistake)
        groups.setdefault(mistake, []).append(learner)
    return groups, right, ungradable


# ----------------------------------------------------------------------------- counts


@pytest.mark.slow
@pytest.mark.parametrize("assignment", sorted(PLAN))
def test_the_report_counts_exactly_what_was_planted(planted, assignment):
    data = _data(planted["one"])
    (found,) = [a for a in data["assignments"] if a["id"] == assignment]
    groups, right, ungradable = _expected(assignment)
    (exercise,) = found["exercises"]
    assert exercise["name"] == PLAN[assignment][0]
    assert {m["id"]: sorted(lr["learner"] for lr in m["learners"]) for m in exercise["mistakes"]} == groups
    assert {m["id"]: m["count"] for m in exercise["mistakes"]} == {k: len(v) for k, v in groups.items()}
    assert exercise["earned"] == len(right)
    assert exercise["failed"] == sum(len(v) for v in groups.values())
    assert [u["learner"] for u in found["ungradable"]] == ungradable
    assert found["graded"] == len(PLAN[assignment][2]) - len(ungradable)
    counts = [m["count"] for m in exercise["mistakes"] if m["id"] != grading_mistakes.OTHER]
    assert counts == sorted(counts, reverse=True), "named mistakes, most frequent first"
    assert exercise["section"], "the notebook section that teaches the exercise"
    # each named mistake shows the hint its learners got, the one the check gives
    for mistake in exercise["mistakes"]:
        if mistake["id"] != grading_mistakes.OTHER:
            assert mistake["hints"] and mistake["hints"][0]["count"] == mistake["count"]
            assert all(lr["hint"] == mistake["hints"][0]["text"] for lr in mistake["learners"])


@pytest.mark.slow
def test_a_failure_no_check_names_is_other_grouped_by_its_message(planted):
    data = _data(planted["one"])
    (reshaping,) = [a for a in data["assignments"] if a["id"] == "02-reshaping"]
    (other,) = [m for m in reshaping["exercises"][0]["mistakes"] if m["id"] == grading_mistakes.OTHER]
    assert other["learners"] == [{"learner": "kit", "hint": None, "failed_in": "visible"}]
    assert "RuntimeError: I will finish this later" in other["message"]
    assert (
        reshaping["exercises"][0]["mistakes"][-1] is not None
        and other == reshaping["exercises"][0]["mistakes"][-1]
    )


@pytest.mark.slow
def test_an_ungradable_notebook_is_listed_apart_never_as_a_mistake(planted):
    data = _data(planted["one"])
    (reshaping,) = [a for a in data["assignments"] if a["id"] == "02-reshaping"]
    assert len(reshaping["ungradable"]) == 1
    assert reshaping["ungradable"][0]["learner"] == "lou"
    assert "not valid JSON" in reshaping["ungradable"][0]["reason"]
    in_mistakes = [
        lr["learner"] for e in reshaping["exercises"] for m in e["mistakes"] for lr in m["learners"]
    ]
    assert "lou" not in in_mistakes
    (lou,) = [lr for lr in reshaping["learners"] if lr["learner"] == "lou"]
    assert lou["score"] is None
    page = planted["one"]["html"].read_text()
    ungradable_part = page.split('id="02-reshaping-ungradable"')[1].split("</table>")[0]
    assert '<th scope="row">lou</th>' in ungradable_part


@pytest.mark.slow
def test_the_shards_results_carry_the_mistake_ids(planted):
    """Each failed exercise's ``mistake`` in the results (what --json prints, and the shards' files hold)."""
    graded = {(r["student"], r["assignment"]): r for shard in planted["shards"] for r in shard["results"]}
    assert len(graded) == sum(len(answers) for _, _, answers in PLAN.values())
    (ada,) = graded["ada", "02-reshaping"]["exercises"]
    assert ada["mistake"] == "flatten_images/not-scaled"
    (ivy,) = graded["ivy", "02-reshaping"]["exercises"]
    assert ivy["mistake"] is None  # earned: no mistake
    (kit,) = graded["kit", "02-reshaping"]["exercises"]
    assert kit["mistake"] == grading_mistakes.OTHER
    assert "not valid JSON" in graded["lou", "02-reshaping"]["unreadable"]
    assert all(r["sandbox"] is True for r in graded.values())
    # the peak memory each kernel reported (the file that is not a notebook too: its test cell was restored)
    assert all((r["peak_mb"] or 0) > 50 for r in graded.values()), graded


# ----------------------------------------------------------------------------- one run = merged shards


@pytest.mark.slow
def test_one_run_and_merged_shards_give_the_same_report(planted):
    one, merged = (_without_timing(_data(planted[k])) for k in ("one", "merged"))
    assert one == merged, _differences(one, merged)
    raw = [_data(planted[k]) for k in ("one", "merged")]
    if not any(RETRY_NOTE in lr["notes"] for d in raw for a in d["assignments"] for lr in a["learners"]):
        pages = [TIMING.sub(r"\1", planted[k]["html"].read_text()) for k in ("one", "merged")]
        assert pages[0] == pages[1]


@pytest.mark.slow
def test_the_anonymous_report_names_no_learner(planted):
    data = _data(planted["anonymous"])
    page = planted["anonymous"]["html"].read_text()
    for learner in LEARNERS:
        assert not re.search(rf"\b{learner}\b", page + json.dumps(data)), learner
    assert data["anonymous"] is True and data["learners"] == len(LEARNERS)
    named = _without_timing(_data(planted["merged"]))
    strip = re.compile(r"learner \d+")
    # the same report but for the names: every count, hint and section agrees
    counts = lambda d: [  # noqa: E731
        (a["id"], e["name"], m["id"], m["count"], [h["text"] for h in m["hints"]])
        for a in d["assignments"]
        for e in a["exercises"]
        for m in e["mistakes"]
    ]
    assert counts(_without_timing(data)) == counts(named)
    assert all(strip.fullmatch(lr["learner"]) for a in data["assignments"] for lr in a["learners"])


# ----------------------------------------------------------------------------- the JSON and the page


@pytest.mark.slow
def test_the_json_follows_its_schema(planted):
    schema = report.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for folder in ("one", "merged", "anonymous"):
        jsonschema.validate(_data(planted[folder]), schema)
    broken = _data(planted["one"])
    broken["assignments"][0]["exercises"][0]["mistakes"][0]["id"] = "Not Scaled"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def _scripts(page: str) -> list[str]:
    """Every script of ``page``: its opening tag and its text."""
    return re.findall(r"(<script\b[^>]*>)(.*?)</script>", page, re.IGNORECASE | re.DOTALL)


def _only_the_sorter(page: str) -> None:
    """The page's one script is the table sorter, inline, and its policy lets no other script run."""
    assert _scripts(page) == [("<script>", SORTER)]
    assert page.lower().count("<script") == 1
    assert not re.search(r"<[^>]*\son\w+\s*=", page), "no event handler attribute"
    digest = base64.b64encode(hashlib.sha256(SORTER.encode()).digest()).decode()
    policy = f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    assert f'<meta http-equiv="Content-Security-Policy" content="{policy}">' in page


@pytest.mark.slow
def test_the_page_stands_alone(planted):
    """One file: one inline script (the table sorter), nothing fetched, every figure inline with alt text."""
    page = planted["one"]["html"].read_text()
    _only_the_sorter(page)
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith(("data:", "#")) for s in sources), sources
    images = re.findall(r"<img [^>]*>", page)
    assert len(images) == len(PLAN)  # a score distribution per assignment
    for image in images:
        assert re.search(r'alt="Bar chart of the scores[^"]+"', image), image
    assert "@media print" in page


@contextlib.contextmanager
def _chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _open(browser, page_file: Path, axe, **options):  # noqa: F811 - axe: the fixture's value
    """``page_file`` in a new page, under the page's own Content-Security-Policy: axe-core, when
    installed, comes in as an init script, which the policy does not block."""
    page = browser.new_page(viewport={"width": 1100, "height": 1400}, **options)
    if isinstance(axe, Path):
        page.add_init_script(path=str(axe))
    page.goto(page_file.as_uri())
    return page


def _serious(page, name: str) -> list[dict]:
    """axe-core's serious and critical findings in ``page`` (all its findings go to test-artifacts/name)."""
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))"""
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_text(json.dumps(violations, indent=2) + "\n")
    return [v for v in violations if v["impact"] in BLOCKING]


@pytest.mark.slow
@pytest.mark.browser
def test_the_page_in_chromium(planted, axe):  # noqa: F811 - axe is the fixture imported above
    """Chromium shows each planted mistake with its count; axe-core finds nothing serious."""
    need_browser()
    with _chromium() as browser:
        requests = []
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.on("request", lambda r: requests.append(r.url))
        if isinstance(axe, Path):
            page.add_init_script(path=str(axe))
        page.goto(planted["one"]["html"].as_uri())
        headings = page.locator("h4").all_inner_texts()
        for assignment in PLAN:
            groups, _, _ = _expected(assignment)
            for mistake, learners in groups.items():
                n = len(learners)
                assert f"{mistake}: {n} learner{'s' if n != 1 else ''}" in headings
        assert all(url.startswith(("file:", "data:")) for url in requests), requests
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "class-report.png"))
        if isinstance(axe, Path):
            assert _serious(page, "axe-class-report.json") == []
    if not isinstance(axe, Path):
        pytest.skip(axe)


@pytest.mark.slow
@pytest.mark.browser
def test_the_learner_tables_sort_in_chromium(planted, axe):  # noqa: F811 - axe is the fixture imported above
    """A click, Enter or Space on a column heading sorts a learner table, numbers as numbers, and
    aria-sort tells which way; without JavaScript the page reads the same; axe-core finds nothing serious."""
    need_browser()
    page_file = planted["anonymous"]["html"]
    (reshaping,) = [a for a in _data(planted["anonymous"])["assignments"] if a["id"] == "02-reshaping"]
    written = [lr["learner"] for lr in reshaping["learners"]]  # learner 1, learner 10, ...
    numbered = sorted(written, key=lambda name: int(name.removeprefix("learner ")))
    assert len(numbered) > 10 and numbered != sorted(written)
    with _chromium() as browser:
        plain = _open(browser, page_file, None, java_script_enabled=False)
        assert plain.locator("th button").count() == 0
        page = _open(browser, page_file, axe)
        assert page.locator("main").inner_text() == plain.locator("main").inner_text()
        table = page.locator("table.sortable", has=page.get_by_text("Notebooks of 02-reshaping, by"))

        def heading(name: str):
            return table.locator("thead th", has=page.get_by_role("button", name=name, exact=True))

        def order() -> list[str]:
            return table.locator("tbody th").all_inner_texts()

        heading("Score").locator("button").click()
        by_score = sorted(reshaping["learners"], key=lambda lr: (lr["score"] is None, lr["score"] or 0))
        assert order() == [lr["learner"] for lr in by_score] != written  # not graded: last
        assert heading("Score").get_attribute("aria-sort") == "ascending"

        heading("Learner").locator("button").press("Enter")
        assert order() == numbered  # learner 1, 2, ..., 9, 10, ...: numbers as numbers
        assert heading("Score").get_attribute("aria-sort") is None
        assert heading("Learner").get_attribute("aria-sort") == "ascending"
        heading("Learner").locator("button").press("Space")
        assert order() == numbered[::-1]
        assert heading("Learner").get_attribute("aria-sort") == "descending"
        if isinstance(axe, Path):
            assert _serious(page, "axe-class-report-sorted.json") == []
    if not isinstance(axe, Path):
        pytest.skip(axe)


def test_the_docs_show_the_report_of_this_class():
    """docs/instructor.md shows the screenshot this class's report makes (see test_the_page_in_chromium)."""
    guide = (REPO / "docs" / "instructor.md").read_text()
    assert "](class-report.png)" in guide
    assert SCREENSHOT.is_file() and SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- without grading


def _result(student: str, **exercise) -> dict:
    entry = {"name": "add_one", "grade_id": "test_add_one", "score": 0.0, "max_score": 1.0}
    entry.update({"message": None, "failed_in": None, "mistake": None, **exercise})
    return {
        "student": student,
        "assignment": "toy",
        "path": f"/x/{student}/toy.ipynb",
        "score": entry["score"],
        "max_score": 1.0,
        "exercises": [entry],
        "notes": [],
        "error": None,
        "seconds": 1.0,
    }


def test_other_failures_are_grouped_by_their_message_and_come_after_named_ones(tmp_path):
    results = [
        _result("a", message="the test stopped with ValueError: x", mistake="other"),
        _result("b", message="the test stopped with   ValueError: x", mistake="other"),
        _result("c", message="the test stopped with TypeError: y", mistake="other"),
        _result("d", message="\n  expected: 1\n  got:      2\n  hint:     add one", mistake="add_one/off"),
        _result("e", score=1.0),
        {**_result("f"), "error": "nbgrader could not autograde this notebook: boom", "exercises": []},
        {**_result("g", message="this test did not pass"), "sandbox": False},
    ]
    del results[-1]["exercises"][0]["mistake"]  # results written before mistake ids: "other"
    data = report.build(results, tmp_path)
    jsonschema.validate(data, report.schema())
    (toy,) = data["assignments"]
    (exercise,) = toy["exercises"]
    assert [(m["id"], m["message"], m["count"]) for m in exercise["mistakes"]] == [
        ("add_one/off", None, 1),
        ("other", "the test stopped with ValueError: x", 2),
        ("other", "the test stopped with TypeError: y", 1),
        ("other", "this test did not pass", 1),
    ]
    assert exercise["mistakes"][0]["hints"] == [{"text": "add one", "count": 1}]
    assert (exercise["earned"], exercise["failed"]) == (1, 5)
    assert toy["ungradable"] == [
        {"learner": "f", "reason": "nbgrader could not autograde this notebook: boom"}
    ]
    (g,) = [lr for lr in toy["learners"] if lr["learner"] == "g"]
    assert any("without the sandbox" in note for note in g["notes"])
    page = report.render_html(data)
    assert "add_one/off" in page
    _only_the_sorter(page)
    # a learner's own text (a folder name, an error message) stays text: no second script
    exercise["mistakes"][1]["message"] = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    exercise["mistakes"][1]["learners"][0]["learner"] = "<script>alert(3)</script>"
    _only_the_sorter(report.render_html(data))


def test_the_grader_moves_the_checker_s_mistake_into_the_cell_and_drops_a_forged_one():
    announced = {
        "output_type": "display_data",
        "data": {grading_mistakes.MIME: {"mistake": "f/real"}},
        "metadata": {},
    }
    error = {"output_type": "error", "ename": "CheckFailed", "evalue": "x", "traceback": []}
    cell = {
        "cell_type": "code",
        "metadata": {"nbgrader": {"grade": True, "grade_id": "test_f"}, "mnistlib": {"mistake": "f/forged"}},
        "outputs": [error, announced],
    }
    grading_mistakes.record(cell)
    assert cell["outputs"] == [error]  # nothing of it reaches the feedback
    assert grading_mistakes.of_notebook({"cells": [cell]}) == {"test_f": "f/real"}
    cell["outputs"] = [error]
    grading_mistakes.record(cell)  # the checker named nothing: the learner's copy of the metadata goes
    assert grading_mistakes.of_notebook({"cells": [cell]}) == {}
    assert grading_mistakes.identify(None, "f") == "other"
    assert grading_mistakes.identify("slug", "f") == "f/slug"


def test_a_shard_refuses_to_write_a_report(tmp_path):
    write_class(tmp_path / "class")
    done = mnistlib_grade(tmp_path / "class", "--shard", "1/2", "--report", tmp_path / "r.html")
    assert done.returncode == 2
    assert "mnistlib grade merge" in done.stderr and not (tmp_path / "r.html").exists()


def test_the_grader_keeps_the_kernel_s_peak_memory_not_the_submission_s(tmp_path, monkeypatch):
    """After the last cell the learner's kernel reports its peak; a figure planted in the notebook goes."""
    import nbformat

    from mnistlib.grading import usage
    from mnistlib.grading.preprocessors import GradingExecute

    monkeypatch.chdir(tmp_path)
    notebook = nbformat.v4.new_notebook(metadata={usage.METADATA: {"kernel_peak_mb": 1.0}})
    notebook.cells = [
        nbformat.v4.new_code_cell("block = bytearray(300 * 1024 * 1024)  # 300 MB, touched"),
        nbformat.v4.new_markdown_cell("The last cell need not be code."),
    ]
    GradingExecute(sandbox=False, warm_kernels=False, timeout=60).preprocess(
        notebook, {"metadata": {"path": "."}}
    )
    peak = usage.of_notebook(notebook)
    assert peak is not None and 300 < peak < 2048, peak
    assert usage.peak_mb({"content": {"user_expressions": {}}}) is None
    reply = {"content": {"user_expressions": {"peak": {"data": {"text/plain": "2097152"}}}}}
    assert usage.peak_mb(reply, platform="linux") == 2048.0
    assert usage.peak_mb(reply, platform="darwin") == 2.0
