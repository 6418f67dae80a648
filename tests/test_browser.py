"""A learner's session in a real browser: JupyterLab, headless Chromium, notebooks 01 and 08.

The test starts JupyterLab on 127.0.0.1 (a free port, a token, quick mode) in a temporary root
holding copies of the worked notebooks 01 and 08, opens each in Debian's Chromium driven by
Playwright, runs all cells from the Run menu, waits for the kernel to finish, and then checks
what a learner would see: no error and no warning in red, the quick-mode notice, and widgets
that respond (the digit browser's label changes when its slider moves by keyboard). Screenshots
go to ``test-artifacts/`` (git-ignored) for a human to look at.

Chromium comes from Debian (``apt-get install chromium``): Playwright's own browser download
does not work everywhere. Without /usr/bin/chromium the test is skipped, or fails under CI.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOTEBOOK_01 = "01-loading-data"
NOTEBOOK_08 = "08-gradient-descent-by-hand"
STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
NOISE = ("Warning", "warning", "cuda", "oneDNN")
RUN_TIMEOUT_S = 600  # both notebooks run in about a minute in quick mode; leave room for a busy machine
STALL_S = 30  # the kernel idle this long with prompts still empty: stop waiting, read the saved file


def need_browser() -> None:
    """Skip (or, under CI, fail) with the reason when the browser or its driver is missing."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing: apt-get install chromium"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing: pip install -e '.[dev]'"
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the browser test cannot run under CI: {problem}", pytrace=False)
    pytest.skip(problem)


def notebook_path(assignment: str) -> Path:
    """The worked solution (solutions/<id>.ipynb); the source notebook until solutions are generated.

    ``MNISTLIB_BROWSER_NOTEBOOKS=/some/folder`` takes ``<id>.ipynb`` from that folder instead
    (to try a notebook in the browser before it is generated).
    """
    override = os.environ.get("MNISTLIB_BROWSER_NOTEBOOKS")
    if override:
        return Path(override) / f"{assignment}.ipynb"
    solution = REPO / "solutions" / f"{assignment}.ipynb"
    if solution.is_file():
        return solution
    return REPO / "course" / "source" / assignment / f"{assignment}.ipynb"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # only 127.0.0.1
        return json.loads(response.read().decode())


class Lab:
    """A JupyterLab server of our own: ``url``, ``token``, ``root``; stopped by :meth:`stop`."""

    def __init__(self, root: Path, work: Path):
        self.root, self.token, self.port = root, secrets.token_hex(16), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config, settings = work / "jupyter-config", work / "lab-settings"
        (config / "labconfig").mkdir(parents=True)
        # what a learner on Binder has (binder/postBuild): no instructor tools of nbgrader and no
        # "receive Jupyter news?" pop-up over the notebook
        disabled = [
            f"@jupyter/nbgrader:{name}" for name in ("formgrader", "create-assignment", "course-list")
        ]
        disabled.append("@jupyterlab/apputils-extension:announcements")
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": dict.fromkeys(disabled, True)})
        )
        off = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
        (config / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": dict.fromkeys(off, False)}})
        )
        # every cell stays in the page (JupyterLab may otherwise skip drawing cells out of view)
        (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
        (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
            json.dumps({"windowingMode": "none"})
        )
        env = dict(os.environ)
        env.update(
            MNISTLIB_QUICK="1",
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        )
        env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a learner's fresh kernel has it
        self.log = work / "jupyterlab.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root}",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def api(self, path: str):
        return http_json(f"{self.url}/api/{path}?token={self.token}")

    def wait_until_up(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.process.returncode}):\n{self.log.read_text()}")
            try:
                self.api("status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log_file.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    need_browser()
    work = tmp_path_factory.mktemp("lab")
    root = work / "root"
    root.mkdir()
    for assignment in (NOTEBOOK_01, NOTEBOOK_08):
        shutil.copyfile(notebook_path(assignment), root / f"{assignment}.ipynb")
    server = Lab(root, work)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


# ------------------------------------------------------------------------------ steps


def open_notebook(page, lab: Lab, name: str) -> None:
    # A workspace of its own, reset: otherwise JupyterLab restores the previous test's notebook as a
    # second tab, which can be the active one when "Run All Cells" is clicked (then the wrong
    # notebook runs), and whose prompts would count as this notebook's.
    page.goto(f"{lab.url}/lab/workspaces/test-{name}/tree/{name}.ipynb?reset&token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    wait_for_idle_kernel(lab, timeout=120)


def wait_for_idle_kernel(lab: Lab, *, timeout: float, settle: float = 2.0) -> None:
    """Until the only kernel has been idle for ``settle`` seconds (asked of the server's REST API)."""
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        kernels = lab.api("kernels")
        if kernels and all(k["execution_state"] == "idle" for k in kernels):
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle:
                return
        else:
            idle_since = None
        time.sleep(0.5)
    raise AssertionError(f"the kernel was still busy after {timeout:.0f} s: {lab.api('kernels')}")


def run_all_cells(page, lab: Lab, name: str) -> None:
    try:
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    except Exception:
        screenshot(page, f"{name}-run-menu-failed")
        raise
    # Wait until every prompt shows a number, or until the kernel has been idle for STALL_S seconds
    # with prompts still empty: JupyterLab's windowed notebook does not always redraw the prompts of
    # cells that ran while scrolled away, and if Run All really stopped early, waiting longer would
    # not help. Whether every cell ran is then read from the saved notebook (problems_in), not the page.
    all_ran = """() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
        return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
    }"""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    idle_since = None
    while not page.evaluate(all_ran) and time.monotonic() < deadline:
        kernels = lab.api("kernels")
        idle = bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)
        idle_since = (idle_since or time.monotonic()) if idle else None
        if idle_since and time.monotonic() - idle_since > STALL_S:
            screenshot(page, f"{name}-prompts-not-all-numbered")
            break
        time.sleep(1.0)
    wait_for_idle_kernel(lab, timeout=RUN_TIMEOUT_S)


def save_and_read(page, lab: Lab, name: str) -> dict:
    path = lab.root / f"{name}.ipynb"
    before = path.stat().st_mtime_ns
    # Save through the File menu: a click into a long, scrolled notebook may land on nothing visible.
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Save Notebook").first.click()
    deadline = time.monotonic() + 60
    while path.stat().st_mtime_ns == before:
        assert time.monotonic() < deadline, "the notebook was not saved within 60 s"
        time.sleep(0.5)
    time.sleep(1.0)
    return json.loads(path.read_text(encoding="utf-8"))


def problems_in(notebook: dict) -> list[str]:
    """Every code cell that never ran, every error output, every stderr stream that mentions a
    warning, CUDA or oneDNN, and every figure that reached the page only as the text
    "<Figure size ...>" instead of a picture."""
    found = []
    for number, cell in enumerate(notebook["cells"]):
        if (
            cell["cell_type"] == "code"
            and "".join(cell["source"]).strip()
            and not cell.get("execution_count")
        ):
            found.append(f"cell {number}: never ran")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "".join(data.get("text/plain", "")).startswith("<Figure size") and "image/png" not in data:
                found.append(f"cell {number}: a Figure shown as text, not as a picture (inline backend off?)")
            if output["output_type"] == "error":
                found.append(f"cell {number}: {output['ename']}: {output['evalue']}")
            elif output["output_type"] == "stream" and output["name"] == "stderr":
                text = "".join(output["text"])
                if any(word in text for word in NOISE):
                    found.append(f"cell {number} wrote to stderr: {text[:500]}")
    return found


def assert_nothing_red(page) -> None:
    tracebacks = [text for text in page.locator(STDERR_OUTPUT).all_inner_texts() if "Traceback" in text]
    assert not tracebacks, "a cell shows a traceback:\n" + "\n---\n".join(t[:1500] for t in tracebacks)


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"))


def uses(notebook: dict, name: str) -> bool:
    return any(name in "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")


# ------------------------------------------------------------------------------ tests


def test_notebook_01_runs_cleanly_and_the_digit_browser_responds(lab, browser):
    page = browser.new_page()
    open_notebook(page, lab, NOTEBOOK_01)
    screenshot(page, "01-opened")
    run_all_cells(page, lab, "01")
    assert_nothing_red(page)
    saved = save_and_read(page, lab, NOTEBOOK_01)
    assert problems_in(saved) == []
    assert "QUICK MODE" in page.locator(".jp-NotebookPanel").first.inner_text()
    assert uses(saved, "digit_browser("), "notebook 01 should show the digit browser (mnistlib.widgets)"

    digit_browser = page.locator(".mnistlib-digit-browser").first
    digit_browser.scroll_into_view_if_needed()
    label = digit_browser.locator(".mnistlib-digit-label")
    before = label.inner_text()
    assert "label:" in before
    screenshot(page, "01-digit-browser-before")
    handle = digit_browser.locator(".noUi-handle").first
    handle.focus()
    for _ in range(3):  # three steps to the right along the training set
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "([el, old]) => el.innerText !== old", arg=[label.element_handle(), before], timeout=30_000
    )
    after = label.inner_text()
    assert after != before and "label:" in after
    screenshot(page, "01-digit-browser-after")
    page.close()


def test_notebook_08_runs_cleanly(lab, browser):
    page = browser.new_page()
    open_notebook(page, lab, NOTEBOOK_08)
    run_all_cells(page, lab, "08")
    assert_nothing_red(page)
    saved = save_and_read(page, lab, NOTEBOOK_08)
    assert problems_in(saved) == []
    screenshot(page, "08-after-run")
    if uses(saved, "learning_rate_explorer("):
        explorer = page.locator(".mnistlib-lr-explorer").first
        explorer.scroll_into_view_if_needed()
        status = explorer.locator(".mnistlib-lr-status")
        before = status.inner_text()
        explorer.locator("button", has_text="0.001").first.click()
        page.wait_for_function(
            "([el, old]) => el.innerText !== old", arg=[status.element_handle(), before], timeout=60_000
        )
        assert "rate 0.001" in status.inner_text()
        screenshot(page, "08-learning-rate-explorer")
    page.close()
