"""Answers that reach for the answer key: a static look at a submission's own cells (issue 23).

The checks' reference implementations (``mnistlib.checks``), the course's source notebooks
(solutions and hidden tests, ``mnistlib.course_files``) and the worked ``solutions/`` are the
answer key. While a notebook is graded they are out of the learner's kernel's reach (the sandbox
hides them; without it, the kernel runs as a user who cannot read them: see
:mod:`mnistlib.grading.sandbox` and :mod:`mnistlib.grading.kernel_user`). This module is the second
line: an answer whose code *names* the key scores 0 for its exercise, whether or not the attempt
worked, with a note the instructor sees.

What counts as naming the key, in a learner's code cell (test cells are the course's own):

* importing ``mnistlib.checks``, ``mnistlib.course_files``, ``mnistlib.course`` or
  ``mnistlib.authoring`` (``import``, ``from ... import``, or the attribute ``mnistlib.checks``);
* a string that names them or a place of the key: ``mnistlib/checks``, ``course_files``, a
  ``source/`` or ``solutions/`` folder, a notebook file (``.ipynb``), nbgrader's solution or
  hidden-test markers.

An exercise scores 0 when the cell that defines its function names the key, or when its function
uses a name that such a cell defines (a helper bound to a reference implementation in another cell).
"""

from __future__ import annotations

import ast
import re

from .regions import is_test_cell

#: The error a test cell records when its exercise's answer reached for the key (its points: 0).
ENAME = "AnswerKeyUsed"

_MODULES = ("mnistlib.checks", "mnistlib.course_files", "mnistlib.course", "mnistlib.authoring")
_ATTRIBUTES = {"checks", "course_files", "authoring"}
_STRINGS = re.compile(
    r"mnistlib[./\\]+(?:checks|course_files|course\b|authoring)"
    r"|course_files"
    r"|(?:^|[/\\*])(?:source|solutions)(?:[/\\*]|$)"
    r"|\.ipynb\b"
    r"|BEGIN (?:SOLUTION|HIDDEN TESTS)"
    r"|\bchecks[/\\]",
    re.IGNORECASE,
)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def parse_cell(source: str):
    """A code cell's syntax tree, IPython's ``%`` magics and ``!`` shell lines blanked; None when
    it does not parse."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _module_hits(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _MODULES)


def reaches(code: str) -> list[str]:
    """What of the answer key ``code`` names, each once, in a few words (empty: nothing)."""
    tree = parse_cell(code)
    if tree is None:  # unparsable: look at its text only
        return sorted({f"`{m.group(0)}`" for m in _STRINGS.finditer(code)})
    found: list[str] = []

    def add(what: str) -> None:
        if what not in found:
            found.append(what)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _module_hits(alias.name):
                    add(f"imports `{alias.name}`")
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if _module_hits(node.module) or _module_hits(full):
                    add(f"imports `{full if not _module_hits(node.module) else node.module}`")
        elif isinstance(node, ast.Attribute) and node.attr in _ATTRIBUTES:
            root = node.value
            if isinstance(root, ast.Name) and (root.id == "mnistlib" or node.attr == "course_files"):
                add(f"uses `{root.id}.{node.attr}`")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            text = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
            for match in _STRINGS.finditer(text):
                add(f"names `{match.group(0).strip('/*')}`")
    return found


def _bound_names(tree) -> set[str]:
    """Names a cell binds at its top level (functions, classes, assignments, imports)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def _definitions(tree, name: str) -> list[ast.AST]:
    """The top-level statements of a cell that define ``name`` (a def, or an assignment to it)."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            found.append(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and name in _bound_names(ast.Module([node], [])):
            found.append(node)
    return found


def scan(nb) -> dict[str, str]:
    """``{exercise: why}`` for every exercise of notebook ``nb`` whose answer reaches for the key.

    ``why`` names the cell and what it reached for, e.g. "cell 12 imports `mnistlib.checks`".
    """
    exercises = [
        _nbgrader(c)["grade_id"][5:]
        for c in nb.cells
        if is_test_cell(c) and str(_nbgrader(c).get("grade_id", "")).startswith("test_")
    ]
    trees, flagged = {}, {}
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        tree = parse_cell(source)
        hits = reaches(source)
        if tree is not None:
            trees[index] = tree
        if hits:
            flagged[index] = f"cell {index + 1} " + ", ".join(hits)
    tainted = {
        name: why for index, why in flagged.items() if index in trees for name in _bound_names(trees[index])
    }
    found = {}
    for exercise in exercises:
        for index, cell in enumerate(nb.cells):
            answer_cell = _nbgrader(cell).get("solution") and _nbgrader(cell).get("grade_id") == exercise
            definitions = _definitions(trees[index], exercise) if index in trees else []
            if index in flagged and (answer_cell or definitions):
                found[exercise] = flagged[index]
                break
            used = {
                n.id
                for d in definitions
                for n in ast.walk(d)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            }
            if used & set(tainted) - {exercise}:
                name = sorted(used & set(tainted) - {exercise})[0]
                found[exercise] = f"`{exercise}` uses `{name}`, which {tainted[name]}"
                break
    return found


def message(exercise: str, why: str) -> str:
    """The text a test cell records, and the note an instructor reads, for such an answer."""
    return (
        f"the answer to `{exercise}` reaches for the course's answer key ({why}): the checks' reference "
        "code, the source notebooks and the solutions are not part of an answer, so this exercise scores 0. "
        "Your instructor sees this note."
    )


def notes(nb) -> list[dict]:
    """Instructor-visible notes (``{"kind", "message"}``, as mnistlib.grading.diagnose): one per exercise
    of :func:`scan`, and one per other cell that names the key (it cost no points)."""
    found = scan(nb)
    out = [{"kind": "answer-key", "message": message(e, why)} for e, why in found.items()]
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        hits = reaches(source)
        label = f"cell {index + 1} "
        if hits and not any(why.startswith(label) or f"which {label}" in why for why in found.values()):
            out.append(
                {
                    "kind": "answer-key",
                    "message": f"{label}{', '.join(hits)} (the course's answer key); no answer uses it, so "
                    "no exercise lost points. Your instructor sees this note.",
                }
            )
    return out
