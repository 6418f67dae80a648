"""``mnistlib export prairielearn``: an externally graded PrairieLearn question per assignment.

    mnistlib export prairielearn [ASSIGNMENT...] --out DIR [--image NAME]

writes, following PrairieLearn's external grading documentation
(github.com/PrairieLearn/PrairieLearn, docs/externalGrading.md)::

    DIR/questions/mnistlib-<id>/info.json       gradingMethod External, externalGradingOptions
    DIR/questions/mnistlib-<id>/question.html   a file upload for <id>.ipynb, the grader's results
    DIR/questions/mnistlib-<id>/tests/          entrypoint (run per submission) and its settings
    DIR/image/Dockerfile, wheels/, mnist/       the grading image those questions name (--image)
    DIR/assessment/infoAssessment.json          a Homework with every question at its notebook's points
    DIR/course-topic/infoCourse-topic.json      the topic the questions name, for infoCourse.json

Copy ``questions/*`` into your course's ``questions/`` folder and the assessment into a course
instance, add the topic to ``infoCourse.json``, build (``--platform linux/amd64``) and push the
image to a public registry PrairieLearn pulls from (Docker Hub, ghcr.io, quay.io, GitLab's,
ECR Public), and sync it on the course's Sync page. In the
container, ``python -m mnistlib.export.prairielearn run`` grades ``/grade/student/`` and writes
``/grade/results/results.json``; ``MNISTLIB_GRADE_ROOT`` replaces ``/grade`` (tests, trying out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

from ..grading import limits
from . import build, results

ROOT_ENV = "MNISTLIB_GRADE_ROOT"
DEFAULT_ROOT = "/grade"
DEFAULT_IMAGE = "mnist-keras-course/grader"
ENTRYPOINT = "/grade/tests/entrypoint"
#: PrairieLearn's limit for externalGradingOptions.timeout (seconds).
MAX_TIMEOUT = 600
TOPIC = "Deep learning on MNIST"
#: The registries PrairieLearn pulls grading images from (its docs/dockerImages.md, "Supported
#: registries"): public images only, no other host, no subdomain, no port. None: Docker Hub's short form.
REGISTRIES = ("docker.io", "index.docker.io", "registry-1.docker.io", "ghcr.io", "quay.io",
              "registry.gitlab.com", "public.ecr.aws")  # fmt: skip


def check_image(image: str) -> str:
    """``image`` if PrairieLearn would pull it; :class:`build.ExportError` naming the registries otherwise."""
    first, _, rest = image.partition("/")
    host = first if rest and ("." in first or ":" in first or first == "localhost") else None
    if not image or any(c.isspace() for c in image) or (host is not None and host not in REGISTRIES):
        raise build.ExportError(
            f"--image {image}: PrairieLearn pulls grading images only from public repositories on Docker "
            "Hub (org/image:tag), ghcr.io, quay.io, registry.gitlab.com or public.ecr.aws, without a port; "
            "for example --image ghcr.io/your-org/mnist-grader:1"
        )
    return image


def assessment_json(points: dict[str, float]) -> dict:
    """A Homework assessment holding each question at its notebook's points (infoAssessment.json)."""
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/mnist-keras-course/assessment")),
        "type": "Homework",
        "title": "MNIST notebooks (autograded)",
        "set": "Homework",
        "number": "1",
        "allowAccess": [{"credit": 100}],
        "zones": [
            {
                "title": "Notebooks",
                "questions": [
                    {"id": f"mnistlib-{a}", "autoPoints": p, "maxAutoPoints": p} for a, p in points.items()
                ],
            }
        ],
    }


def topic_json() -> dict:
    """The entry of infoCourse.json's ``topics`` that the questions' ``topic`` names."""
    return {
        "name": TOPIC,
        "color": "blue1",
        "description": "The autograded notebooks of mnist-keras-course (mnistlib export prairielearn).",
    }


def info_json(assignment: str, *, image: str, timeout: int) -> dict:
    title = assignment.split("-", 1)[1].replace("-", " ").capitalize() if "-" in assignment else assignment
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://github.com/mnist-keras-course/{assignment}")),
        "title": f"{assignment[:2]}. {title} (notebook)",
        "topic": TOPIC,
        "tags": ["mnist-keras-course", "notebook"],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": True,
            "image": image,
            "entrypoint": ENTRYPOINT,
            "timeout": timeout,
        },
    }


def export(assignments: list[str], out: Path, *, wheel: Path | None, image: str, grading_timeout: int,
           timeout: int, memory_mb: int) -> list[Path]:  # fmt: skip
    """Write the questions and the image folder into ``out``; the question folders."""
    if not 1 <= grading_timeout <= MAX_TIMEOUT:
        raise build.ExportError(
            f"--grading-timeout {grading_timeout}: PrairieLearn allows 1 to {MAX_TIMEOUT} s"
        )
    check_image(image)
    chosen = build.chosen_assignments(assignments)
    mnist = build.mnist_files()
    made = []
    with tempfile.TemporaryDirectory(prefix="mnistlib-export-") as tmp:
        wheel_file = build.build_wheel(Path(tmp), wheel)
        image_files: dict[str, bytes | Path] = {
            "Dockerfile": build.script("Dockerfile").encode(),
            **{f"wheels/{w.name}": w for w in build.both_wheels(wheel_file)},  # learner's + grader's
            "mnist/SHA256SUMS": build.sha256sums(mnist).encode(),
            **{f"mnist/{name}": path for name, path in mnist.items()},
        }
        build.write_folder(out / "image", image_files)
    for assignment in chosen:
        config = build.settings(assignment, timeout=timeout, memory_mb=memory_mb)
        html = build.script("question.html").format(assignment=assignment, notebook=f"{assignment}.ipynb")
        members: dict[str, bytes | Path] = {
            "info.json": build.config_bytes(info_json(assignment, image=image, timeout=grading_timeout)),
            "question.html": html.encode(),
            "tests/entrypoint": build.script("entrypoint").encode(),
            f"tests/{build.CONFIG}": build.config_bytes(config),
        }
        made.append(
            build.write_folder(out / "questions" / f"mnistlib-{assignment}", members, {"tests/entrypoint"})
        )
    points = {a: build.assignment_points(a) for a in chosen}
    build.write_folder(
        out / "assessment", {"infoAssessment.json": build.config_bytes(assessment_json(points))}
    )
    build.write_folder(out / "course-topic", {"infoCourse-topic.json": build.config_bytes(topic_json())})
    return made


def run(root: Path) -> dict:
    """Grade ``root/student`` and write ``root/results/results.json``, whatever happens."""
    started = time.perf_counter()
    config: dict = {}
    try:
        config = json.loads((root / "tests" / build.CONFIG).read_text(encoding="utf-8"))
        outcome = results.grade_submission(
            root / "student",
            config["assignment"],
            timeout=int(config["timeout"]),
            memory_mb=int(config["memory_mb"]),
        )
    except Exception as err:  # noqa: BLE001 - whatever happens, a result with a reason
        traceback.print_exc(file=sys.stdout)
        outcome = results.crashed(str(config.get("assignment", "?")), err)
    payload = results.prairielearn(outcome, config, time.perf_counter() - started)
    from ..grading.shards import write_json_atomic

    write_json_atomic(root / "results" / "results.json", payload)
    return payload


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mnistlib export prairielearn",
        description=__doc__.split("\n\n")[0].replace("``", "`"),  # help is plain text, not reST
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1].replace("``", "`"),
    )
    p.add_argument("assignments", nargs="*", help="assignment ids, e.g. 02-reshaping (default: all nine)")
    p.add_argument(
        "--out", type=Path, required=True, help="folder for questions/ and image/ (created if missing)"
    )
    p.add_argument(
        "--wheel", type=Path, help="the course wheel to install (default: built from this checkout)"
    )
    p.add_argument(
        "--image",
        default=DEFAULT_IMAGE,
        help="the grading image's public name, on Docker Hub (org/image:tag) or ghcr.io, quay.io, "
        f"registry.gitlab.com, public.ecr.aws (default {DEFAULT_IMAGE})",
    )
    p.add_argument(
        "--grading-timeout",
        type=int,
        default=300,
        help="seconds PrairieLearn lets one grading job run (default 300; PrairieLearn's own default, 30, "
        "is shorter than a notebook's grading, see docs/benchmarks.md)",
    )
    limits.add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:  # inside the grading container (tests/entrypoint)
        p = argparse.ArgumentParser(prog="python -m mnistlib.export.prairielearn run")
        p.add_argument("--root", type=Path, default=Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT))
        run(p.parse_args(argv[1:]).root)
        return 0
    args = build_parser().parse_args(argv)
    try:
        made = export(
            args.assignments,
            args.out,
            wheel=args.wheel,
            image=args.image,
            grading_timeout=args.grading_timeout,
            timeout=args.timeout,
            memory_mb=args.memory_mb,
        )
    except build.ExportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in made:
        print(path)
    print(
        f"{len(made)} question(s) in {args.out / 'questions'}; the grading image to build: {args.out / 'image'}\n"
        f"assessment: {args.out / 'assessment' / 'infoAssessment.json'} (copy it into a course instance's "
        "assessments/ folder)\n"
        f'add the entry in {args.out / "course-topic" / "infoCourse-topic.json"} to the "topics" list of '
        f"your infoCourse.json: the questions' topic, {TOPIC!r}, must be declared there"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
