"""nbgrader's marker lines, the one grammar every part of the course reads them with.

A source notebook's answer cells hold the solution between ``### BEGIN SOLUTION``
and ``### END SOLUTION``; its test cells hold hidden tests between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``. A marker is a line of
its own: any number of ``#``, then the words, nothing else.
"""

from __future__ import annotations

import re

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"

#: One marker line, solution or hidden tests, begin or end.
MARKER_LINE = re.compile(r"^\s*#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")
#: A hidden-test region; group 1 is the code between its two marker lines.
HIDDEN_REGION = re.compile(
    rf"^\s*#+\s*{BEGIN_HIDDEN}\s*$\n(.*?)^\s*#+\s*{END_HIDDEN}\s*$", re.MULTILINE | re.DOTALL
)
#: A solution or hidden-test region; group 1 is the code between its marker lines.
ANY_REGION = re.compile(
    r"^\s*#+\s*BEGIN (SOLUTION|HIDDEN TESTS)\s*$\n(.*?)^\s*#+\s*END \1\s*$", re.MULTILINE | re.DOTALL
)


def strip_marker_lines(source: str) -> str:
    """``source`` without its marker lines; what they enclose stays."""
    return "\n".join(line for line in source.split("\n") if not MARKER_LINE.match(line))


def hidden_region(source: str) -> str | None:
    """The code of the first hidden-test region of ``source`` (markers cut), or None."""
    match = HIDDEN_REGION.search(source)
    return None if match is None else match.group(1)


def regions(source: str) -> list[str]:
    """The code of every solution and hidden-test region of ``source``, in order."""
    return [match.group(2) for match in ANY_REGION.finditer(source)]
