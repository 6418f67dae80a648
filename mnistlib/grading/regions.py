"""Where a failing test cell stopped: in the checks learners see, or in its hidden tests.

A test cell runs the visible checks first (the ones the learner ran in their own notebook), then
the instructor's hidden tests between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``. The
cell stops at its first failure, and IPython's traceback names the cell's line it stopped on
(``Cell In[3], line 14``): that line, against the markers' lines in the same source, tells which
part failed. Exports that show visible checks at once and hidden tests later (Gradescope's
``after_published``) use this; the points of the cell are one grade either way.
"""

from __future__ import annotations

import re


def is_test_cell(cell) -> bool:
    """Whether ``cell`` is an autograded test cell: code, nbgrader ``grade`` and not ``solution``."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_LINE = re.compile(r"(?:Cell In ?\[\d*\]|<ipython-input-[^>]*>|Input In \[\d*\]), line (\d+)")
BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def hidden_lines(source: str) -> set[int]:
    """1-based line numbers of ``source`` inside a hidden-tests region (markers included)."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), start=1):
        if BEGIN in line:
            inside = True
        if inside:
            lines.add(number)
        if END in line:
            inside = False
    return lines


def failed_line(outputs: list) -> int | None:
    """The line of the cell where its error was raised (its first frame in the cell), or None."""
    for output in outputs:
        if output.get("output_type") != "error":
            continue
        for frame in output.get("traceback", []):
            match = _CELL_LINE.search(_ANSI.sub("", frame))
            if match:
                return int(match.group(1))
    return None


def failed_in(cell) -> str | None:
    """``"hidden"`` or ``"visible"``: the part of a failing test cell that raised; None if unknown."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    line = failed_line(cell.get("outputs", []))
    if line is None:
        return None
    return "hidden" if line in hidden_lines(source) else "visible"


def failed_parts(executed) -> dict[str, str]:
    """``{grade_id: "hidden" | "visible"}`` for each test cell of an autograded notebook that failed."""
    parts = {}
    for cell in executed.get("cells", []) if executed is not None else []:
        if is_test_cell(cell):
            part = failed_in(cell)
            if part is not None:
                parts[cell["metadata"]["nbgrader"]["grade_id"]] = part
    return parts
