"""Every shell block of README.md, CONTRIBUTING.md and docs/instructor.md has a test that runs it.

``RUN_BY`` names, for each block (document, heading, number under that heading), the test that
runs its commands as written. A new or moved block without an entry fails here, and so does an
entry whose test does not exist or does not read that block from the document.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from doc_commands import REPO, all_shell_blocks, block, blocks, strip_comment

TESTS = Path(__file__).resolve().parents[1]  # RUN_BY names tests by their path under tests/

RUN_BY = {
    ("README.md", "Quickstart", 0): [
        "docs/test_fresh_clone.py::test_make_lab_opens_notebook_01_of_my_work",
        "docs/test_docs.py::test_ci_runs_the_readmes_test_command",  # `make test` is what CI runs
    ],
    ("README.md", "Quickstart", 1): ["fresh_clone.py::fresh_clone"],
    ("README.md", "Quickstart", 2): [
        "docs/test_fresh_clone.py::test_readme_plain_commands_open_notebook_01",
        "docs/test_fresh_clone.py::test_copy_release_never_overwrites_a_learners_work",
    ],
    ("README.md", "Quickstart", 3): [
        "docs/test_fresh_clone.py::test_readme_test_commands_lint_cleanly_and_are_what_make_test_runs"
    ],
    ("README.md", "Where the data comes from", 0): ["docs/test_fresh_clone.py::test_readme_data_commands"],
    ("README.md", "Where am I, and hints", 0): [
        "test_progress.py::test_readme_progress_command",
        "docs/test_fresh_clone.py::test_make_lab_opens_notebook_01_of_my_work",  # after a check passed
    ],
    ("README.md", "Without a checkout: pip, or Google Colab", 0): [
        "test_wheel.py::test_course_start_copies_the_notebooks_and_opens_notebook_01"
    ],
    ("CONTRIBUTING.md", "How the pieces fit", 0): [
        "docs/test_fresh_clone.py::test_contributing_generate_and_drift_check"
    ],
    ("CONTRIBUTING.md", "Tests", 0): [
        "docs/test_fresh_clone.py::test_contributing_runs_one_module_as_written"
    ],
    ("docs/instructor.md", "1. Set up (once)", 0): [
        "fresh_clone.py::fresh_clone",
        "fresh_clone.py::guide_clone",
    ],
    ("docs/instructor.md", "1. Set up (once)", 1): [
        "grading/test_sandbox_check.py::test_the_guides_check_runs_as_written_in_the_guides_venv"
    ],
    **{
        ("docs/instructor.md", "2. Single machine", n): ["docs/test_instructor.py::walkthrough"]
        for n in range(8)
    },
    ("docs/instructor.md", "3. JupyterHub with nbgrader's exchange", 0): ["course_wheels.py::built"],
    ("docs/instructor.md", "3. JupyterHub with nbgrader's exchange", 1): ["test_wheel.py::installed"],
    ("docs/instructor.md", "3. JupyterHub with nbgrader's exchange", 2): [
        "test_wheel.py::test_instructor_copies_the_course_and_nbgrader_runs_from_the_copy"
    ],
    # Grading at scale: the Slurm and Kubernetes scripts are ```text / ```yaml blocks (no scheduler
    # here); grading/test_shards.py::graded runs their `mnistlib` lines, then this merge block.
    ("docs/instructor.md", "Merging the shards", 0): ["grading/test_shards.py::graded"],
    ("docs/instructor.md", "Gradescope", 0): ["export/test_gradescope.py::exported"],
    ("docs/instructor.md", "PrairieLearn", 0): ["export/test_prairielearn.py::exported"],
    **{
        ("docs/instructor.md", "7. What the class got wrong: the class report", n): [
            "grading/test_report.py::planted"
        ]
        for n in range(2)
    },
}


def test_every_shell_block_has_a_test():
    keys = {b.key for b in all_shell_blocks()}
    assert keys - set(RUN_BY) == set(), "blocks no test runs (add a test and a RUN_BY entry)"
    assert set(RUN_BY) - keys == set(), "RUN_BY names blocks the documents no longer have"


def test_each_named_test_exists_and_reads_its_block():
    for (doc, heading, _), runners in RUN_BY.items():
        for runner in runners:
            file, name = runner.split("::")
            text = (TESTS / file).read_text()
            assert re.search(rf"^def {name}\(", text, flags=re.M), f"{runner} does not exist"
            if file != "docs/test_docs.py":
                quoted = {f'"{heading}"', f"'{heading}'"}  # as the runner writes it: "A" or 'A'
                assert any(q in text for q in quoted), f"{runner} never reads {doc}: {heading!r}"


def test_ci_runs_the_readmes_test_command():
    commands = block("README.md", "Quickstart").commands
    assert "make test" in commands
    ci = [strip_comment(line).strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert "make test" in ci, ".ci/run must run the README's test command"


def test_make_test_fast_runs_the_fast_tier_the_documents_name():
    """README and CONTRIBUTING name `make test-fast` and its plain command: the Makefile runs exactly
    that, after the same lint as `make test`; `make test` itself selects nothing (the whole suite). Both on two workers (pytest-xdist)."""
    import subprocess

    command = '.venv/bin/python -m pytest -n 2 -m "not slow"'
    for doc in ("README.md", "CONTRIBUTING.md"):
        text = (REPO / doc).read_text()
        assert "`make test-fast`" in text and command in text, f"{doc} does not name the fast tier"
    env = {**os.environ, "MAKEFLAGS": ""}
    fast = subprocess.run(["make", "-n", "test-fast"], cwd=REPO, capture_output=True, text=True, env=env)
    full = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True, env=env)
    assert fast.returncode == 0 and full.returncode == 0, fast.stderr + full.stderr
    assert command in fast.stdout.splitlines()
    assert ".venv/bin/python -m ruff check ." in fast.stdout
    assert ".venv/bin/python -m pytest -n 2" in full.stdout.splitlines() and "not slow" not in full.stdout


def test_blocks_are_read_with_headings_numbers_and_comments_handled(tmp_path, monkeypatch):
    import doc_commands

    (tmp_path / "doc.md").write_text(
        "# Title\n\n## Part one\n\n```bash\nls -l   # list\necho '# not a comment' \\\n  done\n```\n\n"
        "```python\nx = 1\n```\n\n```sh\npwd\n```\n\n## Part two\n\n    ```bash\n    make all\n    ```\n"
    )
    monkeypatch.setattr(doc_commands, "REPO", tmp_path)
    found = blocks("doc.md")
    assert [b.key for b in found] == [
        ("doc.md", "Part one", 0),
        ("doc.md", "Part one", 1),
        ("doc.md", "Part two", 0),
    ]
    assert found[0].commands == ["ls -l", "echo '# not a comment' done"]
    assert found[2].commands == ["make all"]
    assert blocks("doc.md", {"python"})[0].text == "x = 1\n"
