"""Reasons for a grade, in words a learner can act on.

nbgrader decides the points; this module explains them. It reads

* the submitted file (is it a notebook at all? were answer or test cells
  deleted, test cells edited, functions redefined after their test, check
  helpers or library modules patched?), compared with the course source, and
* the autograded notebook (which test failed with what message; which cell hit
  the time or memory limit, printed too much, or raised an error).

Hidden tests' code never appears in what this module returns: only test names
and the messages their failures raise (:func:`hide_hidden_region` is also what
the feedback preprocessor uses to cut them out). Notes are dicts ``{"kind", "message"}``.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

from ..markers import BEGIN_HIDDEN, END_HIDDEN, strip_marker_lines
from .answer_key import parse_cell
from .kernel import GRADER_CUT_NOTE, OUTPUT_CUT_NOTICE

# nbformat's jsonschema builds some forty parsers for IRI formats when the optional
# rfc3987_syntax package is installed (JupyterLab pulls it in): seconds of CPU in every
# grading process (docs/benchmarks.md, Notes). Notebook validation never checks IRIs, so the
# grader's processes go without it (jsonschema skips formats whose package is missing).
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402

RESTORED_NOTE = "# (restored by the grader: this test cell was missing from the submission)\n"

HIDDEN_NOTE = "# ... hidden tests: not shown (their messages appear in the output below) ..."

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CUT_MARK = OUTPUT_CUT_NOTICE.split("{")[0]
_GRADER_CUT_MARK = GRADER_CUT_NOTE.split("}")[1].split("{")[0]  # " passed the grader's limit of "


def note(kind: str, message: str) -> dict:
    return {"kind": kind, "message": message}


# ----------------------------------------------------------------------------- reading


def read_notebook(path: Path):
    """Read a notebook we trust (course source, autograded output)."""
    return nbformat.read(str(path), as_version=4)


#: What a JSON value that is no object is, in a sentence about a submission.
_JSON_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true or false"}

#: The newest notebook format this grader reads (older ones are converted by nbformat).
NEWEST_NBFORMAT = nbformat.current_nbformat


def read_submission(path: Path, raw: bytes | None = None):
    """``(notebook, None)`` for a readable notebook, else ``(None, note)`` saying what is wrong.

    The note is one sentence that names the cause first (empty, not text, not JSON, JSON that is
    no notebook, a notebook format this grader cannot read, a notebook that breaks the format's
    rules), then that the file scores zero, then what to do where there is something to do.
    ``raw``: the file's bytes, already read (by :func:`mnistlib.grading.submissions.read_bytes`).
    """
    path = Path(path)
    name = path.name
    try:
        raw = path.read_bytes() if raw is None else raw
    except OSError as err:
        return None, note("unreadable", f"{name} could not be read ({err.strerror}), so it scores zero.")
    if not raw.strip():
        return None, note(
            "unreadable",
            f"{name} is empty (no cells, no text at all), so it scores zero: save the notebook "
            "in Jupyter (File > Save) and hand it in again.",
        )
    text = raw.decode("utf-8-sig", errors="replace")  # a stray byte inside a string is no reason for zero
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return None, note(
                "unreadable",
                f"{name} is not a notebook: it is not text (byte {bad.start + 1} is not UTF-8), so nothing "
                "in it ran and it scores zero (was it renamed from another file type?).",
            )
        return None, note(
            "unreadable",
            f"{name} is not a notebook: its text is not valid JSON (line {err.lineno}, "
            f"column {err.colno}: {err.msg}), so nothing in it ran and it scores zero (was it "
            "edited in a text editor, or renamed from another file type?).",
        )
    if not isinstance(data, dict):
        kind = "null" if data is None else _JSON_KINDS.get(type(data), type(data).__name__)
        return None, note(
            "unreadable",
            f"{name} is not a notebook: its JSON is {kind}, where a notebook is an object with "
            '"cells" and "metadata", so it scores zero.',
        )
    version = data.get("nbformat")
    if version is None:
        return None, note(
            "unreadable",
            f'{name} is not a notebook: its JSON has no "nbformat" field, which every Jupyter '
            "notebook has, so it scores zero.",
        )
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return None, note(
            "unreadable",
            f'{name} is not a notebook: its "nbformat" field is {json.dumps(version)}, where a notebook '
            f"has a whole number from 1 to {NEWEST_NBFORMAT}, so it scores zero.",
        )
    if version > NEWEST_NBFORMAT:
        return None, note(
            "unreadable",
            f"{name} is in notebook format {version}, newer than the format {NEWEST_NBFORMAT} this grader "
            f"reads, so it scores zero: save it as format {NEWEST_NBFORMAT} (any current Jupyter does) "
            "and hand it in again.",
        )
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several types for malformed notebooks
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return None, note(
            "unreadable",
            f"{name} is JSON but not a valid Jupyter notebook ({first.rstrip('.')}), so it scores zero.",
        )
    return nb, None


def empty_like(source) -> dict:
    """An empty notebook with the source's kernelspec: what an unreadable submission is graded as."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": source.metadata.get("kernelspec", {})})
    return json.loads(nbformat.writes(nb))


# ----------------------------------------------------------------------------- source structure


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def test_ids(source) -> list[str]:
    """grade_ids of the source's test (grade) cells, in notebook order."""
    return [
        _nbgrader(c)["grade_id"] for c in source.cells if _nbgrader(c).get("grade") and c.cell_type == "code"
    ]


def answer_ids(source) -> list[str]:
    return [_nbgrader(c)["grade_id"] for c in source.cells if _nbgrader(c).get("solution")]


def points(source) -> dict[str, float]:
    return {
        _nbgrader(c)["grade_id"]: float(_nbgrader(c).get("points", 0))
        for c in source.cells
        if _nbgrader(c).get("grade")
    }


def exercise_name(grade_id: str) -> str:
    """``test_flatten_images`` -> ``flatten_images``."""
    return grade_id[5:] if grade_id.startswith("test_") else grade_id


def _cell_label(nb, index: int) -> str:
    first = next((line.strip() for line in nb.cells[index].source.splitlines() if line.strip()), "")
    first = first if len(first) <= 40 else first[:37] + "..."
    return f"cell {index + 1}" + (f" (`{first}`)" if first else "")


def _normalized(text: str) -> list[str]:
    return [line.rstrip() for line in text.replace(RESTORED_NOTE, "").splitlines() if line.strip()]


# ----------------------------------------------------------------------------- the submission


def compare_with_source(submitted, source) -> list[dict]:
    """Notes on deleted answer cells and deleted or edited test cells."""
    notes = []
    by_id = {}
    for cell in submitted.cells:
        gid = _nbgrader(cell).get("grade_id")
        if gid:
            by_id.setdefault(gid, cell)
    for gid in answer_ids(source):
        if gid not in by_id:
            notes.append(
                note(
                    "deleted-answer",
                    f"The answer cell of `{gid}` was deleted. Its test ran without it "
                    f"(unless you defined `{gid}` elsewhere).",
                )
            )
    originals = {_nbgrader(c)["grade_id"]: c for c in source.cells if _nbgrader(c).get("grade")}
    for gid, original in originals.items():
        if gid not in by_id:
            notes.append(
                note(
                    "deleted-test",
                    f"The test cell `{gid}` was deleted; the grader put it back from the course and ran it.",
                )
            )
        elif _normalized(by_id[gid].source) not in _unedited_forms(original.source):
            notes.append(
                note(
                    "edited-test",
                    f"The test cell `{gid}` was edited; the grader ran the original test "
                    "instead (editing a test never earns points).",
                )
            )
    return notes


def _unedited_forms(source: str) -> list[list[str]]:
    """A test cell as the release shows it (hidden tests cut) and as the solutions show it (markers cut)."""
    no_markers = strip_marker_lines(source)
    return [_normalized(_without_hidden(source)), _normalized(no_markers), _normalized(source)]


def _without_hidden(source: str) -> str:
    return "\n".join(line for line in hide_hidden_region(source).splitlines() if line != HIDDEN_NOTE)


def _imported_names(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return names


def _root_name(node) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse of a parsed tree does not fail
        return "?"


def _defined_names(tree) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _test_helper_names(source) -> set[str]:
    """Names the source's test cells import (check functions and helpers)."""
    names = set()
    for cell in source.cells:
        if _nbgrader(cell).get("grade") and (tree := parse_cell(cell.source)) is not None:
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    names |= {a.asname or a.name for a in node.names}
    return names


def scan_tampering(submitted, source) -> list[dict]:
    """Notes on learner code that patches modules or test helpers, or redefines a function after its test."""
    notes = []
    helpers = _test_helper_names(source)
    trees = {}
    imported: set[str] = set()
    for index, cell in enumerate(submitted.cells):
        if cell.cell_type == "code" and not _nbgrader(cell).get("grade"):
            tree = parse_cell(cell.source)
            if tree is not None:
                trees[index] = tree
                imported |= _imported_names(tree)
    for index, tree in trees.items():
        where = _cell_label(submitted, index)
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            elif isinstance(node, ast.Delete):
                targets = node.targets
            for target in targets:
                if isinstance(target, ast.Attribute) and _root_name(target) in imported | {"sys", "builtins"}:
                    notes.append(
                        note(
                            "tampering",
                            f"{where} changes `{_dotted(target)}`, part of an imported "
                            "module. Tests run in a separate process your code cannot reach, so patching libraries does "
                            "not earn points; your instructor sees this note.",
                        )
                    )
                elif isinstance(target, ast.Subscript) and _dotted(target.value) in {
                    "sys.modules",
                    "__builtins__",
                }:
                    notes.append(
                        note(
                            "tampering",
                            f"{where} edits `{_dotted(target.value)}`; tests do not rely on "
                            "it and this does not earn points; your instructor sees this note.",
                        )
                    )
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
                if node.args and _root_name(node.args[0]) in imported:
                    notes.append(
                        note(
                            "tampering",
                            f"{where} calls `setattr` on the imported `{_dotted(node.args[0])}`:"
                            " patching library code does not earn points; your instructor sees this note.",
                        )
                    )
        shadowed = sorted(_defined_names(tree) & helpers)
        if shadowed:
            notes.append(
                note(
                    "tampering",
                    f"{where} defines {', '.join(f'`{n}`' for n in shadowed)}, which the tests "
                    "import themselves; your definition has no effect on grading.",
                )
            )
    notes += _redefined_after_test(submitted, trees)
    from .answer_key import notes as answer_key_notes  # answers naming the answer key (issue 23)

    notes += answer_key_notes(submitted)
    return notes


def _redefined_after_test(submitted, trees: dict) -> list[dict]:
    notes = []
    for index, cell in enumerate(submitted.cells):
        gid = _nbgrader(cell).get("grade_id", "")
        if not (_nbgrader(cell).get("grade") and gid.startswith("test_")):
            continue
        function = exercise_name(gid)
        for later, tree in trees.items():
            if later > index and function in _defined_names(tree):
                notes.append(
                    note(
                        "redefined",
                        f"`{function}` is defined again in {_cell_label(submitted, later)}, "
                        f"after its test: the grade uses the version that existed when the test ran.",
                    )
                )
    return notes


# ----------------------------------------------------------------------------- the autograded notebook


_IPYTHON_FILE = re.compile(r"\(\d+\.py, line (\d+)\)")
_TRUNCATED = "... Output truncated ..."  # nbgrader's LimitOutput marker


def _clean(value: str) -> str:
    return _IPYTHON_FILE.sub(r"(line \1)", _ANSI.sub("", value)).strip()


def _error_text(output) -> str:
    name = output.get("ename", "Error")
    value = _clean(output.get("evalue", ""))
    return f"{name}: {value}" if value else name


def _is_timeout(output) -> bool:
    return output.get("output_type") == "error" and "Timeout" in output.get("ename", "")


def _first_error(cell):
    """The cell's error output that explains it best: a timeout wins over the KeyboardInterrupt it causes."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return next((o for o in errors if _is_timeout(o)), errors[0] if errors else None)


def _friendly(error, answer_error: str | None) -> str:
    name, value = error.get("ename", ""), _clean(error.get("evalue", ""))
    if name == "CheckFailed":
        text = value.strip("\n")
    elif name == "NameError":
        missing = re.search(r"name '([^']+)' is not defined", value)
        what = f"`{missing.group(1)}`" if missing else "a name"
        text = (
            f"{what} is not defined when the test runs: run or restore its answer cell (was it deleted, "
            "renamed, or did it fail?)"
        )
    elif "Timeout" in name:
        text = "the test ran past the time limit and was stopped (does your function loop forever?)"
    elif name in ("KernelDied", "AnswerKeyUsed"):  # the grader's own sentence
        text = value
    elif name == "AssertionError" and not value:
        text = "a test failed (AssertionError without a message)"
    else:
        text = f"the test stopped with {name}: {value}" if value else f"the test stopped with {name}"
    if answer_error:
        text = f"your answer cell failed ({answer_error}), so: {text}"
    return text


def test_messages(executed, source) -> dict[str, str]:
    """``{grade_id: first failure message}`` for every failing test cell of the autograded notebook."""
    messages = {}
    answer_errors = {}
    for cell in executed.cells:
        meta = _nbgrader(cell)
        gid = meta.get("grade_id")
        if cell.cell_type != "code" or not gid:
            continue
        error = _first_error(cell)
        if meta.get("solution") and error is not None:
            answer_errors[gid] = _error_text(error).splitlines()[0]
        if meta.get("grade") and error is not None:
            messages[gid] = _friendly(error, answer_errors.get(exercise_name(gid)))
    return messages


def execution_notes(executed, *, timeout: int, memory_mb: int) -> list[dict]:
    """Notes on learner cells that hit a limit, printed too much, or raised an error."""
    notes = []
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        where = _cell_label(executed, index)
        is_test = bool(_nbgrader(cell).get("grade"))
        outputs = cell.get("outputs", [])
        timed_out = any(_is_timeout(o) for o in outputs)
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        if _CUT_MARK in text or _GRADER_CUT_MARK in text or _TRUNCATED in text:
            notes.append(
                note(
                    "output",
                    f"{where} printed too much; the grader kept only the start of its output. "
                    "Print less (a shape, a few values) and your notebook stays readable.",
                )
            )
        for output in outputs:
            if output.get("output_type") != "error":
                continue
            name = output.get("ename", "")
            if timed_out and name == "KeyboardInterrupt":
                continue  # the interrupt that stopped a cell at the time limit
            if _is_timeout(output):
                notes.append(
                    note(
                        "timeout",
                        f"{where} ran longer than the {timeout} s limit per cell and was "
                        "stopped (an endless loop?); the rest of the notebook was still graded.",
                    )
                )
            elif name == "MemoryError":
                notes.append(
                    note(
                        "memory",
                        f"{where} ran out of memory (the grader allows {memory_mb} MB); "
                        "the rest of the notebook was still graded.",
                    )
                )
            elif name == "KernelDied":
                notes.append(
                    note(
                        "kernel-died",
                        f"{where}: the Python kernel died (a crash, or memory beyond "
                        f"{memory_mb} MB); the grader restarted it and ran the remaining cells.",
                    )
                )
            elif not is_test:
                detail = _error_text(output).splitlines()[0]
                if name in {"SyntaxError", "IndentationError", "TabError"}:
                    notes.append(note("syntax", f"{where} has a syntax error: {detail}"))
                else:
                    notes.append(note("error", f"{where} raised {detail}"))
    return notes


def hide_hidden_region(source: str, begin: str = BEGIN_HIDDEN, end: str = END_HIDDEN) -> str:
    """``source`` with each hidden-test region (markers included) replaced by :data:`HIDDEN_NOTE`."""
    kept, hiding = [], False
    for line in source.split("\n"):
        if begin in line:
            hiding = True
            kept.append(HIDDEN_NOTE)
        elif end in line and hiding:
            hiding = False
        elif not hiding:
            kept.append(line)
    return "\n".join(kept)
