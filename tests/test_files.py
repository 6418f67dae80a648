"""mnistlib.files: the one atomic write every module uses (cache, progress, grades, shards, timings).

A reader sees the old file or the new one, never half of one; an interrupted write leaves the old
file and no temporary file behind; a new file gets the usual permissions (a shared cache stays
readable by others).
"""

from __future__ import annotations

import ast
import os
import re
import stat
from pathlib import Path

import pytest

from mnistlib import files

PACKAGE = Path(files.__file__).parent


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


class Unwritable:
    """Not bytes-like: ``file.write`` raises TypeError halfway through the write."""


def test_a_write_creates_the_folder_and_leaves_only_the_file(tmp_path):
    target = tmp_path / "a" / "b" / "file"
    files.atomic_write(target, b"payload")
    assert target.read_bytes() == b"payload"
    files.atomic_write(target, "text, é\n")
    assert target.read_text(encoding="utf-8") == "text, é\n"
    assert listing(target.parent) == ["file"]


def test_a_bad_payload_leaves_the_old_file_and_no_partial_one(tmp_path):
    target = tmp_path / "sub" / "train-images-idx3-ubyte"
    with pytest.raises(TypeError):
        files.atomic_write(target, Unwritable())
    assert listing(target.parent) == []
    target.write_bytes(b"old complete file")
    with pytest.raises(RuntimeError), files.atomic_open(target, "w") as handle:
        handle.write("half of the new")
        raise RuntimeError("interrupted halfway")
    assert target.read_bytes() == b"old complete file"
    assert listing(target.parent) == ["train-images-idx3-ubyte"]


def test_an_interrupt_before_the_rename_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "train-labels-idx1-ubyte"
    target.write_bytes(b"old complete file")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(target, b"new" * 1000)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(tmp_path / "fresh", b"data")
    monkeypatch.undo()
    assert target.read_bytes() == b"old complete file"
    assert listing(tmp_path) == ["train-labels-idx1-ubyte"], "no .partial file may be left behind"


def test_new_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        files.atomic_write(tmp_path / "shared", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o644


def test_csv_text_keeps_its_own_line_ends(tmp_path):
    with files.atomic_open(tmp_path / "grades.csv", "w", newline="") as handle:
        handle.write("a,b\r\n1,2\n")
    assert (tmp_path / "grades.csv").read_bytes() == b"a,b\r\n1,2\n"
    with pytest.raises(ValueError, match="mode 'w' or 'wb'"), files.atomic_open(tmp_path / "x", "a"):
        pass


def test_no_module_renames_a_temporary_file_into_place_by_itself():
    """One atomic write: no other module of mnistlib writes a temporary file and ``os.replace``s it.

    (export/build.py swaps whole folders and zip archives into place, the bridge renames answers
    within a call folder through directory descriptors, progress.py sets a corrupt file aside:
    none of them is a file write.)"""
    allowed = {"files.py", "build.py", "bridge.py"}
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in allowed:
            continue
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func) == "os.replace"
                and re.search(r"partial|tmp|temp", ast.unparse(node.args[0]), re.IGNORECASE)
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == [], "use mnistlib.files.atomic_write / atomic_open in " + ", ".join(found)
