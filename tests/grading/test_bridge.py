"""The bridge between the checker and the learner kernel (mnistlib.grading.bridge).

The codec is tested in-process, side against side; the calls against a real ipykernel
in which "learner code" tries to change what the checker sees.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

import numpy as np
import pytest
from jupyter_client.manager import start_new_kernel

from mnistlib.grading import bridge
from mnistlib.grading.bridge import (
    BridgeError,
    Codec,
    Unreadable,
    check_keras_config,
    learner_names,
    read_file,
)


def send(sender: Codec, receiver: Codec, value, folder):
    """``value`` encoded by one side into a fresh call folder and decoded by the other."""
    folder.mkdir()
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    sender.folder_fd = receiver.folder_fd = fd
    return receiver.decode(json.loads(json.dumps(sender.encode(value))))


def across(value, tmp_path):
    """``value`` as the learner kernel receives it from the checker."""
    import uuid

    return send(Codec("c"), Codec("k"), value, tmp_path / uuid.uuid4().hex), None, None


def test_values_keep_their_type_dtype_and_shape(tmp_path):
    value = {
        "images": np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        "scalar": np.float32(0.5),
        "count": np.int64(7),
        "flags": (True, False, None),
        "floats": [float("nan"), float("inf"), -0.0, 1e-300],
        "big": 2**80,
        "text": "héllo",
        3: b"\x00\x01",
    }
    got, _, _ = across(value, tmp_path)
    assert got["images"].dtype == np.uint8 and got["images"].shape == (2, 3, 4)
    assert np.array_equal(got["images"], value["images"])
    assert type(got["scalar"]) is np.float32 and type(got["count"]) is np.int64
    assert got["flags"] == (True, False, None) and type(got["flags"][0]) is bool
    assert np.isnan(got["floats"][0]) and got["floats"][1:] == [float("inf"), -0.0, 1e-300]
    assert got["big"] == 2**80 and got["text"] == "héllo" and got[3] == b"\x00\x01"


def test_what_is_not_plain_data_arrives_unreadable(tmp_path):
    class Liar(int):
        def __eq__(self, other):
            return True

    class Matrixish(np.ndarray):
        pass

    class BadRepr:
        def __repr__(self):
            raise RuntimeError("no")

    for value in (Liar(3), BadRepr()):
        got, _, _ = across(value, tmp_path)
        assert isinstance(got, Unreadable), value
        assert got != 3
        with pytest.raises(TypeError, match="cannot be used in a test"):
            np.asarray(got) + 1
    # an ndarray subclass: its data, as a check sees it through np.asarray, without its methods
    got, _, _ = across(np.arange(3.0).view(Matrixish), tmp_path)
    assert type(got) is np.ndarray and np.array_equal(got, [0.0, 1.0, 2.0])
    # an array of Python objects: its shape and dtype (a check can say "dtype object"), no objects
    got, _, _ = across(np.array([[Liar(3), object()]], dtype=object), tmp_path)
    assert got.dtype == object and got.shape == (1, 2)
    assert all(isinstance(item, Unreadable) for item in got.flat) and got[0, 0] != 3
    with pytest.raises((TypeError, ValueError)):  # no number in it
        got.astype(float)


def test_a_lying_subclass_cannot_hide_its_data(tmp_path):
    class Lying(np.ndarray):
        def view(self, *args, **kwargs):
            return np.full(self.shape, 7.0)

        def __eq__(self, other):
            return np.ones(self.shape, dtype=bool)

    got, _, _ = across(np.zeros(3).view(Lying), tmp_path)
    assert type(got) is np.ndarray and np.array_equal(got, np.zeros(3)) and not (got == 7).any()


def test_an_array_of_objects_too_large_or_badly_shaped_is_refused(tmp_path):
    got, _, _ = across(np.empty(bridge.MAX_OBJECTS + 1, dtype=object), tmp_path)
    assert isinstance(got, Unreadable) and "Python objects" in repr(got)
    for shape in ([-1], [10**6, 10**6], ["3"], [1] * 40):
        with pytest.raises(bridge.BridgeError, match="bad shape"):
            Codec("c").decode({"t": "objects", "shape": shape})


def test_identity_and_in_place_changes_come_back(tmp_path):
    checker, kernel = Codec("c"), Codec("k")
    x = np.zeros(4)
    params = {"W": x, "b": np.ones(2)}
    k_params, k_x = send(checker, kernel, (params, x), tmp_path / "1")
    assert k_params["W"] is k_x  # one object, sent twice, stays one object
    k_x += 5  # the learner's function changes its input in place ...
    k_params["new"] = 1
    back = send(kernel, checker, (k_params, k_x, [1]), tmp_path / "2")  # ... and the arguments go back
    assert back[0] is params and back[1] is x
    assert params["W"] is x and np.array_equal(x, np.full(4, 5.0)) and params["new"] == 1
    assert isinstance(back[2], list) and back[2] == [1]


def _round_trip(value, change, tmp_path):
    """``value`` sent to the learner's side, changed there by ``change``, and sent back as an argument."""
    checker, kernel = Codec("c"), Codec("k")
    theirs = send(checker, kernel, value, tmp_path / "1")
    change(theirs)
    return send(kernel, checker, theirs, tmp_path / "2"), theirs


def _set(attribute, new):
    return lambda array: setattr(array, attribute, new)


@pytest.mark.parametrize(
    "change",
    [
        _set("shape", (2, 12)),  # images.shape = ...
        _set("dtype", np.uint16),  # a reinterpreting view of the same bytes
        lambda a: (setattr(a, "shape", (24,)), setattr(a, "dtype", np.float32), a.__setitem__(0, 1.5)),
        lambda a: a.reshape(-1).__setitem__(slice(None), 7),  # written through a view
        lambda a: np.random.default_rng(0).shuffle(a.reshape(-1)),  # shuffled in place
        lambda a: np.multiply(a, 2, out=a),  # out= writes
        lambda a: setattr(a.flags, "writeable", False),
    ],
    ids=["shape", "dtype", "shape dtype values", "view", "shuffle", "out=", "read-only"],
)
def test_in_place_changes_of_any_kind_come_back_exactly(change, tmp_path):
    mine = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    view = mine[0]  # the checker's own view of its array sees what the learner did
    back, theirs = _round_trip(mine, change, tmp_path)
    assert back is mine
    assert (mine.shape, mine.dtype, mine.strides) == (theirs.shape, theirs.dtype, theirs.strides)
    assert mine.tobytes() == theirs.tobytes() and mine.flags.writeable == theirs.flags.writeable
    assert np.shares_memory(view, mine)


def test_read_only_arrays_arrive_read_only_and_may_be_written_only_as_python_allows(tmp_path):
    mine = np.zeros(4)
    mine.flags.writeable = False
    checker, kernel = Codec("c"), Codec("k")
    theirs = send(checker, kernel, mine, tmp_path / "1")
    with pytest.raises(ValueError, match="read-only"):
        theirs[0] = 1  # as in the notebook
    theirs.flags.writeable = True  # allowed on an array that owns its data, there and here
    theirs[0] = 1
    assert send(kernel, checker, theirs, tmp_path / "2") is mine
    assert mine[0] == 1 and mine.flags.writeable


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda a: a.resize((30,), refcheck=False),
            r"the shape of the array went from \(2, 3, 4\) to \(30,\)",
        ),
        (lambda a: setattr(a, "strides", (1, 0, 0)), r"the strides of the array went from \(12, 4, 1\)"),
    ],
    ids=["resize", "strides"],
)
def test_in_place_changes_that_cannot_come_back_are_refused(change, words, tmp_path):
    mine = np.arange(24, dtype=np.uint8).reshape(2, 3, 4).copy()  # owns its memory: it can be resized
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # setting strides is deprecated
        with pytest.raises(bridge.LayoutChanged, match=words):
            _round_trip(mine, change, tmp_path)


def test_a_view_arrives_as_a_view_so_it_cannot_be_resized_there_either(tmp_path):
    mine = np.zeros((4, 4))[1:3]
    theirs = send(Codec("c"), Codec("k"), mine, tmp_path / "1")
    assert theirs.base is not None
    with pytest.raises(ValueError, match="does not own its data"):
        theirs.resize((10,), refcheck=False)  # as in the notebook, where the learner gets the view


def test_a_view_of_a_read_only_base_is_not_made_writeable(tmp_path):
    base = np.zeros(4)
    base.flags.writeable = False
    mine = base[:2]
    with pytest.raises(bridge.LayoutChanged, match="read-only"):
        _round_trip(mine, lambda a: (setattr(a.flags, "writeable", True), a.fill(3)), tmp_path)
    assert not base.any()


def test_random_generators_cross_with_their_state(tmp_path):
    rng = np.random.default_rng(5)
    got, _, _ = across(rng, tmp_path)
    assert got.random() == np.random.default_rng(5).random()


def test_keras_models_cross_as_config_weights_and_compile_settings(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(
        optimizer=keras.optimizers.RMSprop(0.01), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    got, _, _ = across(model, tmp_path)
    assert isinstance(got.optimizer, keras.optimizers.RMSprop)
    assert np.isclose(float(got.optimizer.learning_rate), 0.01)
    for mine, theirs in zip(model.get_weights(), got.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)
    x = np.random.default_rng(0).random((2, 4)).astype("float32")
    assert np.allclose(model.predict(x, verbose=0), got.predict(x, verbose=0))


@pytest.mark.parametrize(
    "config",
    [
        {"module": "os", "class_name": "system", "config": {}},
        {"activation": {"module": "builtins", "class_name": "function", "config": "exit"}},
        {"class_name": "Lambda", "module": "keras.layers", "config": {"function": "x"}},
        {"class_name": "Dense", "module": "keras.layers", "registered_name": "Custom>Dense"},
        {"layers": [{"module": "__main__", "class_name": "Evil"}]},
    ],
)
def test_model_configs_naming_anything_but_keras_are_refused(config):
    with pytest.raises(BridgeError):
        check_keras_config(config)


def test_files_are_read_only_when_regular_and_never_through_links(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden tests")
    folder = tmp_path / "call"
    folder.mkdir()
    (folder / "a1.npy").symlink_to(secret)
    os.mkfifo(folder / "a2.npy")
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    with pytest.raises(OSError):
        read_file(fd, "a1.npy", 1000)
    with pytest.raises(BridgeError, match="not a regular file"):
        read_file(fd, "a2.npy", 1000)
    (folder / "a3.npy").write_bytes(b"x" * 2000)
    with pytest.raises(BridgeError, match="at most 1000 bytes"):
        read_file(fd, "a3.npy", 1000)
    codec = Codec("c")
    codec.folder_fd = fd
    with pytest.raises(BridgeError, match="bad array file name"):
        codec.decode({"t": "array", "file": "../secret.txt"})
    np.save(folder / "ka4.npy", np.array([object()]), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        codec.decode({"t": "array", "file": "ka4.npy"})


def test_learner_names_are_the_free_names_of_a_test():
    source = "from m import check_x\nimport numpy as np\ny = np.ones(2)\ncheck_x(x)\nprint(len(y), z)\n"
    assert learner_names(source) == ["x", "z"]
    assert learner_names("def (") == []


# ----------------------------------------------------------------------------- against a real kernel

LEARNER_CODE = r"""
import numpy as np, builtins, sys, warnings

def flatten_wrong(images):
    return images.reshape(len(images), -1)  # not scaled

def add_inplace(x):
    x += 1
    return x

def pick(images, n):
    return images[n]

def warn_and_print(x):
    warnings.warn("input_shape is deprecated", UserWarning)
    print("hello from the learner")
    return x

class Liar:
    def __eq__(self, other):
        return True
    def __array__(self, *a, **k):
        raise SystemExit

def liar():
    return Liar()

def fresh_copies(arrays):
    return [a + 0 for a in arrays]

def slow():
    import time
    time.sleep(60)

def die():
    import os
    os._exit(3)

# tricks aimed at the judge: none of them reaches the checker's process
np.array_equal = lambda *a, **k: True
np.allclose = lambda *a, **k: True
sys.settrace(lambda *a: None)
"""


@pytest.fixture()
def kernel(tmp_path):
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    reply = kc.execute_interactive(LEARNER_CODE, timeout=30)
    assert reply["content"]["status"] == "ok"
    connection = {k: v.decode() if isinstance(v, bytes) else v for k, v in km.get_connection_info().items()}
    calls = tmp_path / "calls"
    calls.mkdir()
    yield km, connection, str(calls)
    if bridge._BRIDGE is not None:
        bridge._BRIDGE.close()
        bridge._BRIDGE = None
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def bound(kernel, *names, timeout=30):
    _, connection, calls = kernel
    namespace = {}
    bridge.bind(list(names), connection, calls, timeout, namespace)
    return namespace


@pytest.mark.slow
def test_a_call_runs_in_the_learner_kernel_and_the_checker_judges_with_its_own_numpy(kernel):
    ns = bound(kernel, "flatten_wrong", "missing_name")
    assert "missing_name" not in ns  # not defined by the learner: the test gets a NameError
    images = np.full((2, 28, 28), 255, dtype=np.uint8)
    got = ns["flatten_wrong"](images)
    assert got.shape == (2, 784) and got.dtype == np.uint8
    assert not np.array_equal(got, np.ones((2, 784)))  # the kernel's patched array_equal is not ours
    assert isinstance(got, np.ndarray) and not isinstance(3, str)


@pytest.mark.slow
def test_in_place_changes_identity_exceptions_warnings_and_output_cross(kernel, capsys):
    ns = bound(kernel, "add_inplace", "pick", "warn_and_print")
    x = np.zeros(3)
    assert ns["add_inplace"](x) is x and np.array_equal(x, np.ones(3))
    with pytest.raises(IndexError, match="out of bounds"):
        ns["pick"](np.zeros((2, 2)), 5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ns["warn_and_print"](5) == 5
    assert [str(w.message) for w in caught] == ["input_shape is deprecated"]
    assert "hello from the learner" in capsys.readouterr().out


@pytest.mark.slow
def test_a_call_with_more_than_a_thousand_arrays_each_way_is_answered(kernel):
    """Each side numbers its own array files: 1,200 arrays sent and 1,200 new ones returned never collide."""
    arrays = [np.full(2, i) for i in range(1200)]
    got = bound(kernel, "fresh_copies")["fresh_copies"](arrays)
    assert len(got) == 1200 and all(np.array_equal(g, a) for g, a in zip(got, arrays, strict=True))


@pytest.mark.slow
def test_objects_that_lie_arrive_unreadable(kernel):
    got = bound(kernel, "liar")["liar"]()
    assert isinstance(got, Unreadable) and "Liar" in repr(got)
    assert not (got == 1)


@pytest.mark.slow
def test_a_slow_call_times_out_and_the_kernel_is_interrupted(kernel):
    ns = bound(kernel, "slow", "add_inplace", timeout=3)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="did not return within 3 s"):
        ns["slow"]()
    assert time.monotonic() - start < 10
    x = np.zeros(1)
    ns["add_inplace"](x)  # the interrupt freed the kernel for the next call
    assert x[0] == 1


@pytest.mark.slow
def test_a_kernel_that_dies_mid_call_fails_the_call_quickly(kernel):
    ns = bound(kernel, "die")
    start = time.monotonic()
    with pytest.raises(BridgeError, match="stopped"):
        ns["die"]()
    print(f"detected in {time.monotonic() - start:.1f} s", file=sys.stderr)
    assert time.monotonic() - start < 15


@pytest.mark.slow
def test_answers_through_planted_links_are_refused(kernel, tmp_path):
    """Learner code swaps its answer for a link to a file it wants the checker to read."""
    km, connection, calls = kernel
    secret = tmp_path / "hidden-tests.txt"
    secret.write_text('{"result": "SECRET HIDDEN TEST"}')
    code = (
        "import mnistlib.grading.bridge as b, os\n"
        "_serve = b.serve\n"
        f"def serve(folder):\n    os.symlink({str(secret)!r}, os.path.join(folder, 'answer.json'))\n"
        "b.serve = serve\n"
    )
    kc = km.client()
    kc.start_channels()
    assert kc.execute_interactive(code, timeout=30)["content"]["status"] == "ok"
    kc.stop_channels()
    with pytest.raises(BridgeError, match="no readable answer"):
        bound(kernel, "pick")
