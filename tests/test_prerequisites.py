"""No confusing follow-on errors: a cell that uses an unfinished or wrong exercise says so in one line.

Every code cell that uses an exercise (directly, or through a variable computed from it) starts with
``mnistlib.needs("exercise", ...)``. For each notebook, in one real kernel, in quick mode:

1. the student release runs top to bottom with every exercise unfinished. Each ``needs`` cell must stop
   with the one-line ``FinishFirst`` message naming its first exercise, the check cells with their own
   ``CheckFailed``, and every other cell must run cleanly (so no dependent cell lacks its ``needs``);
2. then, in the same kernel, exercise by exercise in teaching order, a wrong answer (one its visible check
   catches) replaces the unfinished one, and every ``needs`` line that lists the exercise must now name it
   as failing its check; after the solution replaces the wrong answer, the lines whose exercises are all
   solved must pass.

Step 2 reruns only the ``needs`` lines, not the cells' work, which keeps the test to a few seconds per
notebook beyond the release run.
"""

from __future__ import annotations

import ast
import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mnistlib.exercises import EXERCISES
from mnistlib.prerequisites import FinishFirst, needs

REPO = Path(__file__).resolve().parent.parent
IDS = sorted(p.name for p in (REPO / "course" / "source").iterdir() if p.is_dir())
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NEEDS = re.compile(r"^mnistlib\.needs\((.*?)\)", re.MULTILINE)
pytestmark = pytest.mark.usefixtures("mnist_data")

# One plausible mistake per exercise, each caught by the exercise's visible check.
WRONG = {
    "get_digit": "def get_digit(images, n):\n    return images[n]",
    "label_counts": "def label_counts(labels):\n    return np.bincount(labels)",
    "flatten_images": "def flatten_images(images):\n    return images.reshape(len(images), 784)",
    "one_hot": "def one_hot(labels, num_classes=10):\n    return np.eye(num_classes)[labels]",
    "build_network": (
        "def build_network():\n    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(784),"
        " keras.layers.Dense(512), keras.layers.Dense(10)])"
    ),
    "dense_param_count": "def dense_param_count(n_in, n_out):\n    return n_in * n_out",
    "compile_network": (
        "def compile_network(model):\n"
        "    model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['accuracy'])\n"
        "    return model"
    ),
    "batches_per_epoch": (
        "def batches_per_epoch(n_samples, batch_size, validation_split=0.0):\n"
        "    return n_samples // batch_size"
    ),
    "predict_classes": "def predict_classes(model, x):\n    return model.predict(x, verbose=0).max(axis=1)",
    "best_epoch": "def best_epoch(history):\n    return int(np.argmin(history['val_loss']))",
    "confusion_matrix": (
        "def confusion_matrix(y_true, y_pred, num_classes=10):\n"
        "    matrix = np.zeros((num_classes, num_classes), dtype=int)\n"
        "    np.add.at(matrix, (y_pred, y_true), 1)\n"
        "    return matrix"
    ),
    "dropout": "def dropout(x, rate, rng):\n    return x * (rng.random(x.shape) >= rate)",
    "build_dropout_network": (
        "def build_dropout_network():\n    return keras.Sequential([keras.Input((784,)),"
        " keras.layers.Dense(512, activation='relu'), keras.layers.Dense(512, activation='relu'),"
        " keras.layers.Dense(512, activation='relu'), keras.layers.Dense(10, activation='softmax')])"
    ),
    "relu": "def relu(z):\n    return np.max(z, 0)",  # the mistake issue 17 tried: a reduction, not maximum
    "relu_grad": "def relu_grad(z):\n    return np.where(z > 0, z, 0.0)",
    "softmax": "def softmax(z):\n    e = np.exp(z)\n    return e / e.sum()",
    "cross_entropy": "def cross_entropy(probs, y_onehot):\n    return -np.sum(y_onehot * np.log(probs))",
    "forward": (
        "def forward(params, x):\n"
        "    z1 = x @ params['W1'] + params['b1']\n"
        "    probs = softmax(relu(z1) @ params['W2'] + params['b2'])\n"
        "    return probs, dict(x=x, z1=relu(z1), a1=relu(z1), probs=probs)"
    ),
    "backward": (
        "def backward(params, cache, y_onehot):\n"
        "    return {name: np.zeros_like(value) for name, value in params.items()}"
    ),
    "sgd_step": (
        "def sgd_step(params, grads, learning_rate):\n"
        "    return {name: params[name] + learning_rate * grads[name] for name in params}"
    ),
    "train_sgd": (
        "def train_sgd(x, y_onehot, hidden, epochs, batch_size, learning_rate, seed):\n"
        "    return init_params(x.shape[1], hidden, y_onehot.shape[1], np.random.default_rng(seed)), []"
    ),
    "conv2d_valid": (
        "def conv2d_valid(image, kernel):\n"
        "    (h, w), (kh, kw) = image.shape, kernel.shape\n"
        "    return np.array([[np.sum(image[i:i + kh, j:j + kw] * kernel) for j in range(w - kw)]"
        " for i in range(h - kh)], dtype=float)"
    ),
    "add_channel_axis": "def add_channel_axis(images):\n    return images.reshape(len(images), 28, 28, 1)",
    "build_convnet": (
        "def build_convnet():\n    return keras.Sequential([keras.Input((28, 28, 1)),"
        " keras.layers.Conv2D(32, 3, activation='relu'), keras.layers.MaxPooling2D(2),"
        " keras.layers.Conv2D(64, 3, activation='relu'), keras.layers.MaxPooling2D(2),"
        " keras.layers.Flatten(), keras.layers.Dense(10, activation='softmax')])"
    ),
}


def _release(assignment: str) -> Path:
    return REPO / "course" / "release" / assignment / f"{assignment}.ipynb"


def _solution(assignment: str) -> Path:
    return REPO / "solutions" / f"{assignment}.ipynb"


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _needed(source: str) -> list[str] | None:
    """The exercises of the cell's ``mnistlib.needs(...)`` line, or None when it has none."""
    match = NEEDS.search(source)
    return None if match is None else list(ast.literal_eval(f"({match.group(1)},)"))


def _first_in_teaching_order(names) -> str:
    return min(names, key=list(EXERCISES).index)


def _error(cell) -> nbformat.NotebookNode | None:
    errors = [out for out in cell.outputs if out.output_type == "error"]
    return errors[0] if errors else None


def _one_line(error) -> str:
    assert error.ename == "FinishFirst", f"{error.ename}: {error.evalue}"
    assert len(error.traceback) == 1, "FinishFirst must show one line, no traceback:\n" + "\n".join(
        error.traceback
    )
    return ANSI.sub("", error.traceback[0])


def _message(exercise: str, reason: str) -> str:
    return str(FinishFirst(exercise, reason))


def test_every_exercise_has_a_wrong_answer_here_and_a_section():
    assert set(WRONG) == set(EXERCISES)
    for assignment in IDS:
        cells = json.loads(_release(assignment).read_text())["cells"]
        ids = [_grade_id(c) for c in cells if c["cell_type"] == "code"]
        assert all(name in EXERCISES for name in ids if name and not name.startswith("test_"))


def test_the_sections_named_are_the_notebooks_sections():
    for assignment in IDS:
        section = None
        for cell in json.loads(_release(assignment).read_text())["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                section = next(iter(re.findall(r"^## (\d+\..*)$", text, re.MULTILINE)[-1:]), section)
            elif _grade_id(cell) in EXERCISES:
                assert EXERCISES[_grade_id(cell)].section == section, f"{assignment}: {_grade_id(cell)}"


def test_needs_without_ipython_raises_finish_first_with_the_message():
    def relu(z):
        raise NotImplementedError()

    with pytest.raises(FinishFirst, match=r"^Finish `relu` first \(the exercise in section 3"):
        needs("relu", namespace={"relu": relu})
    with pytest.raises(FinishFirst, match="run its cell"):
        needs("relu", namespace={})
    with pytest.raises(ValueError, match="not an exercise"):
        needs("reluu", namespace={})


def test_needs_names_the_prerequisite_a_function_calls_and_skips_what_passed(capsys):
    import numpy as np

    notebook = {"np": np}  # a notebook's namespace, where functions call each other by global name
    exec("def relu(z):\n    return np.max(z, 0)\n\ndef forward(params, x):\n    return relu(x), {}", notebook)
    with pytest.raises(FinishFirst, match="`relu`"):  # forward calls relu: the mistake to fix first
        needs("forward", namespace=notebook)

    exec("def relu(z):\n    return np.maximum(z, 0)", notebook)  # the learner fixes relu
    needs("relu", namespace=notebook)
    started = time.perf_counter()
    needs("relu", namespace=notebook)  # remembered: no second check
    assert time.perf_counter() - started < 0.01
    assert capsys.readouterr().out == "", "needs must run checks silently"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory, mnist_idx_dir):
    """One quick-mode kernel for all nine notebooks (each starts with `%reset -f`): TensorFlow loads once."""
    starter = NotebookClient(
        nbformat.v4.new_notebook(),
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("kernel"))}},
    )
    starter.km = starter.create_kernel_manager()
    starter.start_new_kernel(env=dict(os.environ, MNISTLIB_QUICK="1", MNISTLIB_DATA=str(mnist_idx_dir)))
    try:
        yield starter.km
    finally:
        starter._cleanup_kernel()


@pytest.mark.slow
@pytest.mark.parametrize("assignment", IDS)
def test_cells_after_an_unfinished_or_wrong_exercise_say_which_to_finish(assignment, kernel):
    started = time.perf_counter()
    notebook = nbformat.read(_release(assignment), as_version=4)
    solution = nbformat.read(_solution(assignment), as_version=4)
    answers = {_grade_id(c): c.source for c in solution.cells if _grade_id(c) in EXERCISES}
    notebook.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))  # the previous notebook's names go
    client = NotebookClient(notebook, km=kernel, timeout=300, allow_errors=True)
    with client.setup_kernel():
        # 1. The release as a learner gets it, run top to bottom, every exercise unfinished.
        needs_lines: list[tuple[int, list[str]]] = []
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, index)
            error, needed, grade_id = _error(cell), _needed(cell.source), _grade_id(cell)
            if needed:
                needs_lines.append((index, needed))
                assert error is not None, f"cell {index} ran although {needed} are unfinished"
                first = _first_in_teaching_order(needed)
                assert _one_line(error) == _message(first, "it still raises NotImplementedError")
            elif grade_id and grade_id.startswith("test_"):
                assert error is not None and error.ename == "CheckFailed", f"check cell {grade_id}"
            else:
                assert error is None, (
                    f"cell {index} fails with {error.ename}: {error.evalue} -- does it use an exercise "
                    "without `mnistlib.needs`?\n" + cell.source[:300]
                )
        assert needs_lines, f"{assignment}: no cell uses an exercise?"

        # 2. Exercise by exercise: wrong, then solved; rerun only the `needs` lines.
        notebook.cells.append(nbformat.v4.new_code_cell())  # a scratch cell at the end

        def run(source: str):
            cell = nbformat.v4.new_code_cell(source)
            client.execute_cell(cell, len(notebook.cells) - 1)
            return _error(cell)

        exercises = [_grade_id(c) for c in notebook.cells if _grade_id(c) in EXERCISES]
        for number, exercise in enumerate(exercises):
            assert run(WRONG[exercise]) is None
            for index, needed in needs_lines:
                line = "mnistlib.needs(" + ", ".join(map(repr, needed)) + ")"
                error = run(line)
                if exercise in needed:  # the earliest unsolved exercise: the one to name
                    assert error is not None, f"cell {index}: {line} passed with a wrong {exercise}"
                    expected = _message(exercise, "its check does not pass yet").removesuffix(".")
                    assert _one_line(error).startswith(expected), f"cell {index}: {_one_line(error)}"
            assert run(answers[exercise]) is None
            for index, needed in needs_lines:
                if set(needed) <= set(exercises[: number + 1]):
                    line = "mnistlib.needs(" + ", ".join(map(repr, needed)) + ")"
                    error = run(line)
                    assert error is None, f"cell {index}: {line} fails with every exercise solved"
        client.kc.stop_channels()
    print(f"{assignment}: {time.perf_counter() - started:.1f} s")
