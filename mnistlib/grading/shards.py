"""Grading a class in shards, on as many machines as a batch scheduler gives: split, then merge.

    mnistlib grade course/submitted --shard 2/3            grade one third, write mnistlib-shard-2-of-3.json
    mnistlib grade merge mnistlib-shard-*-of-3.json --csv grades.csv

Every shard lists the same class folder and splits it the same way, so N independent runs (a
Slurm array job, a Kubernetes Indexed Job) grade every submission exactly once, with no shared
state but the class folder. The split is

* **deterministic**: it depends only on the submissions found and on the course's source
  (never on this machine's remembered timings, which differ from node to node), so a re-run of
  shard 2 grades exactly what the first run of shard 2 graded;
* **balanced by expected cost**: learners are the units (a learner's notebooks stay together, as in
  :func:`mnistlib.grading.command.order_jobs`), each costing the sum of its notebooks' estimated seconds
  (:func:`mnistlib.grading.command.grading_cost` from the source); the most expensive learners are dealt
  first, each to the shard with the least work so far (ties: the lower shard number).

Each shard writes a results file that also names the whole class (every learner and assignment
found, and a fingerprint of that list), so ``merge`` can tell a missing shard, a shard of another
class or split, and a submission graded twice.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from ..files import atomic_write

FORMAT = "mnistlib-shard-results"
VERSION = 1


class ShardError(ValueError):
    """A problem with a shard argument or a results file, worth one clear line."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``; shards count from 1, as Slurm's ``--array=1-3`` does."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ShardError(
            f"--shard {text!r}: write it as I/N, e.g. 2/3 for the second of three shards"
        ) from None
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard {text}: I must be between 1 and N (shards count from 1), and N at least 1")
    return index, count


def job_key(job: dict) -> str:
    return f"{job['student']}/{job['assignment']}"


def class_fingerprint(jobs: list[dict]) -> str:
    """A short hash of the class's job list: shards of one class and split carry the same one."""
    keys = "\n".join(sorted(job_key(j) for j in jobs))
    return hashlib.sha256(keys.encode()).hexdigest()[:16]


def split(jobs: list[dict], count: int, cost) -> list[list[dict]]:
    """``jobs`` dealt into ``count`` shards, learner by learner, balanced by ``cost(assignment)``.

    Greedy "longest first": learners sorted by descending total cost (then by name, so that the
    order never depends on the order the jobs came in), each added to the least-loaded shard.
    """
    learners: dict[str, list[dict]] = {}
    for job in jobs:
        learners.setdefault(job["student"], []).append(job)
    costs = {a: float(cost(a)) for a in {j["assignment"] for j in jobs}}
    weight = {s: sum(costs[j["assignment"]] for j in js) for s, js in learners.items()}
    shards: list[list[dict]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for student in sorted(learners, key=lambda s: (-weight[s], s)):
        target = min(range(count), key=lambda i: (loads[i], i))
        shards[target].extend(sorted(learners[student], key=lambda j: j["assignment"]))
        loads[target] += weight[student]
    return shards


def default_results_path(index: int, count: int) -> Path:
    return Path(f"mnistlib-shard-{index}-of-{count}.json")


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` through a temporary file renamed over it: never half a file."""
    atomic_write(path, json.dumps(payload, indent=1))


def shard_payload(
    index: int,
    count: int,
    all_jobs: list[dict],
    mine: list[dict],
    results: list[dict],
    assignments: list[str],
) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "shard": index,
        "of": count,
        "class": class_fingerprint(all_jobs),
        "assignments": assignments,
        "all_jobs": sorted(job_key(j) for j in all_jobs),
        "jobs": sorted(job_key(j) for j in mine),
        "results": results,
    }


def read_shard(path: Path) -> dict:
    """One shard's results file, checked; :class:`ShardError` naming the file otherwise."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShardError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ShardError(f"{path}: not a shard results file ({err})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ShardError(f"{path}: not a shard results file (`mnistlib grade CLASS --shard I/N` writes them)")
    if payload.get("version") != VERSION:
        raise ShardError(
            f"{path}: results file version {payload.get('version')}, this mnistlib reads {VERSION}"
        )
    return payload


def merge(paths: list[Path]) -> tuple[list[dict], list[str], list[str]]:
    """The results of all shards, in one list; the assignments; the problems (missing work).

    Refuses (:class:`ShardError`) files of different classes or splits, a shard given twice, and
    a submission graded in two files. Missing shards and learners are returned as problems.
    """
    shards = [(path, read_shard(path)) for path in paths]
    if not shards:
        raise ShardError("no shard results files given")
    first_path, first = shards[0]
    seen_shards: dict[int, Path] = {}
    graded: dict[str, Path] = {}
    results: list[dict] = []
    for path, shard in shards:
        if (shard["of"], shard["class"]) != (first["of"], first["class"]):
            raise ShardError(
                f"{path} is shard {shard['shard']}/{shard['of']} of class {shard['class']}, but "
                f"{first_path} is shard {first['shard']}/{first['of']} of class {first['class']}: "
                "merge the shards of one run (same class folder, same N)"
            )
        if shard["shard"] in seen_shards:
            raise ShardError(
                f"shard {shard['shard']}/{shard['of']} is given twice: {seen_shards[shard['shard']]} and {path}"
            )
        seen_shards[shard["shard"]] = path
        for result in shard["results"]:
            key = job_key(result)
            if key in graded:
                raise ShardError(f"{key} is graded in both {graded[key]} and {path}; merge each shard once")
            graded[key] = path
            results.append(result)
    problems = []
    total = first["of"]
    missing_shards = sorted(set(range(1, total + 1)) - set(seen_shards))
    if missing_shards:
        problems.append(
            f"missing shard(s) {', '.join(f'{i}/{total}' for i in missing_shards)}: "
            "run them (or find their results files) and merge again"
        )
    missing = sorted(set(first["all_jobs"]) - set(graded))
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        problems.append(f"{len(missing)} submission(s) not graded in any file: {shown}")
    order = {key: n for n, key in enumerate(first["all_jobs"])}
    results.sort(key=lambda r: order.get(job_key(r), len(order)))
    return results, list(first["assignments"]), problems


def select(jobs: list[dict], shard: str, cost) -> tuple[int, int, list[dict]]:
    """``(I, N, this shard's jobs)`` for ``--shard I/N``; ``cost(assignment)`` is the split's estimate
    (:func:`mnistlib.grading.command.grading_cost` of the source only, the same on every machine)."""
    index, count = parse_shard(shard)
    return index, count, split(jobs, count, cost)[index - 1]


def write_shard(
    args, index: int, count: int, class_jobs: list[dict], results: list[dict], assignments
) -> int:
    """Write shard ``index``'s results file; 0 when every one of its notebooks was graded, else 1.

    Low marks are not a failure here (a scheduler would retry the task): only notebooks the grader
    could not grade at all (``error``) are, so that a re-run of the shard grades them again.
    """
    present = [a for a in assignments if any(j["assignment"] == a for j in class_jobs)]
    mine = {job_key(r) for r in results}
    path = args.results or default_results_path(index, count)
    payload = shard_payload(
        index, count, class_jobs, [j for j in class_jobs if job_key(j) in mine], results, present
    )
    write_json_atomic(path, payload)
    failed = [job_key(r) for r in results if r.get("error")]
    learners = len({r["student"] for r in results})
    print(
        f"shard {index}/{count}: {len(results)} notebook(s) of {learners} learner(s) graded "
        f"(class: {len(class_jobs)} notebook(s)); results written to {path}"
    )
    for key in failed:
        print(f"error: {key} could not be graded; run this shard again", file=sys.stderr)
    return 1 if failed else 0
