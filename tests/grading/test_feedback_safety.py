"""What crosses from a learner's code into the test cell and the pages (issue 24, classes 3 and 5):
warnings carry no location in a test cell, printed lines that quote hidden tests are cut from
feedback, and no script a learner wrote survives into a feedback page."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from jupyter_client.manager import start_new_kernel
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mnistlib.grading import bridge
from mnistlib.grading.preprocessors import (
    HIDDEN_LINE_NOTE,
    SANITISED_NOTE,
    HideHiddenTests,
    SanitizeFeedbackHTML,
    SanitizeLearnerHTML,
)

HIDDEN_CALL = "assert get_digit(secret_stack, 4)[0, 0] == 2352  # the fourth image"


@pytest.fixture()
def kernel(tmp_path):
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    code = "import warnings\ndef get_digit(images, n):\n    warnings.warn('peek')\n    return images[n]\n"
    assert kc.execute_interactive(code, timeout=30)["content"]["status"] == "ok"
    yield km, str(tmp_path)
    if bridge._BRIDGE is not None:
        bridge._BRIDGE.close()
        bridge._BRIDGE = None
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_a_learners_warning_names_the_learners_function_not_the_test_line(kernel, tmp_path):
    km, _ = kernel
    calls = tmp_path / "calls"
    calls.mkdir()
    connection = {k: v.decode() if isinstance(v, bytes) else v for k, v in km.get_connection_info().items()}
    namespace: dict = {}
    bridge.bind(["get_digit"], connection, str(calls), 30, namespace)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace["get_digit"](np.zeros((5, 2, 2)), 4)  # a test's line: this file, this line
    (warning,) = caught
    assert str(warning.message) == "peek" and warning.filename == "<get_digit>"
    shown = warnings.formatwarning(warning.message, warning.category, warning.filename, warning.lineno)
    assert __file__ not in shown and "namespace" not in shown


def _test_cell(outputs):
    cell = new_code_cell(
        "check_get_digit(get_digit)\n### BEGIN HIDDEN TESTS\n" + HIDDEN_CALL + "\n### END HIDDEN TESTS\n",
        outputs=outputs,
    )
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_get_digit", "points": 1, "solution": False}
    return cell


def test_printed_lines_quoting_hidden_tests_are_cut_from_feedback():
    leak = f"/tmp/x.py:7: UserWarning: peek\n  {HIDDEN_CALL}\nkept line\n"
    nb = new_notebook(cells=[_test_cell([new_output("stream", name="stderr", text=leak)])])
    out, _ = HideHiddenTests().preprocess(nb, {})
    text = out.cells[0].outputs[0]["text"]
    assert HIDDEN_CALL not in text and "2352" not in text
    assert text.splitlines() == ["/tmp/x.py:7: UserWarning: peek", HIDDEN_LINE_NOTE, "kept line"]


def _learner_notebook(marker: str):
    html = (
        f"<script>window.{marker}=1</script><img src=x onerror='window.{marker}=2'>"
        f"<a href='javascript:window.{marker}=3'>link</a><b>bold {marker}</b>"
    )
    outputs = [
        new_output("display_data", data={"text/html": html, "text/plain": "html"}),
        new_output("display_data", data={"application/javascript": f"window.{marker}=4"}),
        new_output("display_data", data={"image/svg+xml": f"<svg onload='window.{marker}=5'></svg>"}),
    ]
    markdown = f"Notes <script>window.{marker}=6</script> [x](javascript:window.{marker}=7)"
    return new_notebook(cells=[new_code_cell("show()", outputs=outputs), new_markdown_cell(markdown)])


@pytest.mark.parametrize("sanitise_template", [True, False])
def test_no_learner_script_survives_into_a_feedback_page(sanitise_template):
    from grading.test_attacks_host import script_traces

    marker = "attackmarker"
    nb, _ = SanitizeFeedbackHTML()(_learner_notebook(marker), {})  # as nbgrader calls it
    page, _ = HTMLExporter(sanitize_html=sanitise_template).from_notebook_node(nb)
    assert f"bold {marker}" in page  # harmless HTML is still shown
    assert script_traces(page, marker) == []
    assert "application/javascript" not in str(nb) and "image/svg+xml" not in str(nb)
    assert nb.cells[0].source == SANITISED_NOTE


def test_locked_instructor_markdown_is_kept_and_the_autograded_copy_gets_no_note():
    nb = _learner_notebook("m")
    instructor = new_markdown_cell("<div class='exercise'>Exercise 1</div>")
    instructor.metadata["nbgrader"] = {"locked": True, "solution": False, "grade": False, "grade_id": "intro"}
    nb.cells.append(instructor)
    out, _ = SanitizeLearnerHTML()(nb, {})
    assert out.cells[-1].source == "<div class='exercise'>Exercise 1</div>"
    assert "<script>" not in out.cells[1].source and len(out.cells) == 3


def test_harmless_html_such_as_tables_stays_readable():
    table = "<table><thead><tr><th>digit</th></tr></thead><tbody><tr><td>7</td></tr></tbody></table>"
    nb = new_notebook(
        cells=[new_code_cell("df", outputs=[new_output("display_data", data={"text/html": table})])]
    )
    out, _ = SanitizeLearnerHTML()(nb, {})
    assert out.cells[0].outputs[0]["data"]["text/html"] == table


def test_the_course_figures_survive_and_images_from_elsewhere_do_not():
    """A figure is an inline PNG in an ``<img alt>`` (mnistlib.notebook.figure_html): the sanitiser
    keeps it with its alternative text; an SVG (which can carry script) or a picture fetched from
    elsewhere (which would call out when the page opens) loses its source, and handlers go."""
    from mnistlib.notebook import figure_html

    figure = figure_html(b"\x89PNG\r\n\x1a\n-a-figure", "a 28 x 28 digit, a five")
    outputs = [
        new_output("display_data", data={"text/html": figure, "text/plain": "figure"}),
        new_output(
            "display_data",
            data={
                "text/html": '<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="svg" onerror="window.x=1">'
                '<img src="https://example.invalid/track.png" alt="remote">',
                "text/plain": "html",
            },
        ),
    ]
    nb, _ = SanitizeFeedbackHTML().preprocess(
        new_notebook(cells=[new_code_cell("show()", outputs=outputs)]), {}
    )
    kept = [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert kept[0] == figure
    assert "svg+xml" not in kept[1] and "example.invalid" not in kept[1] and "onerror" not in kept[1]
    assert 'alt="svg"' in kept[1] and 'alt="remote"' in kept[1]
