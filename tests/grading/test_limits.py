"""The grading limits are defined once (mnistlib.grading.limits) and the guides quote them right."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mnistlib.grading import limits

PACKAGE = Path(limits.__file__).parents[1]
REPO = PACKAGE.parent
VALUES = {limits.CELL_TIMEOUT_S, limits.MEMORY_MB, limits.MAX_OUTPUT_KB}
#: The same numbers meaning something else: Linux's MS_NODIRATIME mount flag is 2048.
OTHER_FACTS = {"isolation.py": {2048}}


def test_no_grading_or_export_module_types_a_limit_again():
    """No integer literal equal to a limit in grading/ or export/ code (floats such as a fork server's
    120.0 s start-up wait are other facts), nor in the course's nbgrader_config.py."""
    paths = [*PACKAGE.joinpath("grading").glob("*.py"), *PACKAGE.joinpath("export").glob("*.py")]
    paths.append(REPO / "course" / "nbgrader_config.py")
    found = []
    for path in paths:
        if path.name == "limits.py":
            continue
        others = OTHER_FACTS.get(path.name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value in VALUES - others:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value}")
    assert found == [], "use mnistlib.grading.limits:\n" + "\n".join(found)


def test_the_instructor_guide_quotes_the_limits_as_defined():
    text = (REPO / "docs" / "instructor.md").read_text()
    seconds = {int(s) for s in re.findall(r"(\d+) s (?:limit|per cell)", text)}
    assert seconds == {limits.CELL_TIMEOUT_S}, seconds
    assert set(map(int, re.findall(r"default (\d+)(?: MB)?\b", text))) >= {limits.MEMORY_MB}
    assert f"{limits.CELL_TIMEOUT_S} s (`c.GradingExecute.timeout`" in text
