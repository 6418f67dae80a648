"""Hints that deepen: two more rungs of help for every exercise, beyond a check's own message.

A failing check names the likely mistake. When the same check keeps failing in the same
kernel, it adds more help to its message: after the 2nd failure the first rung (the idea,
and the section of the notebook that explains it), after the 4th the second rung (a concrete
nudge: the function to look at, a smaller example to try). ``hint("flatten_images")`` (also
``from mnistlib import hint``) prints the next rung on request. No rung gives the answer.

All the hint text is in :data:`RUNGS`, one entry per exercise, in teaching order.
"""

from __future__ import annotations

import difflib
import textwrap
from dataclasses import dataclass

__all__ = ["RUNGS", "hint"]

#: After this many failures of the same check in one kernel, rung 1, then rung 2, is shown.
FAILURES_FOR_RUNG = (2, 4)


@dataclass(frozen=True)
class Rungs:
    notebook: str  # the notebook id, e.g. "02-reshaping"
    section: str  # the heading (without #) of the section that explains the idea
    concept: str  # rung 1: the idea behind the exercise
    nudge: str  # rung 2: what to look at or try, never the answer

    def text(self, level: int) -> str:
        if level == 1:
            return f'{self.concept} Read again: "{self.section}" in {self.notebook}.'
        return self.nudge


RUNGS: dict[str, Rungs] = {
    # ------------------------------------------------------------------------------- 01 loading the data
    "get_digit": Rungs(
        "01-loading-data",
        "3. The 200th digit: R counts from 1, Python from 0",
        "R numbers the images 1, 2, 3, ...; Python's indexes start at 0. So your n and the array's "
        "index are one apart, and a position outside 1 .. len(images) must be refused, not wrapped around.",
        "Try it on a tiny stack: imgs = np.arange(3 * 2 * 2).reshape(3, 2, 2). Which index gives the 1st "
        "image, which the 3rd? Then ask Python what imgs[-1] is: a negative index silently picks the last "
        "image, which is why n = 0 needs your own test and an IndexError.",
    ),
    "label_counts": Rungs(
        "01-loading-data",
        "5. How many of each digit?",
        "The answer is a histogram of whole numbers: ten counts, one per digit 0-9, in that order, even for "
        "a digit that never occurs.",
        "Look at np.bincount and its minlength= argument (or np.unique with return_counts=True). "
        "Try np.bincount(np.array([1, 1, 3])): what is missing for a ten-digit table, and what is its dtype?",
    ),
    # ---------------------------------------------------------------------------------------- 02 reshaping
    "flatten_images": Rungs(
        "02-reshaping",
        "2. The order of unfolding matters",
        "Each 28 x 28 picture becomes one row of 784 numbers, read row by row (row-major), and every pixel "
        "is divided by the same 255 into [0, 1] as a float32; the scaling is section 3.",
        "Try a 2-image stack of 2 x 3 pictures first: small = np.arange(12, dtype=np.uint8).reshape(2, 2, 3). "
        "Which reshape gives 2 rows of 6 in reading order? Then check .dtype and .max() after astype(...) "
        "and a division: you want float32 and at most 1.0.",
    ),
    # ---------------------------------------------------------------------------------------- 03 one-hot
    "one_hot": Rungs(
        "03-one-hot-labels",
        "2. The tutorial's example, by hand",
        "Label k becomes a row of num_classes zeros with a single 1 in column k: one row per label, a float32 "
        "matrix of shape (n, num_classes). A label outside 0 .. num_classes - 1 is an error, not a row.",
        "Start from np.zeros((3, 4), dtype=np.float32) and set one entry per row with fancy indexing: "
        "m[[0, 1, 2], [3, 0, 1]] = 1 sets (0, 3), (1, 0) and (2, 1). np.arange(n) gives the row numbers. "
        "For bad labels, compare with (labels < 0) | (labels >= num_classes) and np.any.",
    ),
    # ------------------------------------------------------------------------------ 04 building the network
    "build_network": Rungs(
        "04-building-the-network",
        "2. The tutorial's network in Keras",
        "A keras.Sequential takes a list: first keras.Input with the shape of one image, then the dense "
        "layers in order (784 relu units, 512 relu units, 10 softmax units). Build it only; compiling is "
        "the next exercise.",
        "Print model.summary() of your network and compare it with the tutorial's table: three Dense rows "
        "with output shapes (None, 784), (None, 512), (None, 10). Each layer's activation is a string "
        'argument, e.g. keras.layers.Dense(8, activation="relu").',
    ),
    "dense_param_count": Rungs(
        "04-building-the-network",
        "3. Counting the parameters",
        "A dense layer has one weight for every (input, unit) pair plus one bias per unit.",
        "Count a tiny layer by hand: 3 inputs and 2 units. Draw the 3 x 2 weight matrix and the 2 biases, "
        "then check with keras: keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).count_params().",
    ),
    "compile_network": Rungs(
        "04-building-the-network",
        "5. Compiling: optimizer, loss, metric",
        "compile() changes the model in place and sets three things: the optimizer (the tutorial's "
        "rmsprop), the loss that matches one-hot targets and softmax outputs, and the metric to report "
        "(accuracy). Then the function hands the same model back.",
        "Look at the three keyword arguments of model.compile: optimizer=, loss= and metrics= (a list). "
        "Which Keras loss name goes with one-hot labels: categorical_crossentropy or "
        "sparse_categorical_crossentropy? After compiling, model.loss shows what you set.",
    ),
    # ------------------------------------------------------------------------------------------ 05 training
    "batches_per_epoch": Rungs(
        "05-training",
        "2. Mini-batches, steps and epochs",
        "Keras first keeps back the validation share (the last rows), then cuts the rows it trains on into "
        "batches; a last, smaller batch still counts as a step.",
        "Work 10 images, batch_size 4, validation_split 0.2 by hand: how many rows are left to train on, "
        "and how many batches of at most 4? math.floor and math.ceil do the two roundings; check which one "
        "each step needs.",
    ),
    "predict_classes": Rungs(
        "05-training",
        "5. Predicting digits",
        "model.predict gives one row of ten probabilities per image; the predicted digit is the column "
        "where each row is largest.",
        "Try np.argmax on a small matrix, p = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]]), with axis=0 "
        "and with axis=1: which one gives one answer per row? Remember verbose=0 for predict.",
    ),
    # ------------------------------------------------------------------------------ 06 diagnosing overfitting
    "best_epoch": Rungs(
        "06-diagnosing-overfitting",
        "3. The best epoch",
        "The best epoch is where the validation loss (not the training loss) is lowest, and epochs are "
        "counted from 1 as Keras prints them.",
        'Try history = {"val_loss": [0.5, 0.3, 0.4]}: the best epoch is 2. np.argmin gives a position '
        "counting from 0, and a NumPy integer; the answer must be a plain int counting from 1.",
    ),
    "confusion_matrix": Rungs(
        "06-diagnosing-overfitting",
        "4. The confusion matrix: which digits get mixed up?",
        "Entry [i, j] counts the images whose true class is i and whose predicted class is j: rows are the "
        "truth, columns the prediction, and a pair that occurs twice counts twice.",
        "Start from an all-zero integer matrix of shape (num_classes, num_classes) and add 1 per image. "
        "A plain loop over zip(y_true, y_pred) is fine; for a vectorised version look at np.add.at, and see "
        "why m[rows, cols] += 1 counts a repeated pair only once.",
    ),
    # ------------------------------------------------------------------------------------------- 07 dropout
    "dropout": Rungs(
        "07-dropout",
        "2. Why divide by (1 - rate)? Keeping the average",
        "Each entry is dropped (set to 0) with probability rate and the survivors are scaled up by "
        "1 / (1 - rate), so the average stays the same. The random numbers come from the rng you are given.",
        "Try a boolean mask: rng.random(x.shape) gives uniform numbers in [0, 1); compare them with rate and "
        "count the Trues on 1,000 entries. Multiplying x by a boolean mask keeps x's dtype. Check rate = 0 "
        "and a rate outside [0, 1) separately.",
    ),
    "build_dropout_network": Rungs(
        "07-dropout",
        "5. The tutorial's second network",
        "Dropout layers sit after each hidden Dense layer, with the tutorial's rates 0.4, 0.3 and 0.2 in that "
        "order, and there is no dropout after the softmax output.",
        "Write the layer list out as a column first: Input, then three pairs of (Dense 512 relu, Dropout), "
        "then Dense 10 softmax. model.summary() should show eight rows after the input; "
        "[layer.rate for layer in model.layers if hasattr(layer, 'rate')] shows your rates.",
    ),
    # ---------------------------------------------------------------------------- 08 gradient descent by hand
    "relu": Rungs(
        "08-gradient-descent-by-hand",
        "relu and its slope",
        "relu keeps positive numbers and turns negative ones into 0, element by element, whatever the shape.",
        "Look at np.maximum, which compares two arrays (or an array and a number) entry by entry: try "
        "np.maximum(np.array([-1.5, 2.0]), 1.0). Keep the input's dtype and never write into z.",
    ),
    "relu_grad": Rungs(
        "08-gradient-descent-by-hand",
        "relu and its slope",
        "relu's slope is 1 where its input is positive and 0 elsewhere (at exactly 0 the course uses 0), "
        "returned as numbers of z's dtype, not booleans.",
        "Try z = np.array([-1.0, 0.0, 2.0], dtype=np.float32) and look at the comparison z > 0: a boolean "
        "array. .astype(...) turns it into numbers; which dtype keeps float32?",
    ),
    "softmax": Rungs(
        "08-gradient-descent-by-hand",
        "softmax, the stable way",
        "softmax works row by row: exponentiate, then divide each row by its own sum. Subtracting each row's "
        "maximum first changes nothing mathematically and keeps np.exp from overflowing.",
        "Try z = np.array([[1.0, 2.0], [1000.0, 1000.0]]). What does z.max(axis=1) give, and what does "
        "z.max(axis=1, keepdims=True) give? Only the second one broadcasts against z. Each row of your "
        "answer should sum to 1.",
    ),
    "cross_entropy": Rungs(
        "08-gradient-descent-by-hand",
        "The loss: categorical cross-entropy",
        "For each image, the loss is minus the log of the probability given to its true digit; the batch's "
        "loss is the mean over the images (not the sum), returned as one Python float.",
        "Try one image by hand: probs [[0.25, 0.75]] and label [[0, 1]] give -log(0.75), about 0.2877. "
        "Multiply by the one-hot rows to pick the true class, sum along axis=1, then average; np.clip keeps "
        "log(0) away.",
    ),
    "forward": Rungs(
        "08-gradient-descent-by-hand",
        "The forward pass",
        "The forward pass is two layers in a row: a matrix product plus bias, relu, another matrix product "
        "plus bias, softmax. The cache keeps x, the hidden values before and after relu, and the "
        "probabilities for the backward pass.",
        "Check the shapes as you go with 2 images and h = 3: x (2, 784) @ W1 (784, 3) gives (2, 3); adding "
        "b1 of shape (3,) broadcasts over the rows. Use your relu and softmax from above, and put exactly "
        'the keys "x", "z1", "a1", "probs" in the cache.',
    ),
    "backward": Rungs(
        "08-gradient-descent-by-hand",
        "4. Backpropagation, step by step",
        "Go backwards through the forward pass: the output error (probabilities minus targets, divided by "
        "the batch size for the mean), then each layer's weight gradient, bias gradient, and the error "
        "passed back through W2 and relu's slope.",
        "Every gradient has the shape of its parameter: dW1 like W1, db2 like b2. Use that to choose between "
        "a.T @ d and d @ a.T, and which axis to sum the biases over. Then compare with the numerical check "
        "of section 5 on a tiny network.",
    ),
    "sgd_step": Rungs(
        "08-gradient-descent-by-hand",
        "6. The training loop: mini-batch stochastic gradient descent",
        "One step moves every parameter a little against its gradient, by learning_rate times the "
        "gradient, and builds new arrays instead of changing the old ones.",
        "A dict comprehension, {name: ... for name in params}, builds the new dict in one go. Check that "
        "params['W1'] is unchanged afterwards: -= would write into the caller's arrays.",
    ),
    "train_sgd": Rungs(
        "08-gradient-descent-by-hand",
        "6. The training loop: mini-batch stochastic gradient descent",
        "Each epoch shuffles the images with the seeded generator, then for each batch: forward, loss, "
        "backward, step. The losses list gets one value per batch, in order.",
        "Start from np.random.default_rng(seed) and init_params; rng.permutation(n) gives the order of one "
        "epoch, and range(0, n, batch_size) the batch starts (the last batch may be smaller). With 10 "
        "images, batch_size 4 and 2 epochs you should get 6 losses.",
    ),
    # ------------------------------------------------------------------------------------ 09 going further
    "conv2d_valid": Rungs(
        "09-going-further",
        "2. Convolution: a small filter sliding over the picture",
        "Slide the kernel to every position where it fits entirely inside the image; at each one, multiply "
        "the overlapping numbers and add them up. The output has (H - kh + 1) x (W - kw + 1) entries.",
        "Try a 3 x 3 image with a 2 x 2 kernel by hand: 4 positions, so a 2 x 2 result. Two nested loops "
        "over the output's rows and columns, and slicing image[i : i + kh, j : j + kw], do it; do not flip "
        "the kernel.",
    ),
    "add_channel_axis": Rungs(
        "09-going-further",
        "4. Images with a channel axis",
        "Conv2D wants one more axis at the end, the channel (1 for grayscale), and pixels scaled to [0, 1] "
        "as float32, like flatten_images did.",
        "Try np.zeros((2, 28, 28)) with [..., np.newaxis], np.expand_dims(a, -1) or a.reshape(2, 28, 28, 1) "
        "and compare the shapes. Then check the dtype and largest value of your result.",
    ),
    "build_convnet": Rungs(
        "09-going-further",
        "5. A small convnet",
        "The convnet alternates convolution (32, then 64 filters of 3 x 3, relu) and 2 x 2 max pooling, "
        "then flattens, applies dropout 0.5 and ends with 10 softmax units. The input shape has the channel "
        "axis: 28 x 28 x 1.",
        "Build it a layer at a time and print model.summary(): after the first Conv2D the output is "
        "(None, 26, 26, 32), after the first pooling (None, 13, 13, 32). Flatten needs no "
        "arguments.",
    ),
}

_failures: dict[str, int] = {}  # failures of each check in this kernel, since it last passed
_level: dict[str, int] = {}  # rungs revealed so far in this kernel (by failures or by hint())
_stuck: list[str] = []  # the exercise whose check failed last in this kernel (none once it passes)


def reset() -> None:
    """Forget this kernel's failure counts and revealed rungs (as after a kernel restart)."""
    _failures.clear()
    _level.clear()
    _stuck.clear()


def format_rung(exercise: str, level: int) -> str:
    """Rung ``level`` (1 or 2) of ``exercise``, as lines that line up with a check's message."""
    rungs = RUNGS[exercise]
    label = "idea:" if level == 1 else "try:"
    head = f"  {label:<10}"
    body = f"(more help {level} of {len(FAILURES_FOR_RUNG)}) {rungs.text(level)}"
    return textwrap.fill(
        body,
        width=108,
        initial_indent=head,
        subsequent_indent=" " * len(head),
        break_on_hyphens=False,
        break_long_words=False,
    )


def after_failure(exercise: str) -> str:
    """Count a failure of ``exercise``'s check; return the rungs it has earned ("" for none)."""
    if exercise not in RUNGS:
        return ""
    _stuck[:] = [exercise]
    count = _failures[exercise] = _failures.get(exercise, 0) + 1
    earned = sum(count >= n for n in FAILURES_FOR_RUNG)
    level = _level[exercise] = max(_level.get(exercise, 0), earned)
    return "".join("\n" + format_rung(exercise, n) for n in range(1, level + 1))


def after_pass(exercise: str) -> None:
    """A passing check starts its failure count again."""
    _failures.pop(exercise, None)
    if exercise in _stuck:
        _stuck.clear()


def stuck_on() -> str | None:
    """The exercise a learner is stuck on: the last check that failed in this kernel and has not
    passed since; else the first exercise, in teaching order, that the progress file has failing."""
    if _stuck:
        return _stuck[0]
    from . import progress

    try:
        path = progress.progress_path() if progress.recording() else None
        data = progress.load(path) if path is not None else progress.empty()
    except Exception:
        return None
    return next((name for name in RUNGS if progress.state(data, name)[0] == "failing"), None)


def _name(exercise) -> str:
    name = exercise if isinstance(exercise, str) else getattr(exercise, "__name__", str(exercise))
    return name.strip().removeprefix("check_")


def hint(exercise=None) -> None:
    """Print the next rung of help for an exercise: ``hint("flatten_images")`` or ``hint(flatten_images)``.

    Without an argument, for the exercise you are stuck on (:func:`stuck_on`).
    """
    if exercise is None:
        exercise = stuck_on()
        if exercise is None:
            print(
                "No check has failed yet, so there is nothing to help with: name the exercise you want "
                'help with, for example mnistlib.hint("get_digit").'
            )
            return
    name = _name(exercise)
    if name not in RUNGS:
        close = difflib.get_close_matches(name, list(RUNGS), n=1, cutoff=0.6)
        if close:
            print(f'There are no hints for {name!r}, no exercise has that name. Did you mean "{close[0]}"?')
        else:
            print(
                f"There are no hints for {name!r}, no exercise has that name. The exercises are: {', '.join(RUNGS)}."
            )
        return
    level = _level.get(name, 0)
    if level >= len(FAILURES_FOR_RUNG):
        print(f"That was all the help there is for {name}; here it is again.")
        print("\n".join(format_rung(name, n) for n in range(1, level + 1)))
        return
    _level[name] = level + 1
    print(f"{name}:\n{format_rung(name, level + 1)}")
