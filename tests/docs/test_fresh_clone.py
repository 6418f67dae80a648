"""README.md and CONTRIBUTING.md, run as written on a fresh clone (see fresh_clone.py).

The two ways to open the course, ``make lab`` and the README's plain commands, are started for
real: the browser JupyterLab asks to open is recorded (``BROWSER``), the page it names is opened
in Chromium, and the test checks through the server's REST API and in the page that it is
notebook 01 of ``my-work/`` and that its first cells run; then the server is stopped and no
process it started may be left.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, need_browser
from doc_commands import block
from fresh_clone import run_block, run_script
from jupyter_lab import NOTEBOOK_01, free_port, get_json, lab_env, list_kernels, opened_url, start, stop

from mnistlib.course import assignment_ids

pytestmark = pytest.mark.slow

ASSIGNMENTS = set(assignment_ids())
FIRST_CELLS = 12  # notebook 01 prints the arrays' shapes within its first dozen cells


def check_notebook_01_opens_and_runs(url: str, work: Path, shots: Path, then=None) -> None:
    """REST API and Chromium: the server's root is ``work`` and notebook 01 opens and runs.

    ``then(page)``, when given, goes on in the same page, after the first cells have run."""
    match = re.match(r"(http://[^/]+)/lab/tree/(.+?)\?token=(\w+)$", url)
    assert match, f"not a JupyterLab notebook URL: {url}"
    server, path, token = match.groups()
    assert path == NOTEBOOK_01, f"JupyterLab opened {path}, not {NOTEBOOK_01}"
    root = get_json(f"{server}/api/contents?token={token}")
    assert {item["name"] for item in root["content"]} >= ASSIGNMENTS, "the server's root is not my-work/"
    notebook = get_json(f"{server}/api/contents/{NOTEBOOK_01}?token={token}&content=0")
    assert notebook["type"] == "notebook" and (work / NOTEBOOK_01).is_file()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
            tab = page.locator(".lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel").first.inner_text()
            assert tab == "01-loading-data.ipynb"
            wait_for_idle_kernel(server, token)
            page.locator(".jp-NotebookPanel .jp-Cell").first.click()
            page.keyboard.press("Escape")
            # Run cell after cell from the top (Shift+Enter) until the shapes cell has printed.
            shapes = page.locator(".jp-OutputArea-output", has_text="training images:")
            for _ in range(FIRST_CELLS):
                page.keyboard.press("Shift+Enter")
                page.wait_for_timeout(300)
                if shapes.count():
                    break
            shapes.first.wait_for(timeout=180_000)
            text = shapes.first.inner_text()
            page.screenshot(path=str(shots))
            assert "(3000, 28, 28)" in text, text  # quick mode: MNISTLIB_QUICK=1
            errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
            assert not [t for t in errors.all_inner_texts() if "Traceback" in t]
            if then is not None:
                then(page)
        finally:
            browser.close()
    sessions = get_json(f"{server}/api/sessions?token={token}")
    assert [s["path"] for s in sessions] == [NOTEBOOK_01]


#: A learner's get_digit that passes its check: it refuses a bad n with a message that says which n
#: is allowed (the contract's sentence; numpy's own message would fail the check).
GET_DIGIT = (
    "def get_digit(images, n):\n"
    "    if not 1 <= n <= len(images):\n"
    '        raise IndexError(f"there is no image number {n}: n must be from 1 to {len(images)}")\n'
    "    return images[n - 1]\n"
)


def pass_get_digit_and_see_the_map(page) -> None:
    """As a learner: type an answer to get_digit, run it and its check; the map at the top updates."""
    cells = page.locator(".jp-NotebookPanel .jp-Cell")
    cells.filter(has_text="def get_digit(images, n):").locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(GET_DIGIT)  # as pasted: the editor adds no indentation or brackets
    page.keyboard.press("Shift+Enter")  # runs the answer and moves to the check below it
    page.keyboard.press("Shift+Enter")  # runs the visible check
    check = cells.filter(has_text="check_get_digit(get_digit)")
    check.locator(".jp-OutputArea-output", has_text="\u2714").wait_for(timeout=60_000)
    course_map = page.locator('nav[aria-label="course map"]').first
    course_map.filter(has_text="1 of 2 exercises here passed").wait_for(timeout=30_000)


def wait_for_idle_kernel(server: str, token: str, timeout: float = 180) -> None:
    """Until the notebook's kernel has started and is idle (a cell run earlier may be dropped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kernels = list_kernels(server, token)
        if kernels and all(k["execution_state"] == "idle" for k in kernels):
            return
        time.sleep(0.5)
    raise AssertionError(f"no idle kernel after {timeout:.0f} s: {kernels}")


def test_make_lab_opens_notebook_01_of_my_work(fresh_clone, tmp_path):
    need_browser()
    (command,) = [c for c in block("README.md", "Quickstart").commands if c.startswith("make lab")]
    log = tmp_path / "make-lab.log"
    process = start(
        f"{command} PORT={free_port()}",
        fresh_clone.root,
        lab_env(fresh_clone, tmp_path, allow_root=False),
        log,
    )
    try:
        url = opened_url(tmp_path, process, log)
        check_notebook_01_opens_and_runs(
            url, fresh_clone.root / "my-work", tmp_path / "make-lab.png", then=pass_get_digit_and_see_the_map
        )
    finally:
        stop(process)
    assert (fresh_clone.root / "my-work" / NOTEBOOK_01).is_file()
    # the check passed in the browser is on the README's course map of that fresh my-work/
    course_map = run_block(
        block("README.md", "Where am I, and hints"), fresh_clone.root, fresh_clone.activated()
    )
    assert re.search(r"\[x\] get_digit +passed", course_map.stdout), course_map.stdout
    assert re.search(r"\[ \] label_counts +not tried", course_map.stdout), course_map.stdout
    assert run_script("git status --porcelain", fresh_clone.root, fresh_clone.env).stdout == ""


def test_readme_plain_commands_open_notebook_01(fresh_clone, tmp_path):
    need_browser()
    plain = block("README.md", "Quickstart", 2)
    log = tmp_path / "plain-lab.log"
    process = start(plain.text, fresh_clone.root, lab_env(fresh_clone, tmp_path, allow_root=True), log)
    try:
        url = opened_url(tmp_path, process, log)
        check_notebook_01_opens_and_runs(url, fresh_clone.root / "my-work", tmp_path / "plain-lab.png")
    finally:
        stop(process)


def test_copy_release_never_overwrites_a_learners_work(fresh_clone):
    (command, _) = block("README.md", "Quickstart", 2).commands
    mine = fresh_clone.root / "my-work" / "02-reshaping" / "02-reshaping.ipynb"
    run_script(command, fresh_clone.root, fresh_clone.env)
    mine.write_text(mine.read_text().replace("raise NotImplementedError()", "return images  # my try"))
    before = mine.read_bytes()
    done = run_script(command, fresh_clone.root, fresh_clone.env)
    assert done.returncode == 0, done.stderr
    assert mine.read_bytes() == before


def test_readme_test_commands_lint_cleanly_and_are_what_make_test_runs(fresh_clone):
    lint, pytest_command = block("README.md", "Quickstart", 3).commands
    done = run_script(lint, fresh_clone.root, fresh_clone.env)
    assert done.returncode == 0, done.stdout + done.stderr
    # The whole suite is what CI runs through `make test` (test_docs checks .ci/run): `make test`
    # must run exactly these commands, so the plain ones are tested by every CI run.
    recipe = run_script("make -n test", fresh_clone.root, fresh_clone.env).stdout.splitlines()
    for command in [*lint.split(" && "), pytest_command]:
        assert command in recipe, f"`make test` does not run {command!r}:\n" + "\n".join(recipe)


def test_readme_data_commands(fresh_clone):
    done = run_block(
        block("README.md", "Where the data comes from"), fresh_clone.root, fresh_clone.activated()
    )
    assert str(fresh_clone.cache) in done.stdout
    assert "verified" in done.stdout.lower() or "ok" in done.stdout.lower(), done.stdout


def test_contributing_generate_and_drift_check(fresh_clone):
    run_block(block("CONTRIBUTING.md", "How the pieces fit"), fresh_clone.root, fresh_clone.env)
    changed = run_script("git status --porcelain", fresh_clone.root, fresh_clone.env).stdout
    assert changed == "", f"make generate changed committed files:\n{changed}"


def test_contributing_runs_one_module_as_written(fresh_clone):
    """CONTRIBUTING's way to run one module, or part of one, without the rest of the suite."""
    done = run_block(block("CONTRIBUTING.md", "Tests"), fresh_clone.root, fresh_clone.env)
    summaries = [line for line in done.stdout.splitlines() if re.search(r"\d+ passed", line)]
    assert len(summaries) == 2 and all("failed" not in line for line in summaries), done.stdout[-3000:]
    assert "deselected" in summaries[1], "the -k selection ran the whole module"
