"""The class report: what the class got wrong, by name, for the instructor who teaches on Monday.

    mnistlib grade course/submitted --report class-report.html --report-json class-report.json
    mnistlib grade merge mnistlib-shard-*-of-3.json --report class-report.html

Built from the results of a grading run (one run, or merged shards: the same results, so the same
report), per assignment and exercise:

* how many learners earned the points and how many failed; notebooks the grader could not grade (not
  a notebook, a run that failed) are listed apart and never counted as mistakes;
* the mistakes behind the failures, by their stable id (``flatten_images/not-scaled``, named by the
  checks, see :mod:`mnistlib.grading.mistakes`), most frequent first, with the hints learners got and
  the notebook section that teaches the exercise; failures no check diagnosed are ``other``, grouped
  by their message;
* a score distribution per assignment (an SVG figure inside the page, with alt text);
* the learners behind each mistake (``anonymous`` replaces names by "learner 1", "learner 2", ...);
* seconds and peak memory (as the kernel reported it) per notebook, and the grader's notes (cells edited, limits hit, graded without the sandbox).

The HTML page is one self-contained file (styles, figures and one small script inline, no network)
that prints well. The script (``class-report-sort.js``) only makes the learner tables sortable by a
column: the page reads the same without it, and its Content-Security-Policy lets no other script
run and nothing be fetched; the JSON holds the same data and follows ``class-report.schema.json`` (package data,
:func:`schema`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import statistics
from collections import Counter
from importlib import resources
from pathlib import Path

from ..files import atomic_write
from . import diagnose
from .mistakes import OTHER

FORMAT = "mnistlib-class-report"
VERSION = 1
SCHEMA_FILE = "class-report.schema.json"
TEMPLATE_FILE = "class-report.html.j2"
SORTER_FILE = "class-report-sort.js"

_HINT = re.compile(r"^\s*hint:\s*(.+)$", re.MULTILINE)
_FENCE = re.compile(r"^\s*(```|~~~)")


def schema() -> dict:
    """The JSON Schema of :func:`build`'s data (``--report-json``)."""
    return json.loads(resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- what the course teaches where


def _headings(markdown: str) -> list[tuple[int, str]]:
    """``(level, text)`` of the markdown headings outside fenced code blocks."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)):
            found.append((len(match.group(1)), match.group(2).replace("`", "")))
    return found


def course_outline(course: Path, assignment: str) -> tuple[str, dict[str, str]]:
    """The assignment's title and ``{exercise: the section (## heading) that teaches it}``, from its source."""
    path = Path(course) / "source" / assignment / f"{assignment}.ipynb"
    try:
        notebook = diagnose.read_notebook(path)
    except (OSError, ValueError):
        return assignment, {}
    title, section, sections = assignment, None, {}
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for level, text in _headings(cell.source):
                if level == 1 and title == assignment:
                    title = text
                elif level == 2:
                    section = text
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id and section and diagnose.exercise_name(grade_id) not in sections:
            sections[diagnose.exercise_name(grade_id)] = section
    return title, sections


# ----------------------------------------------------------------------------- the data


def hint_of(message: str | None) -> str | None:
    """The ``hint:`` line of a check's message, or None."""
    match = _HINT.search(message or "")
    return match.group(1).strip() if match else None


def _text(message: str | None) -> str:
    return " ".join((message or "").split()) or "(no message)"


def ungradable_reason(result: dict) -> str | None:
    """Why the grader could not grade this notebook (so its zero is no mistake), or None."""
    return result.get("error") or result.get("unreadable") or None


def learner_names(results: list[dict], anonymous: bool) -> dict[str, str]:
    """``{student id: name shown}``: the id, or "learner N" in the order of the sorted ids."""
    students = sorted({r["student"] for r in results})
    return {s: (f"learner {n}" if anonymous else s) for n, s in enumerate(students, start=1)}


def _score_text(value: float) -> str:
    return f"{value:g}"


def _exercise(name: str, grade_id: str, section: str | None, graded: list[tuple[str, dict]]) -> dict:
    """One exercise's counts and mistakes; ``graded`` holds ``(learner, that exercise's result)``."""
    earned = [who for who, e in graded if e["score"] >= e["max_score"]]
    failed = [(who, e) for who, e in graded if e["score"] < e["max_score"]]
    groups: dict[tuple[str, str | None], list[tuple[str, dict]]] = {}
    for who, e in failed:
        mistake = e.get("mistake") or OTHER
        key = (mistake, _text(e.get("message")) if mistake == OTHER else None)
        groups.setdefault(key, []).append((who, e))
    mistakes = []
    for (mistake, message), members in groups.items():
        hints = Counter(h for _, e in members if (h := hint_of(e.get("message"))))
        mistakes.append(
            {
                "id": mistake,
                "message": message,
                "count": len(members),
                "hints": [
                    {"text": t, "count": c} for t, c in sorted(hints.items(), key=lambda x: (-x[1], x[0]))
                ],
                "learners": [
                    {"learner": who, "hint": hint_of(e.get("message")), "failed_in": e.get("failed_in")}
                    for who, e in sorted(members, key=lambda m: m[0])
                ],
            }
        )
    # named mistakes first, most frequent first; then the undiagnosed ones, by how often their message came
    mistakes.sort(key=lambda m: (m["id"] == OTHER, -m["count"], m["id"], m["message"] or ""))
    max_score = max((e["max_score"] for _, e in graded), default=0.0)
    return {
        "name": name,
        "grade_id": grade_id,
        "section": section,
        "max_score": max_score,
        "earned": len(earned),
        "failed": len(failed),
        "mistakes": mistakes,
    }


def _notes(result: dict) -> list[str]:
    notes = list(result.get("notes") or [])
    if result.get("sandbox") is False:
        notes.append("graded without the sandbox (--no-sandbox): the learner's code ran unconfined")
    return notes


def build(results: list[dict], course: Path, *, anonymous: bool = False) -> dict:
    """The report's data (what ``--report-json`` writes) from a run's (or merged shards') results."""
    names = learner_names(results, anonymous)
    assignments = []
    for assignment in sorted({r["assignment"] for r in results}):
        mine = sorted(
            (r for r in results if r["assignment"] == assignment), key=lambda r: names[r["student"]]
        )
        title, sections = course_outline(course, assignment)
        ungradable = [r for r in mine if ungradable_reason(r)]
        graded = [r for r in mine if not ungradable_reason(r)]
        order = [e["grade_id"] for r in graded for e in r["exercises"]]
        exercises = []
        for grade_id in dict.fromkeys(order):
            per_learner = [
                (names[r["student"]], e) for r in graded for e in r["exercises"] if e["grade_id"] == grade_id
            ]
            name = diagnose.exercise_name(grade_id)
            exercises.append(_exercise(name, grade_id, sections.get(name), per_learner))
        scores = [r["score"] for r in graded]
        max_score = max((r["max_score"] for r in graded), default=0.0)
        seconds = [r["seconds"] for r in mine if isinstance(r.get("seconds"), int | float)]
        assignments.append(
            {
                "id": assignment,
                "title": title,
                "max_score": max_score,
                "notebooks": len(mine),
                "graded": len(graded),
                "full_marks": sum(1 for r in graded if max_score and r["score"] >= max_score),
                "mean_score": round(statistics.fmean(scores), 2) if scores else None,
                "median_score": statistics.median(scores) if scores else None,
                "median_seconds": round(statistics.median(seconds), 1) if seconds else None,
                "score_counts": [
                    {"score": s, "learners": c}
                    for s, c in sorted(Counter(scores).items(), key=lambda x: x[0])
                ],
                "exercises": exercises,
                "ungradable": [
                    {"learner": names[r["student"]], "reason": ungradable_reason(r)} for r in ungradable
                ],
                "learners": [
                    {
                        "learner": names[r["student"]],
                        "score": None if ungradable_reason(r) else r["score"],
                        "max_score": r["max_score"] or max_score,
                        "seconds": r.get("seconds"),
                        "peak_mb": r.get("peak_mb"),
                        "notes": _notes(r),
                    }
                    for r in mine
                ],
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "anonymous": anonymous,
        "learners": len(names),
        "notebooks": len(results),
        "assignments": assignments,
    }


# ----------------------------------------------------------------------------- the page


def score_figure(assignment: dict) -> tuple[str, str]:
    """The assignment's score distribution as an SVG data URI, and its alt text."""
    import matplotlib
    from matplotlib.figure import Figure

    from ..plots import MAIN

    maximum = assignment["max_score"]
    counts = {c["score"]: c["learners"] for c in assignment["score_counts"]}
    xs = sorted(set(counts) | {float(p) for p in range(int(maximum) + 1)})
    ys = [counts.get(x, 0) for x in xs]
    with matplotlib.rc_context({"svg.hashsalt": "mnistlib-class-report", "svg.fonttype": "path"}):
        fig = Figure(figsize=(4.2, 2.4), layout="constrained")
        ax = fig.add_subplot()
        ax.bar([_score_text(x) for x in xs], ys, color=MAIN, width=0.7)
        ax.set_xlabel(f"score (out of {_score_text(maximum)})")
        ax.set_ylabel("learners")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    uri = "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue().encode()).decode()
    parts = [f"{y} scored {_score_text(x)}" for x, y in zip(xs, ys, strict=True) if y]
    alt = (
        f"Bar chart of the scores of the {assignment['graded']} graded notebooks of {assignment['id']}, "
        f"out of {_score_text(maximum)} points: " + ("; ".join(parts) if parts else "none graded") + "."
    )
    return uri, alt


def render_html(data: dict) -> str:
    """The self-contained HTML page of :func:`build`'s data."""
    import jinja2
    import markupsafe

    from .. import __version__

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "."),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["score"] = _score_text
    figures = {a["id"]: score_figure(a) for a in data["assignments"] if a["graded"]}
    sorter = resources.files(__package__).joinpath(SORTER_FILE).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(sorter.encode()).digest()).decode()
    return env.get_template(TEMPLATE_FILE).render(
        data=data,
        figures=figures,
        version=__version__,
        OTHER=OTHER,
        sorter=markupsafe.Markup(sorter),
        sorter_hash=f"sha256-{digest}",
    )


def write(
    results: list[dict],
    course: Path,
    *,
    html: Path | None = None,
    json_path: Path | None = None,
    anonymous: bool = False,
) -> dict:
    """Write the report's page and/or JSON (each whole or not at all); return its data."""
    data = build(results, course, anonymous=anonymous)
    if html is not None:
        atomic_write(Path(html), render_html(data))
    if json_path is not None:
        atomic_write(Path(json_path), json.dumps(data, indent=1) + "\n")
    return data


def add_arguments(parser) -> None:
    """The report's options, for ``mnistlib grade`` and ``mnistlib grade merge``."""
    parser.add_argument(
        "--report",
        type=Path,
        metavar="HTML",
        help="write the class report: what the class got wrong, by mistake, per exercise (one HTML page)",
    )
    parser.add_argument(
        "--report-json", type=Path, metavar="JSON", help="write the class report's data as JSON"
    )
    parser.add_argument(
        "--anonymous", action="store_true", help="in the report, name learners 'learner 1', 'learner 2', ..."
    )
