"""Notebook 08's exercises (gradient descent by hand): eight functions, their usual mistakes, contracts.

The references are the notebook's own answer cells, run in the notebook's order (with the given helper
``init_params``), so nothing here can drift from the solution.
"""

from __future__ import annotations

import json
import re

import numpy as np
from checks.harness import Exercise, notebook_of
from notebook_cells import run_answer_cell

from mnistlib.checks import CheckFailed
from mnistlib.checks import gradient_descent as gd

NOTEBOOK = notebook_of("relu")
NAMES = ["relu", "relu_grad", "softmax", "cross_entropy", "forward", "backward", "sgd_step", "train_sgd"]


def _given_cell(name: str) -> str:
    """The source of the notebook's (non-graded) code cell that defines ``name``."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    found = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code"
        and f"def {name}(" in "".join(c["source"])
        and "nbgrader" not in c.get("metadata", {})
    ]
    assert len(found) == 1, f"expected one given cell defining {name}"
    # the definition, without the demo that follows it (and the `mnistlib.needs` line that opens it)
    return re.split(r"\n\n(?=mnistlib\.needs|y_batch)", found[0])[0]


def load_solution() -> dict:
    """The notebook's solution functions, each defined in the order of the notebook (markers stripped)."""
    namespace = {"np": np}
    for grade_id in NAMES:
        if grade_id == "backward":  # init_params is a given helper, defined after forward
            exec(compile(_given_cell("init_params"), "<init_params>", "exec"), namespace)
        namespace = run_answer_cell(NOTEBOOK, grade_id, **namespace)
    return namespace


SOL = load_solution()
relu, relu_grad, softmax = SOL["relu"], SOL["relu_grad"], SOL["softmax"]
cross_entropy, forward, backward = SOL["cross_entropy"], SOL["forward"], SOL["backward"]
sgd_step, train_sgd, init_params = SOL["sgd_step"], SOL["train_sgd"], SOL["init_params"]


# ------------------------------------------------------------------ wrong versions learners write
def relu_in_place(z):
    z[z < 0] = 0
    return z


def relu_grad_bool_ge(z):
    return (z >= 0).astype(z.dtype)


def softmax_axis0(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_no_keepdims(z):
    e = np.exp(z - z.max(axis=1))
    return e / e.sum(axis=1)


def softmax_unstable(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_global_max(z):
    e = np.exp(z - z.max())
    return e / e.sum(axis=1, keepdims=True)


def softmax_in_place(z):
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def ce_sum(probs, y):
    return float(-np.sum(y * np.log(np.clip(probs, 1e-12, 1.0))))


def ce_no_minus(probs, y):
    return float(np.mean(np.sum(y * np.log(np.clip(probs, 1e-12, 1.0)), axis=1)))


def ce_no_clip(probs, y):
    return float(-np.mean(np.sum(y * np.log(probs), axis=1)))


def ce_mean_all(probs, y):
    return float(-np.mean(y * np.log(np.clip(probs, 1e-12, 1.0))))


def ce_per_row(probs, y):
    return -np.sum(y * np.log(np.clip(probs, 1e-12, 1.0)), axis=1)


def ce_big_clip(probs, y):
    return float(-np.mean(np.sum(y * np.log(np.clip(probs, 0.01, 1.0)), axis=1)))


def ce_log2(probs, y):
    return float(-np.mean(np.sum(y * np.log2(np.clip(probs, 1e-12, 1.0)), axis=1)))


def _forward_variant(*, b1=True, b2=True, hidden=None, output=None, z1_after_relu=False, drop=None):
    def forward_wrong(params, x):
        z1 = x @ params["W1"] + (params["b1"] if b1 else 0)
        a1 = (hidden or relu)(z1)
        z2 = a1 @ params["W2"] + (params["b2"] if b2 else 0)
        probs = (output or softmax)(z2)
        cache = {"x": x, "z1": a1 if z1_after_relu else z1, "a1": a1, "probs": probs}
        if drop:
            del cache[drop]
        return probs, cache

    return forward_wrong


def forward_wrong_order(params, x):
    z1 = params["W1"] @ x + params["b1"]
    a1 = relu(z1)
    probs = softmax(params["W2"] @ a1 + params["b2"])
    return probs, {"x": x, "z1": z1, "a1": a1, "probs": probs}


def forward_probs_only(params, x):
    return forward(params, x)[0]


def _backward_variant(*, divide=True, sign=1, mask=True, bias="sum", transpose_w1=False):
    def backward_wrong(params, cache, y):
        n = y.shape[0]
        dz2 = sign * (cache["probs"] - y) / (n if divide else 1)
        dz1 = dz2 @ params["W2"].T
        if mask:
            dz1 = dz1 * relu_grad(cache["z1"])

        def bias_grad(d):
            return {
                "sum": d.sum(axis=0),
                "none": d,
                "keepdims": d.sum(axis=0, keepdims=True),
                "mean": d.mean(axis=0),
            }[bias]

        return {
            "W1": dz1.T @ cache["x"] if transpose_w1 else cache["x"].T @ dz1,
            "b1": bias_grad(dz1),
            "W2": cache["a1"].T @ dz2,
            "b2": bias_grad(dz2),
        }

    return backward_wrong


def sgd_add(params, grads, learning_rate):
    return {k: params[k] + learning_rate * grads[k] for k in params}


def sgd_no_lr(params, grads, learning_rate):
    return {k: params[k] - grads[k] for k in params}


def sgd_in_place(params, grads, learning_rate):
    for k in params:
        params[k] -= learning_rate * grads[k]
    return dict(params)


def sgd_doubles_grads(params, grads, learning_rate):
    """A step twice too long, hidden from a test that computes params - lr * grads after the call."""
    for k in grads:
        grads[k] *= 2
    return {k: params[k] - learning_rate * grads[k] for k in params}


def backward_probs_in_place(params, cache, y):
    """dz2 computed in place: forward's cache["probs"] becomes probs - y."""
    dz2 = cache["probs"]
    dz2 -= y
    dz2 /= y.shape[0]
    dz1 = (dz2 @ params["W2"].T) * relu_grad(cache["z1"])
    return {"W1": cache["x"].T @ dz1, "b1": dz1.sum(axis=0), "W2": cache["a1"].T @ dz2, "b2": dz2.sum(axis=0)}


def sgd_fixed_lr(params, grads, learning_rate):
    return {k: params[k] - 0.1 * grads[k] for k in params}


def _train_variant(
    *,
    rng_seeded=True,
    global_shuffle=False,
    keep_update=True,
    per_epoch=False,
    drop_last=False,
    fixed_lr=None,
    shuffle="each",
    transpose_w1=False,
    loss_after_step=False,
    two_permutations=False,
    numpy_seed=False,
    shuffle_before_init=False,
    dtype="x",
):
    def train_wrong(x, y_onehot, hidden, epochs, batch_size, learning_rate, seed):
        rng = np.random.default_rng(seed if rng_seeded else None)
        if numpy_seed:
            np.random.seed(seed)
        n = x.shape[0]
        first = rng.permutation(n) if shuffle_before_init else None
        init_dtype = {"x": x.dtype, "float64": np.float64}[dtype]
        params = init_params(x.shape[1], hidden, y_onehot.shape[1], rng, dtype=init_dtype)
        losses = []
        once = rng.permutation(n) if shuffle == "once" else None
        stop = n - batch_size + 1 if drop_last else n
        for epoch in range(epochs):
            if shuffle == "none":
                order = np.arange(n)
            elif shuffle == "once":
                order = once
            elif first is not None and epoch == 0:
                order = first
            else:
                order = np.random.permutation(n) if global_shuffle or numpy_seed else rng.permutation(n)
            labels_order = rng.permutation(n) if two_permutations else order
            epoch_losses = []
            for start in range(0, stop, batch_size):
                x_b = x[order[start : start + batch_size]]
                y_b = y_onehot[labels_order[start : start + batch_size]]
                probs, cache = forward(params, x_b)
                grads = backward(params, cache, y_b)
                stepped = sgd_step(params, grads, fixed_lr if fixed_lr is not None else learning_rate)
                after = stepped if loss_after_step else params
                epoch_losses.append(cross_entropy(forward(after, x_b)[0], y_b))
                if keep_update:
                    params = stepped
            losses.extend([float(np.mean(epoch_losses))] if per_epoch else epoch_losses)
        if transpose_w1:
            params["W1"] = params["W1"].T
        return params, losses

    return train_wrong


# Per exercise, the wrong versions learners write: {name: (function, words the visible check's hint must
# contain)}. CONTRACTS below files each under the docstring sentence it breaks.
MISTAKES = {
    "relu": {
        "returns z": (lambda z: z, "returned z unchanged"),
        "np.max": (lambda z: np.max(z, 0), "np.maximum(z, 0) is the element-wise one"),
        "in place": (relu_in_place, "changed its input in place"),
        "np.minimum": (lambda z: np.minimum(z, 0), "keeps the negative part"),
        "abs": (np.abs, "that is abs(z)"),
        "float64": (lambda z: np.maximum(z, 0).astype(np.float64), "keep the input's dtype"),
    },
    "relu_grad": {
        "returns z": (lambda z: z, "returned z itself"),
        "relu itself": (lambda z: np.maximum(z, 0), "that is relu(z), the value, not its derivative"),
        "np.sign": (np.sign, "relu_grad is wrong at z < 0"),
        "1 at z = 0": (relu_grad_bool_ge, "at z = 0 use 0"),
        "a bool mask": (lambda z: z > 0, "z > 0 gives True/False"),
        "float64 for float32 z": (lambda z: (z > 0).astype(float), "keep z's dtype"),
    },
    "softmax": {
        "axis 0": (softmax_axis0, "softmax over the wrong axis"),
        "no keepdims": (softmax_no_keepdims, "keepdims=True"),
        "unstable": (softmax_unstable, "unstable softmax"),
        "global max": (softmax_global_max, "each row's OWN max"),
        "in place": (softmax_in_place, "don't subtract in place"),
    },
    "cross_entropy": {
        "sum": (ce_sum, "forgotten batch average"),
        "no minus": (ce_no_minus, "missing minus sign"),
        "no clip": (ce_no_clip, "not clipping"),
        "mean over all entries": (ce_mean_all, "averaged over all n x k entries"),
        "one loss per row": (ce_per_row, "one loss per row"),
        "big clip": (ce_big_clip, "clip with a tiny value"),
        "log2 (bits)": (ce_log2, "natural logarithm np.log"),
    },
    "forward": {
        "no b1": (_forward_variant(b1=False), "missing bias: the hidden layer"),
        "no b2": (_forward_variant(b2=False), "missing bias: the output layer"),
        "softmax hidden": (_forward_variant(hidden=softmax), "softmax on the hidden layer"),
        "relu output": (_forward_variant(output=relu), "relu on the output"),
        "no softmax": (_forward_variant(output=lambda z: z), "no softmax on the output"),
        "W @ x": (forward_wrong_order, "wrong matrix order"),
        "z1 after relu": (_forward_variant(z1_after_relu=True), "BEFORE relu"),
        "no z1 in cache": (_forward_variant(drop="z1"), "backward uses them"),
        "probs only": (forward_probs_only, "return probs, cache"),
    },
    "backward": {
        "no / n": (_backward_variant(divide=False), "forgotten batch average"),
        "flipped sign": (_backward_variant(sign=-1), "flipped sign"),
        "no relu_grad mask": (_backward_variant(mask=False), "missing relu_grad mask"),
        "bias not summed": (_backward_variant(bias="none"), "sum over the batch axis"),
        "bias keepdims": (_backward_variant(bias="keepdims"), "drop keepdims"),
        "bias mean": (_backward_variant(bias="mean"), "divided by n twice"),
        "dW1 transposed": (_backward_variant(transpose_w1=True), "transposed W gradient"),
        "dz2 in place in the cache": (backward_probs_in_place, "in place"),
    },
    "sgd_step": {
        "adds the gradient": (sgd_add, "flipped sign"),
        "no learning rate": (sgd_no_lr, "ignoring the learning rate"),
        "in place": (sgd_in_place, "modified in place"),
        "grads doubled in place": (sgd_doubles_grads, "modified in place"),
        "fixed learning rate": (sgd_fixed_lr, "use the learning_rate argument"),
    },
    "train_sgd": {
        "rng without seed": (_train_variant(rng_seeded=False), "not reproducible"),
        "np.random.permutation": (_train_variant(global_shuffle=True), "not reproducible"),
        "np.random.seed(seed) shuffles": (_train_variant(numpy_seed=True), "the shuffles are not the ones"),
        "shuffle before init": (_train_variant(shuffle_before_init=True), "FIRST, before any shuffle"),
        "update not kept": (_train_variant(keep_update=False), "losses not decreasing"),
        "W1 transposed": (_train_variant(transpose_w1=True), "wrong params shapes"),
        "one loss per epoch": (_train_variant(per_epoch=True), "one loss per epoch"),
        "loss after the update": (_train_variant(loss_after_step=True), "BEFORE its update"),
        "last batch dropped": (_train_variant(drop_last=True), "the last, smaller batch is missing"),
        "fixed learning rate": (_train_variant(fixed_lr=0.2), "learning_rate is ignored"),
        "no shuffle": (_train_variant(shuffle="none"), "shuffle each epoch"),
        "one shuffle": (_train_variant(shuffle="once"), "new permutation inside the epoch loop"),
        "images and labels shuffled apart": (_train_variant(two_permutations=True), "ONE permutation"),
        "float64 params": (_train_variant(dtype="float64"), "params get x's dtype"),
    },
}
# (exercise, name) of the wrong versions only the visible check catches, not the hidden tests alone
CONTRACTS = {
    "relu": {
        "max(z, 0) element-wise.": ["returns z", "np.max", "np.minimum", "abs"],
        "z: array of any shape; returns a new array, same shape and dtype.": ["in place", "float64"],
    },
    "relu_grad": {
        "The slope of relu at z, element-wise: 1.0 where z > 0, else 0.0.": [
            "returns z",
            "relu itself",
            "np.sign",
            "1 at z = 0",
        ],
        "Same shape (and float dtype) as z.": ["a bool mask", "float64 for float32 z"],
    },
    "softmax": {
        "Row-wise softmax of logits z (n, k): each row becomes probabilities summing to 1.": [
            "axis 0",
            "no keepdims",
            "in place",
        ],
        "Stable for huge z.": ["unstable", "global max"],
    },
    "cross_entropy": {
        "Mean over rows of -sum_k y_k * log(p_k).": ["sum", "no minus"],
        "probs, y_onehot: (n, k).": ["mean over all entries"],
        "Returns a float (nats).": ["one loss per row", "log2 (bits)"],
        "Probabilities are clipped to [1e-12, 1] first, so a zero probability gives a large finite loss, "
        "not inf/nan.": ["no clip", "big clip"],
    },
    "forward": {
        "Forward pass of 784 -> h (relu) -> 10 (softmax).": [
            "softmax hidden",
            "relu output",
            "no softmax",
        ],
        "params: dict W1 (n_in, h), b1 (h,), W2 (h, k), b2 (k,); x: (n, n_in), one example per row.": [
            "W @ x",
            "no b1",
            "no b2",
        ],
        "Returns (probs, cache): probs (n, k), each row summing to 1, and cache = dict(x=x, z1=x @ W1 + b1 "
        "(before relu, (n, h)), a1=relu(z1) (n, h), probs=probs), everything backward needs.": [
            "z1 after relu",
            "no z1 in cache",
            "probs only",
        ],
    },
    "backward": {
        "Gradients of the MEAN cross-entropy with respect to every parameter.": [
            "no / n",
            "flipped sign",
            "bias mean",
        ],
        "params: as for forward; cache: forward's dict (x, z1, a1, probs); y_onehot: (n, k).": [
            "no relu_grad mask"
        ],
        "None of them is modified (train_sgd still needs them).": ["dz2 in place in the cache"],
        "Returns a dict W1 (n_in, h), b1 (h,), W2 (h, k), b2 (k,): each gradient has its parameter's "
        "shape.": ["bias not summed", "bias keepdims", "dW1 transposed"],
    },
    "sgd_step": {
        "One gradient-descent step: a NEW dict with new arrays params[name] - learning_rate * grads[name].": [
            "adds the gradient",
            "no learning rate",
        ],
        "The arrays in params and grads are not modified.": ["in place", "grads doubled in place"],
        "learning_rate: a positive float (the step factor).": ["fixed learning rate"],
    },
    "train_sgd": {
        "Train 784 -> hidden (relu) -> 10 (softmax) with mini-batch SGD; return (params, losses).": [
            "update not kept",
            "W1 transposed",
            "fixed learning rate",
        ],
        "x: (n, n_in) floats (float32 for speed; params get x's dtype); y_onehot: (n, k).": [
            "float64 params"
        ],
        "rng = np.random.default_rng(seed) draws the initial weights (init_params), then a new shuffle each "
        "epoch.": [
            "rng without seed",
            "np.random.permutation",
            "np.random.seed(seed) shuffles",
            "shuffle before init",
            "one shuffle",
        ],
        "Each epoch takes the shuffled data in batches of batch_size (the last one may be smaller).": [
            "no shuffle",
            "last batch dropped",
            "images and labels shuffled apart",
        ],
        "losses: list of floats, the training loss of every batch before its update "
        "(epochs * ceil(n / batch_size)).": ["one loss per epoch", "loss after the update"],
    },
}

EXERCISES = [
    Exercise(
        reference=SOL[name],
        check=getattr(gd, f"check_{name}"),
        mistakes=MISTAKES[name],
        contract=CONTRACTS[name],
        answer_globals=SOL,  # later cells call the functions (and init_params) defined before them
        # the visible check catches it; the hidden part alone does not have to
        visible_only=frozenset({"in place"} if name == "softmax" else ()),
        # the hidden part alone catches the rest, with its own message or a Python error
        hidden_errors=(CheckFailed, ValueError, KeyError, TypeError),
        check_seconds=0.5,
    )
    for name in NAMES
]
