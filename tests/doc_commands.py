"""The shell commands our documents show, read from the documents themselves.

A *block* is one fenced ```bash (or ```sh / ```shell) block of README.md, CONTRIBUTING.md or
docs/instructor.md, named by its document, the heading it stands under, and its number under
that heading (0 for the first). Tests run a block's commands as written, so a changed command is
tested as soon as it is changed, and ``tests/docs/test_docs.py`` fails when a block has no test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "CONTRIBUTING.md", "docs/instructor.md")
SHELL = {"bash", "sh", "shell"}

_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")


@dataclass(frozen=True)
class Block:
    doc: str
    heading: str
    number: int
    text: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.doc, self.heading, self.number)

    @property
    def commands(self) -> list[str]:
        """The block's commands: comments and blank lines dropped, ``\\`` continuations joined."""
        commands, pending = [], ""
        for raw in self.text.splitlines():
            line = strip_comment(raw).rstrip()
            if not line.strip() and not pending:
                continue
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            commands.append((pending + line.strip()).strip())
            pending = ""
        return [c for c in commands if c]


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (one outside quotes, after white space)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def blocks(doc: str, languages: set[str] = SHELL) -> list[Block]:
    """Every fenced block in ``doc`` (a path relative to the repository) in one of ``languages``."""
    found, heading, counts = [], "", {}
    lines = (REPO / doc).read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence:
            indent, language = fence.groups()
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
                i += 1
            if language in languages:
                number = counts.get(heading, 0)
                counts[heading] = number + 1
                found.append(Block(doc, heading, number, "\n".join(body) + "\n"))
        elif match := _HEADING.match(lines[i]):
            heading = match.group(1)
        i += 1
    return found


def block(doc: str, heading: str, number: int = 0, languages: set[str] = SHELL) -> Block:
    """One block, by the heading it stands under; a clear error when the document changed."""
    for candidate in blocks(doc, languages):
        if candidate.heading == heading and candidate.number == number:
            return candidate
    have = [(b.heading, b.number) for b in blocks(doc, languages)]
    raise LookupError(f"{doc} has no block {number} under the heading {heading!r}; it has {have}")


def all_shell_blocks() -> list[Block]:
    return [b for doc in DOCS for b in blocks(doc)]
