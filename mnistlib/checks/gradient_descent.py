"""Checks for notebook 08, gradient descent by hand.

The learner writes a one-hidden-layer network (784 -> h relu -> 10 softmax)
and its training loop in plain NumPy: ``relu``, ``relu_grad``, ``softmax``,
``cross_entropy``, ``forward``, ``backward``, ``sgd_step`` and ``train_sgd``.
Each ``check_<name>(fn)`` below calls the learner's function on tiny float64
inputs and compares it with reference code written here, never with the
learner's other functions, so one wrong function cannot make another one look
right (``check_backward`` builds its own cache and compares with a numerical
gradient computed here by central differences).

Shared conventions (the notebook states them too):

* ``params``: dict ``W1 (n_in, h)``, ``b1 (h,)``, ``W2 (h, k)``, ``b2 (k,)``;
  ``x``: ``(n, n_in)``, one example per row; ``y_onehot``: ``(n, k)``.
* ``cache`` returned by ``forward``: dict with ``x``, ``z1 = x @ W1 + b1``
  (before relu), ``a1 = relu(z1)`` and ``probs``; ``backward`` uses only these.
* losses and gradients are those of the MEAN cross-entropy over the batch.
"""

from __future__ import annotations

import math

import numpy as np

from . import call, describe, expect_close, fail, guided, passed

KEYS = ("W1", "b1", "W2", "b2")
CACHE_KEYS = ("x", "z1", "a1", "probs")
EPS = 1e-12  # the reference clips probabilities to [EPS, 1] before the log


# ---------------------------------------------------------------- reference code
def _relu(z):
    return np.maximum(z, 0)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _cross_entropy(probs, y_onehot):
    return float(-np.mean(np.sum(y_onehot * np.log(np.clip(probs, EPS, 1.0)), axis=1)))


def _forward(params, x, *, hidden=_relu, output=_softmax, b1=True, b2=True):
    z1 = x @ params["W1"] + (params["b1"] if b1 else 0)
    a1 = hidden(z1)
    z2 = a1 @ params["W2"] + (params["b2"] if b2 else 0)
    probs = output(z2)
    return probs, {"x": x, "z1": z1, "a1": a1, "probs": probs}


def _backward(params, cache, y_onehot, *, mask=True):
    dz2 = (cache["probs"] - y_onehot) / y_onehot.shape[0]
    dz1 = dz2 @ params["W2"].T
    if mask:
        dz1 = dz1 * (cache["z1"] > 0)
    return {
        "W1": cache["x"].T @ dz1,
        "b1": dz1.sum(axis=0),
        "W2": cache["a1"].T @ dz2,
        "b2": dz2.sum(axis=0),
    }


def numerical_gradient(params, x, y_onehot, *, eps=1e-6):
    """Central-difference gradient of the reference mean cross-entropy, every entry of every parameter.

    Float64 throughout; meant for tiny networks (it runs two forward passes per parameter).
    """
    grads = {}
    for name in KEYS:
        grad = np.zeros_like(params[name], dtype=np.float64)
        for index in np.ndindex(params[name].shape):
            shifted = {key: value.astype(np.float64, copy=True) for key, value in params.items()}
            shifted[name][index] += eps
            up = _cross_entropy(_forward(shifted, x)[0], y_onehot)
            shifted[name][index] -= 2 * eps
            down = _cross_entropy(_forward(shifted, x)[0], y_onehot)
            grad[index] = (up - down) / (2 * eps)
        grads[name] = grad
    return grads


def tiny_problem(n=5, n_in=6, hidden=4, n_out=10, seed=8):
    """A tiny float64 network and batch: ``(params, x, y_onehot)``, biases non-zero."""
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(0, 0.6, (n_in, hidden)),
        "b1": rng.normal(0, 0.3, hidden),
        "W2": rng.normal(0, 0.6, (hidden, n_out)),
        "b2": rng.normal(0, 0.3, n_out),
    }
    x = rng.normal(0, 1, (n, n_in))
    y_onehot = np.eye(n_out)[rng.integers(0, n_out, n)]
    return params, x, y_onehot


def blobs(n=64, n_in=8, n_out=3, seed=0):
    """An easy classification task: ``n_out`` well separated Gaussian blobs, shuffled. ``(x, y_onehot)``."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % n_out)
    centres = rng.normal(0, 2.5, (n_out, n_in))
    x = centres[labels] + rng.normal(0, 0.7, (n, n_in))
    return x, np.eye(n_out)[labels]


def _close(a, b, rtol=1e-5, atol=1e-8):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _relative_error(got, expected):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return float(np.max(np.abs(got - expected)) / max(np.max(np.abs(got) + np.abs(expected)), 1e-12))


def describe_values(array) -> str:
    """The values of an array, flattened, to 4 digits: for messages."""
    return np.array2string(np.asarray(array, dtype=float).ravel(), precision=4, separator=", ")


# ---------------------------------------------------------------- relu
@guided
def check_relu(relu):
    """relu(z) = max(z, 0) element-wise, same shape, input untouched."""
    z = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1e-3]])
    got = call(
        relu,
        z,
        in_place_hint="relu changed its input in place (e.g. z[z < 0] = 0); work on a copy or use np.maximum(z, 0)",
    )
    if not isinstance(got, np.ndarray):
        fail(
            "a numpy array",
            describe(got),
            "use np.maximum(z, 0), which works element-wise on arrays",
            mistake="relu-not-elementwise",
        )
    if got.shape != z.shape:
        hint = "relu works element-wise: the result has the same shape as z"
        if got.shape in {(3,), (2,), ()}:
            hint = (
                "np.max(z, 0) takes the largest value along axis 0; np.maximum(z, 0) is the element-wise one"
            )
        fail(f"shape {z.shape}", f"shape {got.shape}", hint, mistake="relu-wrong-shape")
    expected = _relu(z)
    if np.array_equal(got, z):
        fail(
            describe_values(expected),
            describe_values(got),
            "you returned z unchanged: negative z must become 0",
            mistake="relu-identity",
        )
    if np.array_equal(got, np.minimum(z, 0)):
        fail(
            describe_values(expected),
            describe_values(got),
            "that keeps the negative part: use np.maximum(z, 0)",
            mistake="relu-keeps-negative",
        )
    if np.array_equal(got, np.abs(z)):
        fail(
            describe_values(expected),
            describe_values(got),
            "that is abs(z): relu sets negative z to 0",
            mistake="relu-abs",
        )
    expect_close(
        got,
        expected,
        what="relu(z)",
        hint="relu(z) is z where z > 0 and 0 elsewhere",
        mistake="relu-wrong-values",
    )
    z32 = z.astype(np.float32)
    got32 = np.asarray(call(relu, z32))
    if got32.dtype != np.float32:
        fail(
            "float32 in, float32 out",
            f"dtype {got32.dtype}",
            "keep the input's dtype: np.maximum(z, 0) does",
            mistake="relu-dtype",
        )
    passed("relu: max(z, 0) element-wise, same shape and dtype, input untouched")


# ---------------------------------------------------------------- relu_grad
@guided
def check_relu_grad(relu_grad):
    """relu'(z): 1 where z > 0, else 0 (0 at z = 0 by convention, as in Keras)."""
    z = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, 1e-3]])
    expected = (z > 0).astype(float)
    got = call(relu_grad, z.copy())
    if not isinstance(got, np.ndarray):
        fail(
            "a numpy array of 0s and 1s",
            describe(got),
            "compare element-wise: (z > 0).astype(z.dtype)",
            mistake="relu-grad-not-elementwise",
        )
    if got.shape != z.shape:
        fail(
            f"shape {z.shape}",
            f"shape {got.shape}",
            "relu_grad works element-wise: same shape as z",
            mistake="relu-grad-wrong-shape",
        )
    got_f = got.astype(float)
    if np.array_equal(got_f, z):
        fail(
            describe_values(expected),
            describe_values(got),
            "you returned z itself: the slope is 1 or 0",
            mistake="relu-grad-identity",
        )
    if np.array_equal(got_f, _relu(z)):
        fail(
            describe_values(expected),
            describe_values(got),
            "that is relu(z), the value, not its derivative: the slope is 1 where z > 0, else 0",
            mistake="relu-grad-is-relu",
        )
    negative = z < 0
    if not np.array_equal(got_f[negative], expected[negative]):
        fail(
            "0 where z < 0",
            describe_values(got_f[negative]),
            "relu_grad is wrong at z < 0: relu is flat there, so its slope is 0 (not -1, not z)",
            mistake="relu-grad-negative-side",
        )
    if got_f[0, 2] == 1.0:
        fail(
            "0 at z = 0",
            "1",
            "at z = 0 use 0 (z > 0, strictly), the convention Keras and TensorFlow use",
            mistake="relu-grad-at-zero",
        )
    expect_close(
        got_f, expected, what="relu_grad(z)", hint="1 where z > 0, else 0", mistake="relu-grad-wrong-values"
    )
    if not np.issubdtype(got.dtype, np.floating):
        fail(
            "slopes as floats, 1.0 or 0.0, with z's dtype (float64 here)",
            f"dtype {got.dtype}",
            "z > 0 gives True/False, a mask, not a slope: the contract is a float array of z's dtype, "
            "so backward multiplies numbers by numbers. Convert the mask to z's own dtype (z.dtype)",
            mistake="relu-grad-boolean",
        )
    got32 = np.asarray(call(relu_grad, z.astype(np.float32)))
    if got32.dtype != np.float32:
        fail(
            "float32 in, float32 out",
            f"dtype {got32.dtype}",
            "keep z's dtype: .astype(float) makes float64, so backward's gradients, and after sgd_step the "
            "weights, silently leave float32 (twice the memory, slower training). Convert to z.dtype instead",
            mistake="relu-grad-float64",
        )
    passed("relu_grad: 1.0 where z > 0, 0.0 where z <= 0, same shape and float dtype as z")


# ---------------------------------------------------------------- softmax
def _call_softmax(softmax, z):
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return call(softmax, z, in_place_hint="don't subtract in place (z -= ...); write z - ...")
    except ValueError as error:
        if "broadcast" in str(error):
            fail(
                f"softmax of a {z.shape} array",
                f"ValueError: {error}",
                "the row max / row sum lost an axis: use z.max(axis=1, keepdims=True) and "
                "e.sum(axis=1, keepdims=True) so they broadcast against z",
                mistake="softmax-lost-axis",
            )
        raise


@guided
def check_softmax(softmax):
    """Row-wise softmax: rows are probabilities; numerically stable for huge z."""
    z = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 0.0, -1.0, 0.5], [0.0, 0.0, 0.0, 0.0]])
    got = _call_softmax(softmax, z)
    if not isinstance(got, np.ndarray) or got.shape != z.shape:
        fail(
            f"an array of shape {z.shape}",
            describe(got),
            "softmax keeps the shape: one probability per logit",
            mistake="softmax-wrong-shape",
        )
    expected = _softmax(z)
    if np.allclose(got.sum(axis=0), 1) and not np.allclose(got.sum(axis=1), 1):
        fail(
            "each ROW to sum to 1",
            f"columns summing to 1 (row sums {describe_values(got.sum(axis=1))})",
            "softmax over the wrong axis: each row is one example, so use axis=1 (with keepdims=True)",
            mistake="softmax-wrong-axis",
        )
    expect_close(
        got,
        expected,
        what="softmax(z)",
        hint="exp(z) / exp(z).sum(axis=1, keepdims=True), row by row",
        mistake="softmax-wrong-values",
    )
    big = np.array([[1000.0, 1000.0, 999.0], [1001.0, 999.0, 1000.0]])
    got_big = _call_softmax(softmax, big)
    if not np.all(np.isfinite(got_big)):
        fail(
            "finite probabilities for z = 1000",
            describe_values(got_big),
            "unstable softmax: exp(1000) overflows to inf and inf / inf is nan; subtract each row's max "
            "first (z - z.max(axis=1, keepdims=True)), which does not change the result",
            mistake="softmax-unstable",
        )
    expect_close(
        got_big,
        _softmax(big),
        what="softmax of large z",
        hint="subtract each row's max before exp",
        mistake="softmax-big-logits",
    )
    mixed = np.array([[1000.0, 999.0, 998.0], [0.0, 1.0, 2.0]])
    got_mixed = _call_softmax(softmax, mixed)
    if not np.all(np.isfinite(got_mixed)) or not _close(got_mixed, _softmax(mixed)):
        fail(
            f"softmax = {describe_values(_softmax(mixed))}",
            describe_values(got_mixed),
            "subtract each row's OWN max (axis=1, keepdims=True), not the max of the whole array: "
            "otherwise a row of small logits underflows to 0 / 0",
            mistake="softmax-global-max",
        )
    passed("softmax: rows sum to 1, correct values, stable for z = 1000")


# ---------------------------------------------------------------- cross_entropy
def _as_number(got, what):
    if isinstance(got, np.ndarray) and got.ndim == 1:
        fail(
            f"{what} as one number",
            describe(got),
            "that is one loss per row: average them over the batch (np.mean) into a single float",
            mistake="cross-entropy-per-row",
        )
    if not isinstance(got, (float, np.floating)) and not (isinstance(got, np.ndarray) and got.ndim == 0):
        fail(
            f"{what} as a float",
            describe(got),
            "return a single number, e.g. float(...)",
            mistake="cross-entropy-not-a-number",
        )
    return float(got)


@guided
def check_cross_entropy(cross_entropy):
    """Mean over rows of -sum(y * log(probs)); finite when a probability is 0."""
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.25, 0.5, 0.25]])
    y = np.eye(3)[[0, 1, 2, 1]]
    n, k = y.shape
    expected = _cross_entropy(probs, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = _as_number(call(cross_entropy, probs.copy(), y.copy()), "the loss")
    if math.isclose(got, -expected, rel_tol=1e-6):
        fail(
            f"loss = {expected:.6f}",
            f"{got:.6f}",
            "missing minus sign: log(p) < 0, so the loss is -mean(...)",
            mistake="cross-entropy-sign",
        )
    if math.isclose(got, n * expected, rel_tol=1e-6):
        fail(
            f"loss = {expected:.6f}",
            f"{got:.6f} (= {n} x the expected)",
            "forgotten batch average: you summed over the rows; take the mean over rows instead",
            mistake="cross-entropy-summed",
        )
    if math.isclose(got, expected / k, rel_tol=1e-6):
        fail(
            f"loss = {expected:.6f}",
            f"{got:.6f} (= expected / {k})",
            "you averaged over all n x k entries: sum over the classes (axis=1), then average over rows",
            mistake="cross-entropy-averaged-all",
        )
    for base, name in ((2, "np.log2"), (10, "np.log10")):
        if math.isclose(got, expected / math.log(base), rel_tol=1e-6):
            fail(
                f"loss = {expected:.6f} (in nats)",
                f"{got:.6f} (= the loss in base {base})",
                f"{name} measures in another unit: the loss is in nats, with the natural logarithm np.log, "
                "as Keras reports it",
                mistake="cross-entropy-wrong-log",
            )
    expect_close(
        got,
        expected,
        what="cross_entropy",
        hint="-mean over rows of sum_k y_k * log(p_k)",
        mistake="cross-entropy-wrong-value",
    )
    perfect = np.eye(3)[[0, 2]]
    with np.errstate(divide="ignore", invalid="ignore"):
        got_perfect = _as_number(call(cross_entropy, perfect.copy(), perfect.copy()), "the loss")
    if not np.isfinite(got_perfect) or abs(got_perfect) > 1e-6:
        fail(
            "loss = 0 for perfect predictions",
            f"{got_perfect}",
            "not clipping: probabilities of exactly 0 make log(0) = -inf and 0 * -inf = nan; "
            "clip first: np.clip(probs, 1e-12, 1.0)",
            mistake="cross-entropy-nan-unclipped",
        )
    wrong = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        got_wrong = _as_number(call(cross_entropy, wrong, np.eye(3)[[0, 2]]), "the loss")
    if not np.isfinite(got_wrong):
        fail(
            "a large but finite loss when the true class has probability 0",
            f"{got_wrong}",
            "not clipping: log(0) is -inf; clip the probabilities away from 0 first, np.clip(probs, 1e-12, 1.0)",
            mistake="cross-entropy-inf-unclipped",
        )
    if got_wrong < 5:
        fail(
            f"a large loss (about {_cross_entropy(wrong, np.eye(3)[[0, 2]]):.1f}) for a confident wrong answer",
            f"{got_wrong:.4f}",
            "clip with a tiny value such as 1e-12: a big clip value hides how wrong the prediction is",
            mistake="cross-entropy-big-clip",
        )
    passed("cross_entropy: the mean over rows, positive, finite for zero probabilities (clipped)")


# ---------------------------------------------------------------- forward
FORWARD_MISTAKES = (
    ({"b1": False}, "missing bias: the hidden layer is z1 = x @ W1 + b1"),
    ({"b2": False}, "missing bias: the output layer is z2 = a1 @ W2 + b2"),
    ({"b1": False, "b2": False}, "missing biases: add b1 and b2"),
    (
        {"hidden": _softmax},
        "softmax on the hidden layer: the hidden layer uses relu, only the output softmax",
    ),
    ({"output": _relu}, "relu on the output: the output layer uses softmax so each row sums to 1"),
    ({"output": lambda z: z}, "no softmax on the output: return softmax(z2), not the logits z2"),
    (
        {"hidden": _softmax, "output": _relu},
        "activations swapped: relu on the hidden layer, softmax on the output",
    ),
    ({"hidden": lambda z: z}, "no relu on the hidden layer: a1 = relu(z1)"),
)


@guided
def check_forward(forward):
    """forward(params, x) -> (probs, cache) with cache x, z1, a1, probs."""
    params, x, _ = tiny_problem()
    n, n_in = x.shape
    hidden, n_out = params["W2"].shape
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            result = call(forward, params, x.copy())
    except ValueError as error:
        if any(word in str(error) for word in ("matmul", "aligned", "broadcast", "shape")):
            fail(
                f"forward on x {x.shape} with W1 {params['W1'].shape}",
                f"ValueError: {error}",
                "wrong matrix order: x holds one example per row, so z1 = x @ W1 + b1 (n, h) and "
                "z2 = a1 @ W2 + b2 (n, 10)",
                mistake="forward-matrix-order",
            )
        raise
    if not isinstance(result, tuple) or len(result) != 2:
        fail(
            "a tuple (probs, cache)",
            describe(result),
            "end with `return probs, cache`",
            mistake="forward-return",
        )
    probs, cache = result
    expected, expected_cache = _forward(params, x)
    if not isinstance(probs, np.ndarray) or probs.shape != (n, n_out):
        hint = "probs has one row per example and one column per class: (n, 10)"
        if isinstance(probs, np.ndarray) and probs.shape == (n_out, n):
            hint = "wrong matrix order / transposed: compute x @ W1 and a1 @ W2, one example per row"
        fail(f"probs of shape {(n, n_out)}", describe(probs), hint, mistake="forward-wrong-shape")
    if not _close(probs, expected):
        for options, hint in FORWARD_MISTAKES:
            if _close(probs, _forward(params, x, **options)[0]):
                fail(
                    f"probs = {describe_values(expected[0])} (first row)",
                    describe_values(probs[0]),
                    hint,
                    mistake="forward-wrong-probs",
                )
        expect_close(
            probs,
            expected,
            what="probs",
            hint="z1 = x @ W1 + b1, a1 = relu(z1), z2 = a1 @ W2 + b2, probs = softmax(z2)",
            mistake="forward-wrong-values",
        )
    if not isinstance(cache, dict):
        fail(
            f"cache as a dict with keys {list(CACHE_KEYS)}",
            describe(cache),
            "return the dict backward needs",
            mistake="forward-cache-not-dict",
        )
    missing = [key for key in CACHE_KEYS if key not in cache]
    if missing:
        fail(
            f"cache keys {list(CACHE_KEYS)}",
            f"keys {list(cache)}",
            f"add {missing}: backward uses them",
            mistake="forward-cache-missing-key",
        )
    if _close(cache["z1"], expected_cache["a1"]) and not _close(cache["z1"], expected_cache["z1"]):
        fail(
            "cache['z1'] before relu",
            "z1 after relu",
            "store z1 = x @ W1 + b1 BEFORE relu; a1 = relu(z1)",
            mistake="forward-cache-z1-after-relu",
        )
    for key in CACHE_KEYS:
        expect_close(
            cache[key],
            expected_cache[key],
            what=f"cache['{key}']",
            hint=f"store {key} as computed",
            mistake="forward-cache-wrong-value",
        )
    passed(f"forward: probs {probs.shape} correct, cache holds x, z1 (before relu), a1 and probs")


# ---------------------------------------------------------------- backward
def _grad_shape_hint(name, got_shape, expected_shape, n):
    if name.startswith("W") and got_shape == expected_shape[::-1]:
        side = "x.T @ dz1" if name == "W1" else "a1.T @ dz2"
        return f"transposed W gradient: d{name} = {side} has the shape of {name}, {expected_shape}"
    if name.startswith("b") and got_shape == (n, *expected_shape):
        return f"sum over the batch axis: d{name} = dz.sum(axis=0) has shape {expected_shape}"
    if name.startswith("b") and got_shape == (1, *expected_shape):
        return f"drop keepdims: d{name} must have the shape of {name}, {expected_shape}"
    return f"each gradient has the same shape as its parameter: {name} is {expected_shape}"


@guided
def check_backward(backward):
    """Gradients of the mean cross-entropy, compared with a numerical gradient computed here."""
    params, x, y = tiny_problem()
    n = x.shape[0]
    _, cache = _forward(params, x)
    numeric = numerical_gradient(params, x, y)
    with np.errstate(over="ignore", invalid="ignore"):
        grads = call(backward, {k: v.copy() for k, v in params.items()}, dict(cache), y.copy())
    if not isinstance(grads, dict) or any(key not in grads for key in KEYS):
        fail(
            f"a dict with keys {list(KEYS)}",
            describe(grads),
            "return {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}",
            mistake="backward-not-dict",
        )
    for name in ("W2", "b2", "W1", "b1"):
        got, shape = grads[name], params[name].shape
        if not isinstance(got, np.ndarray):
            fail(
                f"d{name} as an array of shape {shape}",
                describe(got),
                "compute it with numpy",
                mistake="backward-not-numpy",
            )
        if got.shape != shape:
            fail(
                f"d{name} of shape {shape}",
                f"shape {got.shape}",
                _grad_shape_hint(name, got.shape, shape, n),
                mistake="backward-wrong-shape",
            )
    if all(_close(grads[k], n * numeric[k]) for k in KEYS):
        fail(
            f"dW2[0, :3] = {describe_values(numeric['W2'][0, :3])}",
            f"{describe_values(grads['W2'][0, :3])} ({n} x too big)",
            "forgotten batch average: the loss is a mean, so start from dz2 = (probs - y_onehot) / n",
            mistake="backward-no-batch-average",
        )
    if all(_close(grads[k], -numeric[k]) for k in KEYS):
        fail(
            f"dW2[0, :3] = {describe_values(numeric['W2'][0, :3])}",
            describe_values(grads["W2"][0, :3]),
            "flipped sign: the gradient of the loss is dz2 = (probs - y_onehot) / n, not (y_onehot - probs) / n",
            mistake="backward-sign",
        )
    for name in ("W2", "b2"):
        if not _close(grads[name], numeric[name]):
            hint = f"d{name} comes from dz2 = (probs - y_onehot) / n: dW2 = a1.T @ dz2, db2 = dz2.sum(axis=0)"
            if _close(grads[name], numeric[name] / n):
                hint = f"d{name} is divided by n twice: dz2 already has / n, so sum over the batch (not mean)"
            fail(
                f"d{name} = {describe_values(numeric[name])[:60]}...",
                f"{describe_values(grads[name])[:60]}... (relative error {_relative_error(grads[name], numeric[name]):.1e})",
                hint,
                mistake="backward-wrong-gradient",
            )
    no_mask = _backward(params, cache, y, mask=False)
    for name in ("W1", "b1"):
        if not _close(grads[name], numeric[name]):
            hint = "dz1 = (dz2 @ W2.T) * relu_grad(z1); dW1 = x.T @ dz1; db1 = dz1.sum(axis=0)"
            if _close(grads[name], no_mask[name]):
                hint = "missing relu_grad mask: dz1 = (dz2 @ W2.T) * relu_grad(z1), the gradient stops where z1 <= 0"
            elif _close(grads[name], numeric[name] / n):
                hint = f"d{name} is divided by n twice: dz2 already has / n, so sum over the batch (not mean)"
            fail(
                f"d{name} = {describe_values(numeric[name])[:60]}...",
                f"{describe_values(grads[name])[:60]}... (relative error {_relative_error(grads[name], numeric[name]):.1e})",
                hint,
                mistake="backward-wrong-bias-gradient",
            )
    worst = max(_relative_error(grads[k], numeric[k]) for k in KEYS)
    passed(f"backward: all four gradients match a numerical gradient (relative error {worst:.0e})")


# ---------------------------------------------------------------- sgd_step
IN_PLACE_SGD = (
    "params or grads modified in place; this exercise's contract: leave params and grads alone and "
    "return new arrays, new[name] = params[name] - learning_rate * grads[name] (no -=)"
)


@guided
def check_sgd_step(sgd_step):
    """sgd_step returns a NEW dict of NEW arrays params - learning_rate * grads; inputs untouched."""
    params, _, _ = tiny_problem(seed=3)
    grads, _, _ = tiny_problem(seed=4)
    learning_rate = 0.1
    expected = {k: params[k] - learning_rate * grads[k] for k in KEYS}
    new = call(sgd_step, params, grads, learning_rate, in_place_hint=IN_PLACE_SGD)
    if not isinstance(new, dict) or any(key not in new for key in KEYS):
        fail(
            f"a dict with keys {list(KEYS)}",
            describe(new),
            "return a new dict with one entry per parameter",
            mistake="sgd-missing-entries",
        )
    if new is params:
        fail(
            "a new dict",
            "the same dict you were given",
            "build and return a new dict",
            mistake="returned-same-dict",
        )
    what = "new W1[0, :3]"
    exp_text = describe_values(expected["W1"][0, :3])
    if all(_close(new[k], params[k] + learning_rate * grads[k]) for k in KEYS):
        fail(
            f"{what} = {exp_text}",
            describe_values(new["W1"][0, :3]),
            "flipped sign: step AGAINST the gradient, params - learning_rate * grads (you added it)",
            mistake="sgd-sign",
        )
    if all(_close(new[k], params[k] - grads[k]) for k in KEYS):
        fail(
            f"{what} = {exp_text}",
            describe_values(new["W1"][0, :3]),
            "ignoring the learning rate: multiply the gradient by learning_rate",
            mistake="sgd-no-learning-rate",
        )
    for key in KEYS:
        expect_close(
            new[key],
            expected[key],
            what=f"new {key}",
            hint="params[name] - learning_rate * grads[name]",
            mistake="sgd-wrong-values",
        )
    other = call(sgd_step, params, grads, 0.5, in_place_hint=IN_PLACE_SGD)
    for key in KEYS:
        expect_close(
            other[key],
            params[key] - 0.5 * grads[key],
            what=f"new {key} with learning_rate=0.5",
            hint="use the learning_rate argument, not a fixed number",
            mistake="sgd-fixed-learning-rate",
        )
    passed("sgd_step: params - learning_rate * grads, in a new dict of new arrays, inputs untouched")


# ---------------------------------------------------------------- train_sgd
def reference_init(n_in, hidden, n_out, rng, dtype=np.float64):
    """The notebook's init_params: He-initialised W1 then W2 from ``rng``, zero biases, in ``dtype``."""
    return {
        "W1": (rng.standard_normal((n_in, hidden)) * np.sqrt(2 / n_in)).astype(dtype),
        "b1": np.zeros(hidden, dtype=dtype),
        "W2": (rng.standard_normal((hidden, n_out)) * np.sqrt(2 / hidden)).astype(dtype),
        "b2": np.zeros(n_out, dtype=dtype),
    }


def reference_train(x, y_onehot, hidden, epochs, batch_size, learning_rate, seed, *, loss_after_step=False):
    """The contract's training run: ``(params, losses)``, draw for draw.

    rng = default_rng(seed) draws W1 then W2, then one permutation per epoch; each batch's loss is
    recorded before its update (after it, with ``loss_after_step``: a wrong version, for diagnosis).
    """
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    params = reference_init(x.shape[1], hidden, y_onehot.shape[1], rng, dtype=x.dtype)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            probs, cache = _forward(params, x[batch])
            grads = _backward(params, cache, y_onehot[batch])
            stepped = {k: params[k] - learning_rate * grads[k] for k in KEYS}
            losses.append(
                _cross_entropy(_forward(stepped if loss_after_step else params, x[batch])[0], y_onehot[batch])
            )
            params = stepped
    return params, losses


def _accuracy(params, x, y_onehot):
    return float(np.mean(_forward(params, x)[0].argmax(axis=1) == y_onehot.argmax(axis=1)))


@guided
def check_train_sgd(train_sgd):
    """train_sgd learns an easy task, reproducibly, with the right shapes and one loss per batch."""
    x, y = blobs()
    n, n_in = x.shape
    n_out = y.shape[1]
    hidden, epochs, batch_size, learning_rate = 16, 12, 10, 0.2
    batches = math.ceil(n / batch_size)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = call(train_sgd, x.copy(), y.copy(), hidden, epochs, batch_size, learning_rate, 0)
    if not isinstance(result, tuple) or len(result) != 2:
        fail(
            "a tuple (params, losses)",
            describe(result),
            "end with `return params, losses`",
            mistake="train-return",
        )
    params, losses = result
    shapes = {"W1": (n_in, hidden), "b1": (hidden,), "W2": (hidden, n_out), "b2": (n_out,)}
    if not isinstance(params, dict) or any(key not in params for key in KEYS):
        fail(
            f"params as a dict with keys {list(KEYS)}",
            describe(params),
            "return the trained params dict",
            mistake="train-params-not-dict",
        )
    for key, shape in shapes.items():
        if np.shape(params[key]) != shape:
            fail(
                f"{key} of shape {shape} (n_in = x.shape[1] = {n_in}, hidden = {hidden}, "
                f"n_out = y_onehot.shape[1] = {n_out})",
                f"shape {np.shape(params[key])}",
                "wrong params shapes: W1 (n_in, hidden), b1 (hidden,), W2 (hidden, n_out), b2 (n_out,)",
                mistake="train-wrong-param-shapes",
            )
    if not isinstance(losses, list):
        fail(
            "losses as a list of floats",
            describe(losses),
            "append float(loss) to a list, one per batch",
            mistake="train-losses-not-list",
        )
    if len(losses) != epochs * batches:
        hint = f"one loss per batch: {epochs} epochs x {batches} batches of up to {batch_size} examples"
        if len(losses) == epochs:
            hint = "you returned one loss per epoch; this exercise's contract is one loss per batch"
        elif len(losses) == epochs * (n // batch_size):
            hint = "the last, smaller batch is missing: range(0, n, batch_size) covers every example"
        fail(f"{epochs * batches} losses", f"{len(losses)}", hint, mistake="train-wrong-loss-count")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        whole, whole_losses = call(train_sgd, x.copy(), y.copy(), hidden, 1, n, 0.0, 0)
    if len(whole_losses) == 1 and all(np.shape(whole[k]) == shapes[k] for k in KEYS):
        matched = _cross_entropy(_forward(whole, x)[0], y)
        at_start = _cross_entropy(
            _forward(reference_init(n_in, hidden, n_out, np.random.default_rng(0)), x)[0], y
        )
        if not any(_close(float(whole_losses[0]), value, rtol=1e-4) for value in (matched, at_start)):
            fail(
                f"loss {matched:.4f} for one batch of all {n} examples, learning_rate=0 (each image with its "
                "own label)",
                f"{float(whole_losses[0]):.4f}",
                "the images and their labels were shuffled with different orders, so each image now sits "
                "next to another image's label and there is nothing to learn. Draw ONE permutation per epoch "
                "and take each batch of images and of labels with the same indices",
                mistake="train-labels-shuffled-apart",
            )
    for dtype in (np.float64, np.float32):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            typed, _ = call(
                train_sgd, x.astype(dtype), y.astype(dtype), hidden, 1, batch_size, learning_rate, 0
            )
        wrong = {k: str(np.asarray(typed[k]).dtype) for k in KEYS if np.asarray(typed[k]).dtype != dtype}
        if wrong:
            fail(
                f"params of x's dtype ({np.dtype(dtype).name}) after training on {np.dtype(dtype).name} x",
                ", ".join(f"{k} {t}" for k, t in wrong.items()),
                "params get x's dtype: create them with init_params(n_in, hidden, n_out, rng, dtype=x.dtype) "
                "(its default is float32), and keep every step in that dtype; a float64 step turns float32 "
                "weights into float64: twice the memory, slower",
                mistake="train-dtype",
            )
    values = np.array([float(v) for v in losses])
    if not np.all(np.isfinite(values)):
        fail(
            "finite losses",
            describe_values(values[:8]),
            "a loss became nan/inf: check cross_entropy and backward",
            mistake="train-nan-loss",
        )
    first, last = values[:batches].mean(), values[-batches:].mean()
    accuracy = _accuracy(params, x, y)
    if not last < 0.5 * first or accuracy < 0.9:
        fail(
            "the loss to drop on an easy task (last epoch < half the first) and training accuracy >= 0.9",
            f"mean loss {first:.3f} in epoch 1, {last:.3f} in epoch {epochs}; accuracy {accuracy:.2f}",
            "losses not decreasing: keep the result of each step (params = sgd_step(params, grads, "
            "learning_rate)) and return the trained params; check forward, backward and sgd_step first",
            mistake="train-steps-not-kept",
        )
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        params_again, losses_again = call(
            train_sgd, x.copy(), y.copy(), hidden, epochs, batch_size, learning_rate, 0
        )
        _, losses_other = call(train_sgd, x.copy(), y.copy(), hidden, epochs, batch_size, learning_rate, 1)
    if not np.array_equal(values, np.array(losses_again, dtype=float)) or not all(
        np.array_equal(params[k], params_again[k]) for k in KEYS
    ):
        fail(
            "the same losses and params for the same seed",
            "different results on a second run",
            "not reproducible: draw the initial weights and the shuffles from rng = np.random.default_rng(seed), "
            "not from np.random.* or default_rng() without the seed",
            mistake="train-not-reproducible",
        )
    if np.array_equal(values, np.array(losses_other, dtype=float)):
        fail(
            "different losses for seed 0 and seed 1",
            "identical losses",
            "use the seed argument for rng",
            mistake="train-seed-ignored",
        )
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        still, still_losses = call(train_sgd, x.copy(), y.copy(), hidden, 2, batch_size, 0.0, 0)
    still_values = np.array(still_losses, dtype=float)
    if (
        still_values.shape != (2 * batches,)
        or still_values[-batches:].mean() < 0.9 * still_values[:batches].mean()
    ):
        fail(
            "no learning with learning_rate=0.0",
            f"mean loss {still_values[:batches].mean():.3f} -> {still_values[-batches:].mean():.3f}",
            "learning_rate is ignored: pass it on to sgd_step",
            mistake="train-learning-rate-ignored",
        )
    in_order = [
        _cross_entropy(_forward(still, x[s : s + batch_size])[0], y[s : s + batch_size])
        for s in range(0, n, batch_size)
    ]
    if np.allclose(still_values[:batches], in_order):
        fail(
            "the examples in a new random order each epoch",
            "the batches in the original order",
            "shuffle each epoch: order = rng.permutation(n), then take x[order[start:start + batch_size]]",
            mistake="train-not-shuffled",
        )
    if np.allclose(still_values[:batches], still_values[batches:]):
        fail(
            "a new order each epoch",
            "the same order in every epoch",
            "draw a new permutation inside the epoch loop (rng.permutation(n) each epoch)",
            mistake="train-shuffled-once",
        )
    expected_params, expected_losses = reference_train(x, y, hidden, epochs, batch_size, learning_rate, 0)
    if not _close(values, expected_losses):
        _, after = reference_train(x, y, hidden, epochs, batch_size, learning_rate, 0, loss_after_step=True)
        start = reference_init(n_in, hidden, n_out, np.random.default_rng(0))
        if _close(values, after):
            hint = (
                "each loss was recorded after its batch's update: the contract is the loss of every batch "
                "BEFORE its update: the loss of the same forward pass whose gradients you then use, recorded "
                "before sgd_step changes the params (so losses[0] is the loss of the untrained network)"
            )
        elif not all(_close(still[k], start[k]) for k in KEYS):
            hint = (
                "the initial weights are not the ones the contract fixes: create rng = "
                "np.random.default_rng(seed) once, and let init_params(..., rng, dtype=x.dtype) draw W1 and W2 "
                "from it FIRST, before any shuffle"
            )
        else:
            hint = (
                "the shuffles are not the ones the contract fixes: after init_params, each epoch draws its "
                "order from the same rng, order = rng.permutation(n) (not np.random.*, not a second "
                "Generator, not rng.shuffle of the data)"
            )
        fail(
            f"losses[:3] = {describe_values(expected_losses[:3])} (seed 0, run draw for draw)",
            describe_values(values[:3]),
            hint,
            mistake="train-wrong-losses",
        )
    passed(
        f"train_sgd: shapes right, {len(losses)} per-batch losses, loss {first:.2f} -> {last:.2f}, "
        f"accuracy {accuracy:.2f}, reproducible with the same seed"
    )
