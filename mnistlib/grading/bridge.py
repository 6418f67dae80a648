"""Test cells judged in a clean process: the learner's functions called across a data-only bridge.

A learner's code runs in the same interpreter as anything else in its kernel, and
Python offers it every way to change what runs there later: IPython's input and
AST transformers, import hooks, patched NumPy or builtins, trace functions,
threads, objects whose ``__eq__`` lies. No defence inside that process can be
trusted. So the grader never judges there.

Each notebook is graded with two kernels:

* the **learner kernel** runs the notebook's own cells (inside the sandbox, see
  :mod:`mnistlib.grading.sandbox`);
* the **checker kernel** runs the test cells. It is forked from the grader's
  fork server and never runs a line of learner code. Before a test cell,
  :func:`bind` defines, in the checker, each learner name the cell uses
  (``flatten_images``) as a :class:`LearnerFunction`.

Calling a :class:`LearnerFunction` writes the arguments as *data* into a call
folder (a JSON tree, NumPy arrays as ``.npy`` files; Keras models as their
JSON config, weights and compile config; random generators as their state),
asks the learner kernel, as a second Jupyter client, to run :func:`serve` on
it, and reads the answer back the same way: the result, the arguments as the
function left them (a function that changes its input in place changes the
checker's copy the same way), the warnings it issued and the exception it
raised (re-raised in the checker as the nearest built-in exception type).
Objects keep their identity across the bridge (``compile_network(model) is
model``), within one test cell.

What the checker may believe: only what it computes itself from those values.
Everything read back is parsed as plain data: ``.npy`` files without pickles (an
ndarray subclass comes back as its plain data, as the checks see it through
``np.asarray``; an array of Python objects as its shape and dtype, each element
an :class:`Unreadable`), JSON, and Keras configs whose every ``module`` is Keras's own (no ``Lambda``
layers, no custom or built-in Python functions). Files are opened without
following symbolic links, and only under names the checker chose, since the
learner kernel can write into the call folder. Anything else comes back as an
:class:`Unreadable` placeholder that fails any check it meets.
"""

from __future__ import annotations

import builtins
import io
import json
import math
import os
import queue
import re
import stat
import sys
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

#: Largest file read back from a call folder (a full MNIST training set is 47 MB).
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Largest JSON tree read back.
MAX_JSON_BYTES = 16 * 1024 * 1024
#: Output of the learner's function forwarded into the test cell per call, in characters.
MAX_FORWARDED_OUTPUT = 20_000
#: Longest repr of an unreadable object kept for messages.
MAX_REPR = 300
#: Largest array of Python objects whose shape comes back (its elements as Unreadable placeholders).
MAX_OBJECTS = 1_000_000

_ARRAY_NAME = re.compile(r"[ck]a\d{1,7}\.npy")  # each side numbers its own: checker "ca1", kernel "ka1"
_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class BridgeError(RuntimeError):
    """The learner kernel did not answer a call with a readable value."""


class Unreadable:
    """Stands for a value the learner's function returned that the grader cannot read as data."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return f"<{self.type_name} object the grader cannot read: {self.text}>"

    __str__ = __repr__

    def _refuse(self, *_args, **_kwargs):
        raise TypeError(f"{self!r} cannot be used in a test: return NumPy arrays, numbers, lists or dicts")

    __array__ = __iter__ = __len__ = __getitem__ = __call__ = __float__ = __int__ = __index__ = _refuse
    __add__ = __radd__ = __sub__ = __mul__ = __truediv__ = __matmul__ = _refuse


# ----------------------------------------------------------------------------- the codec


def _type_name(value) -> str:
    try:
        kind = type(value)
        return f"{kind.__module__}.{kind.__qualname__}"
    except Exception:  # noqa: BLE001 - a learner's metaclass may raise anything
        return "object"


def _safe_repr(value) -> str:
    try:
        text = repr(value)
    except Exception as error:  # noqa: BLE001
        text = f"(its repr raised {type(error).__name__})"
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 3] + "..."


def _is_keras_model(value) -> bool:
    # Look at the class's own modules first: touching keras.Model in a kernel that never used
    # Keras would start TensorFlow (seconds, and hundreds of MB) just to answer "no".
    try:
        mro = type(value).__mro__
    except Exception:  # noqa: BLE001
        return False
    if not any(str(getattr(k, "__module__", "")).startswith("keras") for k in mro):
        return False
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.Model)


def _is_tensor(value) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "numpy")


def check_keras_config(tree, where: str = "config") -> None:
    """Refuse a Keras config that names anything but Keras's own classes and functions."""
    if isinstance(tree, dict):
        module = tree.get("module")
        if module is not None and not (
            isinstance(module, str) and (module == "keras" or module.startswith("keras."))
        ):
            raise BridgeError(f"the model's {where} names the module {module!r}: only Keras's own layers")
        registered = tree.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            raise BridgeError(f"the model's {where} uses the custom object {registered!r}")
        if tree.get("class_name") in {"Lambda", "TFOpLambda", "function"} and "module" in tree:
            if tree.get("class_name") != "function" or not str(module).startswith("keras."):
                raise BridgeError(f"the model's {where} holds Python code ({tree.get('class_name')})")
        for key, value in tree.items():
            check_keras_config(value, f"{where}.{key}")
    elif isinstance(tree, list):
        for value in tree:
            check_keras_config(value, where)


class Codec:
    """Values to and from a JSON tree plus ``.npy`` files in one call folder, keeping identities.

    ``side`` is ``"c"`` in the checker and ``"k"`` in the learner kernel: each side numbers the
    mutable objects it created, and an object crossing back is matched to the original by number.
    """

    def __init__(self, side: str):
        self.side = side
        self.objects: dict[str, object] = {}  # "c3" / "k7" -> object, on this side
        self.numbers: dict[int, str] = {}  # id(object) -> its number (objects kept alive in .objects)
        self.folder_fd: int | None = None
        self.files = 0

    def reset(self) -> None:
        self.objects.clear()
        self.numbers.clear()

    # -- writing
    def _ref(self, value) -> str:
        ref = self.numbers.get(id(value))
        if ref is None or self.objects.get(ref) is not value:
            ref = f"{self.side}{len(self.objects) + 1}"
            self.objects[ref] = value
            self.numbers[id(value)] = ref
        return ref

    def _save_array(self, array: np.ndarray) -> str:
        self.files += 1
        name = f"{self.side}a{self.files}.npy"  # never a name the other side wrote (O_EXCL)
        with _create(self.folder_fd, name) as file:
            np.save(file, array, allow_pickle=False)
        return name

    def encode(self, value, depth: int = 0):
        if depth > 20:
            return {"t": "unreadable", "type": _type_name(value), "repr": "nested more than 20 levels deep"}
        kind = type(value)
        if value is None or kind in (bool, str):
            return value
        if kind is int:
            return value if abs(value) < 2**63 else {"t": "bigint", "v": str(value)}
        if kind is float:
            return {"t": "float", "v": repr(value)}
        if kind is complex:
            return {"t": "complex", "re": value.real, "im": value.imag}
        if kind is bytes:
            return {"t": "bytes", "v": value.hex()}
        if isinstance(value, np.ndarray):
            if kind is not np.ndarray:
                # A subclass's data, as the checks see it through np.asarray; its methods (a lying
                # __eq__) stay behind. The unbound base method: a subclass cannot override it.
                value = np.ndarray.view(value, np.ndarray)
            if value.dtype.hasobject:
                # the shape and the object dtype are data; the objects are not, and stay behind
                if value.size > MAX_OBJECTS:
                    return {"t": "unreadable", "type": "numpy.ndarray", "repr": "an array of Python objects"}
                return {"t": "objects", "shape": list(value.shape)}
            return {
                "t": "array",
                "file": self._save_array(value),
                "ref": self._ref(value),
                "writeable": bool(value.flags.writeable),
                "strides": list(value.strides),
                "contiguous": bool(value.flags.c_contiguous or value.flags.f_contiguous),
                "owndata": bool(value.flags.owndata),
            }
        if isinstance(value, np.generic) and kind.__module__ == "numpy" and not value.dtype.hasobject:
            return {"t": "scalar", "file": self._save_array(np.asarray(value))}
        if kind in (list, tuple):
            items = [self.encode(item, depth + 1) for item in value]
            return {"t": kind.__name__, "items": items, "ref": self._ref(value) if kind is list else None}
        if kind is dict:
            pairs = [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]
            return {"t": "dict", "pairs": pairs, "ref": self._ref(value)}
        if kind is np.random.Generator:
            state = value.bit_generator.state
            return {"t": "generator", "state": json.loads(json.dumps(state)), "ref": self._ref(value)}
        if _is_keras_model(value):
            return self._encode_model(value)
        if _is_tensor(value):
            return {"t": "tensor", "file": self._save_array(np.asarray(value.numpy()))}
        if callable(value) and self.side == "k":
            return {"t": "function", "ref": self._ref(value), "name": getattr(value, "__name__", "function")}
        return {"t": "unreadable", "type": _type_name(value), "repr": _safe_repr(value)}

    def _encode_model(self, model) -> dict:
        compiled = bool(getattr(model, "compiled", False))
        return {
            "t": "model",
            "ref": self._ref(model),
            "config": json.loads(model.to_json()),
            "weights": [self._save_array(np.asarray(w)) for w in model.get_weights()],
            "compile": json.loads(json.dumps(model.get_compile_config(), default=str)) if compiled else None,
            "run_eagerly": bool(getattr(model, "run_eagerly", False)),
            "input_shape_args": [
                _plain(getattr(layer, "_input_shape_arg", None)) for layer in getattr(model, "layers", [])
            ],
        }

    # -- reading
    def _load_array(self, name) -> np.ndarray:
        if not isinstance(name, str) or not _ARRAY_NAME.fullmatch(name):
            raise BridgeError(f"bad array file name {name!r}")
        loaded = np.load(io.BytesIO(read_file(self.folder_fd, name, MAX_FILE_BYTES)), allow_pickle=False)
        # an array that owns its memory, as the caller's usually does (resize, .flags.writeable = True)
        return loaded if loaded.flags.owndata else loaded.copy(order="K")

    def decode(self, tree, depth: int = 0):
        if depth > 25:
            raise BridgeError("a value nested too deeply")
        if tree is None or type(tree) in (bool, int, str):
            return tree
        if type(tree) is float:
            return tree
        if type(tree) is not dict or not isinstance(tree.get("t"), str):
            raise BridgeError(f"unexpected value {type(tree).__name__} in the answer")
        t = tree["t"]
        if t == "float":
            return float(tree["v"])
        if t == "bigint":
            return int(tree["v"])
        if t == "complex":
            return complex(float(tree["re"]), float(tree["im"]))
        if t == "bytes":
            return bytes.fromhex(tree["v"])
        if t == "scalar":
            return self._load_array(tree["file"])[()]
        if t == "tensor":
            import keras

            return keras.ops.convert_to_tensor(self._load_array(tree["file"]))
        if t == "unreadable":
            return Unreadable(str(tree.get("type"))[:200], str(tree.get("repr"))[:MAX_REPR])
        if t == "objects":
            shape = tree.get("shape")
            if (
                not isinstance(shape, list)
                or len(shape) > 32
                or not all(type(n) is int and n >= 0 for n in shape)
                or math.prod(shape) > MAX_OBJECTS
            ):
                raise BridgeError("an array of Python objects of a bad shape")
            array = np.empty(shape, dtype=object)
            array.fill(Unreadable("object", "an element of an array of Python objects"))
            return array
        if t == "tuple":
            return tuple(self._decode_item(item, index, depth) for index, item in enumerate(tree["items"]))
        if t == "function":
            return self.function(tree)
        ref = tree.get("ref")
        existing = self.objects.get(ref) if isinstance(ref, str) else None
        if t == "array":
            array = self._load_array(tree["file"])
            if type(existing) is np.ndarray:
                try:
                    copy_back(existing, array, tree, strides=self.side == "c")
                    return existing
                except LayoutChanged:
                    if self.side == "c":
                        raise
                    # the learner's side: the checker's array replaces the one a former call left
            if tree.get("owndata") is False:
                array = array[...]  # a view, as the caller's was (it cannot be resized, for one)
            if tree.get("writeable") is False:
                array.flags.writeable = False
            return self._remember(ref, array)
        if t == "list":
            items = [self._decode_item(item, index, depth) for index, item in enumerate(tree["items"])]
            if type(existing) is list:
                existing[:] = items
                return existing
            return self._remember(ref, items)
        if t == "dict":
            pairs = []
            for k, v in tree["pairs"]:
                key = self.decode(k, depth + 1)
                pairs.append((key, self._decode_item(v, key, depth)))
            if type(existing) is dict:
                existing.clear()
                existing.update(pairs)
                return existing
            return self._remember(ref, dict(pairs))
        if t == "generator":
            state = tree["state"]
            if not isinstance(state, dict) or state.get("bit_generator") not in _GENERATORS:
                raise BridgeError("a random generator of an unknown kind")
            if type(existing) is np.random.Generator:
                existing.bit_generator.state = state
                return existing
            generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
            generator.bit_generator.state = state
            return self._remember(ref, generator)
        if t == "model":
            return self._decode_model(tree, existing)
        raise BridgeError(f"unexpected value kind {t!r} in the answer")

    def _decode_item(self, tree, key, depth: int):
        """An item of a list, tuple or dict; a refused change says which item (``["W1"]``)."""
        try:
            return self.decode(tree, depth + 1)
        except LayoutChanged as change:
            change.path = f"[{key!r}]{change.path}"
            raise

    def _remember(self, ref, value):
        if isinstance(ref, str) and ref and ref[0] != self.side:
            self.objects[ref] = value
            self.numbers[id(value)] = ref
        return value

    def _decode_model(self, tree: dict, existing):
        import keras

        check_keras_config(tree["config"])
        if tree.get("compile") is not None:
            check_keras_config(tree["compile"], "compile config")
        weights = [self._load_array(name) for name in tree["weights"]]
        if _is_keras_model(existing):
            model = existing
        else:
            model = keras.models.model_from_json(json.dumps(tree["config"]))
            for layer, shape in zip(model.layers, tree.get("input_shape_args") or [], strict=False):
                if shape is not None:
                    layer._input_shape_arg = tuple(shape) if isinstance(shape, list) else shape
        if weights or model.get_weights():
            model.set_weights(weights)
        if tree.get("compile") is not None:
            if json.loads(json.dumps(model.get_compile_config() or {}, default=str)) != tree["compile"]:
                model.compile_from_config(tree["compile"])
        model.run_eagerly = bool(tree.get("run_eagerly"))
        return self._remember(tree.get("ref"), model)

    def function(self, tree):  # pragma: no cover - replaced on each side
        raise BridgeError("a function where a value was expected")


class LayoutChanged(BridgeError):
    """An array came back changed in a way that cannot be made to the original exactly.

    ``change`` says how, in the words :func:`mnistlib.checks.call` uses for any in-place change.
    """

    SUBJECT = "\x00"  #: stands for what changed in ``template``: the array, or an entry of a dict or list

    def __init__(self, template: str):
        super().__init__(template.replace(self.SUBJECT, "the array"))
        self.template, self.path = template, ""

    @property
    def change(self) -> str:
        return self.template.replace(self.SUBJECT, f"the entry {self.path}" if self.path else "the array")


def copy_back(existing: np.ndarray, array: np.ndarray, tree: dict, strides: bool = True) -> None:
    """Make ``existing`` exactly what the other side's object became: ``array``'s shape, dtype and
    bytes, and the writeable flag and strides ``tree`` reports; or raise :class:`LayoutChanged`.

    Reassigning ``.shape`` or ``.dtype`` is redone here on the same object (the caller's own views
    see the new values as they would have); a change no attribute can redo (``resize`` to another
    size, new strides (looked for when ``strides``: on the checker's side), a read-only array made
    writeable whose base is read-only) is refused, never dropped.
    """
    writeable = tree.get("writeable") is not False
    it = LayoutChanged.SUBJECT  # the array, or the entry of a dict or list it is in
    if existing.shape != array.shape:
        change = f"the shape of {it} went from {existing.shape} to {array.shape}"
    else:
        change = f"the dtype of {it} went from {existing.dtype} to {array.dtype}"
    if existing.shape != array.shape or existing.dtype != array.dtype:
        if existing.nbytes != array.nbytes:
            raise LayoutChanged(change)
        try:
            if existing.dtype != array.dtype:
                existing.shape = (existing.size,)  # only a contiguous array can take a new dtype
                existing.dtype = array.dtype
            existing.shape = array.shape
        except (AttributeError, ValueError, TypeError):
            raise LayoutChanged(change) from None
    if strides and tree.get("contiguous") is False:  # it arrived contiguous: its strides were set
        raise LayoutChanged(
            f"the strides of {it} went from {existing.strides} to {tuple(tree.get('strides') or ())}"
        )
    if existing.tobytes() != array.tobytes():
        if not existing.flags.writeable:
            try:
                existing.flags.writeable = True
            except ValueError:
                raise LayoutChanged(f"{it}, read-only, was made writeable and written") from None
        existing[...] = array
    if existing.flags.writeable != writeable:
        try:
            existing.flags.writeable = writeable
        except ValueError:
            raise LayoutChanged(f"{it}, read-only, was made writeable") from None


def _plain(value):
    if value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return str(value)


def read_file(folder_fd: int, name: str, limit: int) -> bytes:
    """The bytes of regular file ``name`` in the folder, never through a link, at most ``limit``."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise BridgeError(f"{name} is not a regular file of at most {limit} bytes")
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(info.st_size + 1)  # read(n) reserves n bytes: ask for what is there
    finally:
        os.close(fd)
    if len(data) != info.st_size:
        raise BridgeError(f"{name} changed while it was read")
    return data


def _create(folder_fd: int, name: str):
    """A new file ``name`` in the folder, opened for writing; never through a planted link."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder_fd)
    return os.fdopen(fd, "wb")


def _empty(folder_fd: int) -> None:
    """Remove the files of a call folder (links are removed, never followed)."""
    for entry in os.listdir(folder_fd):
        try:
            os.unlink(entry, dir_fd=folder_fd)
        except OSError:
            pass


def _write_json(folder_fd: int, name: str, tree) -> None:
    """Write ``name`` whole or not at all: the reader never sees half a file."""
    tmp = f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    with _create(folder_fd, tmp) as file:
        file.write(json.dumps(tree).encode())
    os.replace(tmp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)


def learner_names(source: str) -> list[str]:
    """The names test code ``source`` reads but neither defines nor gets from builtins: the learner's."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    stored, loaded = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loaded.append(node.id)
            else:
                stored.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            stored.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stored.add(node.name)
    names = [n for n in dict.fromkeys(loaded) if n not in stored and not hasattr(builtins, n)]
    return names


# ----------------------------------------------------------------------------- the learner kernel's side

_KERNEL = None


class _KernelSide(Codec):
    def __init__(self):
        super().__init__("k")

    def function(self, tree):
        raise BridgeError("functions are not sent to the learner's code")


def serve(folder: str) -> None:
    """Run in the learner kernel: answer the call written in ``folder``."""
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _KernelSide()
    codec = _KERNEL
    codec.folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    codec.files = 0  # the request's arrays are ca1..., the answer's ka1...
    try:
        request = json.loads(read_file(codec.folder_fd, "request.json", MAX_JSON_BYTES))
        if request.get("reset"):
            codec.reset()
        answer: dict = {}
        if "lookup" in request:
            namespace = _user_namespace()
            name = request["lookup"]
            answer = {"value": codec.encode(namespace[name])} if name in namespace else {"missing": True}
        else:
            fn = codec.objects[request["call"]]
            args = codec.decode({"t": "tuple", "items": request["args"]})
            kwargs = {key: codec.decode(value) for key, value in request["kwargs"].items()}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    result = fn(*args, **kwargs)
                    answer["result"] = codec.encode(result)
                except BaseException as error:  # noqa: BLE001 - reported to the checker
                    answer["raised"] = {
                        "types": [getattr(k, "__name__", "?") for k in type(error).__mro__],
                        "message": _safe_str(error),
                    }
            answer["args"] = [codec.encode(arg) for arg in args]
            answer["kwargs"] = {key: codec.encode(value) for key, value in kwargs.items()}
            answer["warnings"] = [
                {"types": [k.__name__ for k in w.category.__mro__], "message": _safe_str(w.message)}
                for w in caught
            ]
        _write_json(codec.folder_fd, "answer.json", answer)
    finally:
        os.close(codec.folder_fd)


def _safe_str(value) -> str:
    try:
        return str(value)[:2000]
    except Exception:  # noqa: BLE001
        return "(its text could not be read)"


def _user_namespace() -> dict:
    shell = getattr(builtins, "get_ipython", lambda: None)()
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


# ----------------------------------------------------------------------------- the checker's side


class _Bridge(Codec):
    """The checker's end: a client of the learner kernel and a folder for calls."""

    def __init__(self, connection: dict, folder: str, timeout: float):
        super().__init__("c")
        from jupyter_client import BlockingKernelClient

        self.client = BlockingKernelClient()
        self.client.load_connection_info(connection)
        self.client.start_channels()
        self.connection = connection
        self.root = Path(folder)
        self.root_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        # Without the sandbox, as root, the learner's kernel is another user, who owns the calls
        # folder (mnistlib.grading.kernel_user): each call folder is handed to that user too.
        root = os.fstat(self.root_fd)
        self.owner = (root.st_uid, root.st_gid) if os.geteuid() == 0 and root.st_uid != 0 else None
        self.timeout = timeout
        self.calls = 0

    def close(self) -> None:
        self.client.stop_channels()
        os.close(self.root_fd)

    def function(self, tree):
        return LearnerFunction(self, str(tree["ref"]), str(tree.get("name"))[:100])

    def request(self, request: dict, read):
        """Write ``request`` into a new call folder, have the learner kernel answer it, and return
        ``read(answer)`` (read while the folder, and the arrays in it, still exist)."""
        self.calls += 1
        name = f"call-{self.calls}-{uuid.uuid4().hex[:8]}"
        # The learner kernel can write in root: everything here goes through descriptors, never
        # through a path a planted link could redirect. Mode 0700 is enough: a sandboxed kernel is
        # the grading user in its own user namespace (mnistlib.grading.isolation).
        os.mkdir(name, 0o700, dir_fd=self.root_fd)
        folder = self.root / name
        self.files = 0
        self.folder_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=self.root_fd)
        if self.owner is not None:
            os.fchown(self.folder_fd, *self.owner)
        try:
            if "args" in request:
                request["args"] = [self.encode(arg) for arg in request["args"]]
            if "kwargs" in request:
                request["kwargs"] = {k: self.encode(v) for k, v in request["kwargs"].items()}
            _write_json(self.folder_fd, "request.json", request)
            self._run_in_kernel(
                f"__import__('mnistlib.grading.bridge').grading.bridge.serve({str(folder)!r})"
            )
            try:
                answer = json.loads(read_file(self.folder_fd, "answer.json", MAX_JSON_BYTES))
            except (OSError, ValueError) as error:
                raise BridgeError(f"no readable answer from the learner's kernel ({error})") from None
            if not isinstance(answer, dict):
                raise BridgeError("the answer is not a JSON object")
            return read(answer)
        finally:
            _empty(self.folder_fd)
            os.close(self.folder_fd)
            try:
                os.rmdir(name, dir_fd=self.root_fd)
            except OSError:
                pass  # the learner's code left something; the grader removes the whole root later

    def _run_in_kernel(self, code: str) -> None:
        """Execute ``code`` in the learner kernel; forward what it prints; wait for its reply."""
        msg_id = self.client.execute(code, silent=True, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + self.timeout
        self._forwarded = 0
        silent_since = None
        try:
            while True:
                self._forward_output(msg_id)
                try:
                    reply = self.client.get_shell_msg(timeout=0.05)
                except queue.Empty:
                    if self.client.is_alive():
                        silent_since = None
                    elif silent_since is None:
                        silent_since = time.monotonic()
                    elif time.monotonic() - silent_since > 3:  # no heartbeat for 3 s: it is gone
                        raise BridgeError("the learner's kernel stopped while running this call") from None
                    if time.monotonic() > deadline:
                        self._interrupt()
                        raise TimeoutError(
                            f"the learner's code did not return within {self.timeout:.0f} s"
                        ) from None
                    continue
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            self._forward_output(msg_id, until_idle=True)
        except KeyboardInterrupt:
            self._interrupt()
            raise
        if reply["content"].get("status") != "ok":
            content = reply["content"]
            raise BridgeError(
                f"the learner's kernel failed to answer: {content.get('ename')}: {content.get('evalue')}"
            )

    def _forward_output(self, msg_id: str, until_idle: bool = False) -> None:
        """Print, in the test cell, what the learner's code printed during this call (capped)."""
        wait = 0.5 if until_idle else 0.0
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=wait)
            except queue.Empty:
                return
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and self._forwarded < MAX_FORWARDED_OUTPUT:
                text = str(content.get("text", ""))[: MAX_FORWARDED_OUTPUT - self._forwarded]
                self._forwarded += len(text)
                (sys.stderr if content.get("name") == "stderr" else sys.stdout).write(text)
            elif kind == "status" and content.get("execution_state") == "idle" and until_idle:
                return

    def _interrupt(self) -> None:
        try:
            msg = self.client.session.msg("interrupt_request", {})
            self.client.control_channel.send(msg)
        except Exception:  # noqa: BLE001 - the grader restarts a stuck kernel anyway
            pass

    def lookup(self, name: str, reset: bool):
        if reset:
            self.reset()

        def read(answer):
            return _MISSING if answer.get("missing") else self._decode_answer(answer.get("value"))

        return self.request({"lookup": name, "reset": reset}, read)

    def _decode_answer(self, tree):
        try:
            return self.decode(tree)
        except BridgeError:
            raise
        except Exception as error:  # noqa: BLE001 - malformed data from the learner's side
            raise BridgeError(
                f"the answer could not be read as data ({type(error).__name__}: {error})"
            ) from None

    def call(self, ref: str, name: str, args: tuple, kwargs: dict):
        def read(answer):
            trees = list(enumerate(answer.get("args") or []))
            trees += list((answer.get("kwargs") or {}).items())
            for argument, tree in trees:
                try:
                    self._decode_answer(tree)  # in-place changes reach the checker's own objects
                except LayoutChanged as change:
                    _refuse_change(str(argument) if isinstance(argument, str) else argument, change)
            return answer, self._decode_answer(answer["result"]) if "result" in answer else None

        answer, result = self.request({"call": ref, "args": list(args), "kwargs": dict(kwargs)}, read)
        for warning in (answer.get("warnings") or [])[:50]:
            category = _builtin(warning.get("types"), Warning, UserWarning)
            # Issued at a made-up location, never the test cell's: Python prints the source line
            # of a warning's location, and a test cell's lines may be hidden tests.
            warnings.warn_explicit(str(warning.get("message"))[:2000], category, f"<{name}>", 1)
        if "raised" in answer:
            raised = answer["raised"] if isinstance(answer["raised"], dict) else {}
            kind = _builtin(raised.get("types"), Exception, RuntimeError)
            raise kind(str(raised.get("message")))
        if "result" not in answer:
            raise BridgeError(f"{name} returned nothing readable")
        return result


_MISSING = object()


def _refuse_change(argument: int | str, change: LayoutChanged) -> None:
    """Fail the call: the learner's function changed an argument in a way the checker cannot redo.

    :func:`mnistlib.checks.call` reports this as the same in-place change it finds itself in the
    notebook, where the change happened to the test's own array.
    """
    from ..checks import ArgumentChanged

    raise ArgumentChanged(argument, change.change)


def _builtin(names, base: type, default: type) -> type:
    """The first built-in class in ``names`` (a class's MRO names) that is a subclass of ``base``."""
    for name in names if isinstance(names, list) else []:
        kind = getattr(builtins, name, None) if isinstance(name, str) else None
        if isinstance(kind, type) and issubclass(kind, base):
            return kind
    return default


class LearnerFunction:
    """A learner's function, seen from the checker: calling it runs it in the learner kernel."""

    def __init__(self, bridge: _Bridge, ref: str, name: str):
        self._bridge, self._ref, self.__name__ = bridge, ref, name
        self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        return self._bridge.call(self._ref, self.__name__, args, kwargs)

    def __repr__(self) -> str:
        return f"<learner function {self.__name__}>"


_BRIDGE: _Bridge | None = None


def bind(
    names: list[str], connection: dict, folder: str, timeout: float, namespace: dict | None = None
) -> None:
    """Run in the checker before a test cell: define ``names`` as the learner kernel has them.

    A name the learner did not define stays undefined (the test then fails with NameError).
    ``namespace`` defaults to the checker kernel's user namespace.
    """
    global _BRIDGE
    from .mistakes import install

    install()  # the cell's CheckFailed names its mistake for the grader (mnistlib.grading.mistakes)
    if _BRIDGE is None or _BRIDGE.root != Path(folder) or _BRIDGE.connection != connection:
        if _BRIDGE is not None:
            _BRIDGE.close()
        _BRIDGE = _Bridge(connection, folder, timeout)
    namespace = _user_namespace() if namespace is None else namespace
    for index, name in enumerate(names):
        value = _BRIDGE.lookup(name, reset=index == 0)
        if value is _MISSING:
            namespace.pop(name, None)
        else:
            namespace[name] = value
