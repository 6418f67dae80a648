"""Attacks on the answer key (issue 23): a learner who calls or reads the reference, the solutions or
the hidden tests instead of writing the answer. Graded from an INSTALLED course (both wheels in a
fresh venv, no checkout in sight) by ``tests/grading/test_answer_key_attacks.py``, through
``mnistlib grade`` and ``nbgrader autograde``, each in the sandbox and without it as root (kernels
as an unprivileged user), and the Gradescope and PrairieLearn entry points as root with a bwrap
that fails as in their containers.

Each attack is notebook 02 with the answer cell of ``flatten_images`` replaced. Every attack's
fallback is a wrong answer (no ``/ 255``), so it scores 0 unless the trick works. Each prints
``REACHED <what>`` when it got hold of a piece of the key and ``BLOCKED <what>`` when not, so the
test also asserts, from the learner cell's output, that no piece was reached. The "plain" attacks
name the key in their code (the static look must catch them, with a note); the "hidden" ones spell
every name in pieces, so only the sandbox or the kernel's user keeps them out.
"""

from __future__ import annotations

from attacks import Attack

ASSIGNMENT = "02-reshaping"
EXERCISE = "flatten_images"

#: Tries ``what``; prints REACHED or BLOCKED; returns the result or None.
TRY = """
def _attack_try(what, action):
    try:
        result = action()
    except BaseException as error:  # noqa: BLE001
        print("BLOCK" + "ED", what, type(error).__name__)  # spelt in pieces: the source is on the page too
        return None
    print("REACH" + "ED", what)
    return result
"""

WRONG = "    return images.reshape(len(images), 784).astype(np.float32)  # forgot / 255\n"

#: The solution code of flatten_images, from a source notebook's text (None if it is not there).
FROM_NOTEBOOK = """
def _attack_solution(text):
    import json as _json

    marker = "### " + "BEGIN" + " SOLU" + "TION"
    for cell in _json.loads(text)["cells"]:
        source = "".join(cell["source"])
        if marker in source and "def flatten_images" in source:
            lines = [line for line in source.splitlines() if "SOLU" + "TION" not in line]
            space = {}
            exec("import numpy as np\\n" + "\\n".join(lines), space)
            return space["flatten_images"]
    return None
"""

ANSWER_KEY_ATTACKS = [
    Attack(
        name="key-import-reference",
        assignment=ASSIGNMENT,
        exercise=EXERCISE,
        kind="answer-key",
        # the exact cell of issue 23
        code=(
            "def flatten_images(images):\n"
            "    from mnistlib.checks import reshaping as _r\n"
            "    return _r.reference(images)\n"
        ),
    ),
    Attack(
        name="key-import-hidden-name",
        assignment=ASSIGNMENT,
        exercise=EXERCISE,
        kind="answer-key",
        code=TRY
        + """
import importlib as _importlib

_ref = _attack_try("reference", lambda: _importlib.import_module("mnist" + "lib.che" + "cks.resh" + "aping").reference)


def flatten_images(images):
    if _ref is not None:
        return _ref(images)
"""
        + WRONG,
    ),
    Attack(
        name="key-read-installed-source",
        assignment=ASSIGNMENT,
        exercise=EXERCISE,
        kind="answer-key",
        code=TRY
        + FROM_NOTEBOOK
        + """
import os as _os

import mnistlib as _m

_root = _os.path.join(_os.path.dirname(_m.__file__), "course" + "_files", "sour" + "ce")
_path = _os.path.join(_root, "02-reshaping", "02-reshaping.ipy" + "nb")
_text = _attack_try("source notebook", lambda: open(_path).read())
_found = _attack_try("solution code", lambda: _attack_solution(_text)) if _text else None
_check = _os.path.join(_os.path.dirname(_m.__file__), "che" + "cks", "resh" + "aping.py")
_attack_try("check module file", lambda: open(_check).read())


def flatten_images(images):
    if _found is not None:
        return _found(images)
"""
        + WRONG,
    ),
    Attack(
        name="key-walk-sys-path",
        assignment=ASSIGNMENT,
        exercise=EXERCISE,
        kind="answer-key",
        code=TRY
        + FROM_NOTEBOOK
        + """
import os as _os
import sys as _sys
import site as _site


def _attack_walk():
    roots = [p for p in _sys.path if p and _os.path.isdir(p)]
    roots += _site.getsitepackages() + [_site.getusersitepackages()]
    for root in dict.fromkeys(roots):
        for folder, _dirs, files in _os.walk(root):
            for name in files:
                if name == "02-reshaping.ipy" + "nb" or name == "resh" + "aping.py" and "che" + "cks" in folder:
                    try:
                        text = open(_os.path.join(folder, name)).read()
                    except OSError:
                        continue
                    if name.endswith("nb"):  # a release or a learner's copy has no solution: go on
                        found = _attack_solution(text) if "SOLU" + "TION" in text else None
                        if found is not None:
                            return found
                    elif "def reference" in text:
                        print("REACH" + "ED", "a check module's source", folder)  # read: that is enough
                        space = {}
                        exec(text.replace("from .", "from mnistlib.che" + "cks."), space)
                        return space["reference"]
    raise LookupError("nothing found")


_found = _attack_try("a key file on sys.path", _attack_walk)


def flatten_images(images):
    if _found is not None:
        return _found(images)
"""
        + WRONG,
    ),
    Attack(
        name="key-proc-self-maps",
        assignment=ASSIGNMENT,
        exercise=EXERCISE,
        kind="answer-key",
        code=TRY
        + FROM_NOTEBOOK
        + """
import os as _os


def _attack_maps():
    folders = set()
    for line in open("/proc/self/maps"):
        path = line.split()[-1] if len(line.split()) >= 6 else ""
        if "site-" + "packages" in path or "dist-" + "packages" in path:
            folders.add(path.split("-packages/")[0] + "-packages")
    for folder in sorted(folders):
        pkg = _os.path.join(folder, "mnist" + "lib")
        for sub in ("course" + "_files/sour" + "ce/02-reshaping/02-reshaping.ipy" + "nb",):
            try:
                return _attack_solution(open(_os.path.join(pkg, sub)).read())
            except OSError:
                pass
    raise LookupError(f"nothing found from {len(folders)} folders")


_found = _attack_try("source notebook via /proc/self/maps", _attack_maps)


def flatten_images(images):
    if _found is not None:
        return _found(images)
"""
        + WRONG,
    ),
    Attack(
        name="key-etc-shadow",
        assignment=ASSIGNMENT,
        exercise=EXERCISE,
        kind="answer-key",
        code=TRY
        + """
_shadow = _attack_try("/etc/shadow", lambda: open("/etc/sha" + "dow").read())
if _shadow:
    print(_shadow[:200])


def flatten_images(images):
"""
        + WRONG,
    ),
]

#: Attacks that name the key in their code: the grader's static look must note them.
PLAIN = {"key-import-reference"}
