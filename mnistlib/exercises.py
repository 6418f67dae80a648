"""The course's exercises, one record each: everything mnistlib knows about an exercise is here.

An :class:`Exercise` names the function a learner writes, the notebook and the section it stands in,
the module of :mod:`mnistlib.checks` holding its visible check ``check_<name>``, and its two rungs of
hints. The course map (:mod:`mnistlib.progress`), ``mnistlib.needs`` (:mod:`mnistlib.prerequisites`),
the hints (:mod:`mnistlib.hints`) and the checks' progress records all read :data:`EXERCISES`; the order
of the table is the teaching order.

What is not here, because it has another home that tools read: the points of an exercise are the
nbgrader metadata of its test cell (``test_<name>``) in the source notebook, which nbgrader grades by;
and what an exercise needs first is found in the learner's own code (:func:`mnistlib.prerequisites.with_prerequisites`).
tests/test_exercise_records.py checks that every graded cell of every source notebook has exactly one record
and every record its cells, and that each record's sections are headings of its notebook.

Adding an exercise: one record below, plus the notebook cells (CONTRIBUTING.md, "Adding an exercise").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    """One exercise of the course."""

    name: str  # the function the learner writes, e.g. "flatten_images"; its check is check_<name>
    notebook: str  # the notebook id, e.g. "02-reshaping"
    checks: str  # the module of mnistlib.checks with check_<name>, e.g. "reshaping"
    section: str  # the heading (without #) of the numbered section the exercise stands in
    concept: str  # hint rung 1: the idea behind the exercise
    nudge: str  # hint rung 2: what to look at or try, never the answer
    read_again: str = ""  # the heading that explains the idea, when not ``section`` (hint rung 1 names it)

    @property
    def section_number(self) -> str:
        """ "3" for "3. Scaling to [0, 1], in 32-bit floats": the number the course's messages use."""
        return self.section.split(".", 1)[0]

    @property
    def explained_in(self) -> str:
        return self.read_again or self.section

    def check(self):
        """The visible check, ``mnistlib.checks.<checks>.check_<name>`` (imported on first use)."""
        module = importlib.import_module(f"{__package__}.checks.{self.checks}")
        return getattr(module, f"check_{self.name}")


EXERCISES: dict[str, Exercise] = {
    exercise.name: exercise
    for exercise in (
        # ------------------------------------------------------------ 01-loading-data
        Exercise(
            "get_digit",
            "01-loading-data",
            "loading_data",
            section="3. The 200th digit: R counts from 1, Python from 0",
            concept=(
                "R numbers the images 1, 2, 3, ...; Python's indexes start at 0. So your n and the "
                "array's index are one apart, and a position outside 1 .. len(images) must be refused, not "
                "wrapped around."
            ),
            nudge=(
                "Try it on a tiny stack: imgs = np.arange(3 * 2 * 2).reshape(3, 2, 2). Which index gives the "
                "1st image, which the 3rd? Then ask Python what imgs[-1] is: a negative index silently picks "
                "the last image, which is why n = 0 needs your own test and an IndexError."
            ),
        ),
        Exercise(
            "label_counts",
            "01-loading-data",
            "loading_data",
            section="5. How many of each digit?",
            concept=(
                "The answer is a histogram of whole numbers: ten counts, one per digit 0-9, in that order, "
                "even for a digit that never occurs."
            ),
            nudge=(
                "Look at np.bincount and its minlength= argument (or np.unique with return_counts=True). Try "
                "np.bincount(np.array([1, 1, 3])): what is missing for a ten-digit table, and what is its "
                "dtype?"
            ),
        ),
        # ------------------------------------------------------------ 02-reshaping
        Exercise(
            "flatten_images",
            "02-reshaping",
            "reshaping",
            section="3. Scaling to [0, 1], in 32-bit floats",
            read_again="2. The order of unfolding matters",
            concept=(
                "Each 28 x 28 picture becomes one row of 784 numbers, read row by row (row-major), and every "
                "pixel is divided by the same 255 into [0, 1] as a float32; the scaling is section 3."
            ),
            nudge=(
                "Try a 2-image stack of 2 x 3 pictures first: small = np.arange(12, "
                "dtype=np.uint8).reshape(2, 2, 3). Which reshape gives 2 rows of 6 in reading order? Then "
                "check .dtype and .max() after astype(...) and a division: you want float32 and at most 1.0."
            ),
        ),
        # ------------------------------------------------------------ 03-one-hot-labels
        Exercise(
            "one_hot",
            "03-one-hot-labels",
            "one_hot_labels",
            section="2. The tutorial's example, by hand",
            concept=(
                "Label k becomes a row of num_classes zeros with a single 1 in column k: one row per label, a "
                "float32 matrix of shape (n, num_classes). A label outside 0 .. num_classes - 1 is an error, "
                "not a row."
            ),
            nudge=(
                "Start from np.zeros((3, 4), dtype=np.float32) and set one entry per row with fancy indexing: "
                "m[[0, 1, 2], [3, 0, 1]] = 1 sets (0, 3), (1, 0) and (2, 1). np.arange(n) gives the row "
                "numbers. For bad labels, compare with (labels < 0) | (labels >= num_classes) and np.any."
            ),
        ),
        # ------------------------------------------------------------ 04-building-the-network
        Exercise(
            "build_network",
            "04-building-the-network",
            "network",
            section="2. The tutorial's network in Keras",
            concept=(
                "A keras.Sequential takes a list: first keras.Input with the shape of one image, then the "
                "dense layers in order (784 relu units, 512 relu units, 10 softmax units). Build it only; "
                "compiling is the next exercise."
            ),
            nudge=(
                "Print model.summary() of your network and compare it with the tutorial's table: three Dense "
                "rows with output shapes (None, 784), (None, 512), (None, 10). Each layer's activation is a "
                'string argument, e.g. keras.layers.Dense(8, activation="relu").'
            ),
        ),
        Exercise(
            "dense_param_count",
            "04-building-the-network",
            "network",
            section="3. Counting the parameters",
            concept="A dense layer has one weight for every (input, unit) pair plus one bias per unit.",
            nudge=(
                "Count a tiny layer by hand: 3 inputs and 2 units. Draw the 3 x 2 weight matrix and the 2 "
                "biases, then check with keras: keras.Sequential([keras.Input((3,)), "
                "keras.layers.Dense(2)]).count_params()."
            ),
        ),
        Exercise(
            "compile_network",
            "04-building-the-network",
            "network",
            section="5. Compiling: optimizer, loss, metric",
            concept=(
                "compile() changes the model in place and sets three things: the optimizer (the tutorial's "
                "rmsprop), the loss that matches one-hot targets and softmax outputs, and the metric to "
                "report (accuracy). Then the function hands the same model back."
            ),
            nudge=(
                "Look at the three keyword arguments of model.compile: optimizer=, loss= and metrics= (a "
                "list). Which Keras loss name goes with one-hot labels: categorical_crossentropy or "
                "sparse_categorical_crossentropy? After compiling, model.loss shows what you set."
            ),
        ),
        # ------------------------------------------------------------ 05-training
        Exercise(
            "batches_per_epoch",
            "05-training",
            "training",
            section="2. Mini-batches, steps and epochs",
            concept=(
                "Keras first keeps back the validation share (the last rows), then cuts the rows it trains on "
                "into batches; a last, smaller batch still counts as a step."
            ),
            nudge=(
                "Work 10 images, batch_size 4, validation_split 0.2 by hand: how many rows are left to train "
                "on, and how many batches of at most 4? math.floor and math.ceil do the two roundings; check "
                "which one each step needs."
            ),
        ),
        Exercise(
            "predict_classes",
            "05-training",
            "training",
            section="5. Predicting digits",
            concept=(
                "model.predict gives one row of ten probabilities per image; the predicted digit is the "
                "column where each row is largest."
            ),
            nudge=(
                "Try np.argmax on a small matrix, p = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]]), with "
                "axis=0 and with axis=1: which one gives one answer per row? Remember verbose=0 for predict."
            ),
        ),
        # ------------------------------------------------------------ 06-diagnosing-overfitting
        Exercise(
            "best_epoch",
            "06-diagnosing-overfitting",
            "overfitting",
            section="3. The best epoch",
            concept=(
                "The best epoch is where the validation loss (not the training loss) is lowest, and epochs "
                "are counted from 1 as Keras prints them."
            ),
            nudge=(
                'Try history = {"val_loss": [0.5, 0.3, 0.4]}: the best epoch is 2. np.argmin gives a position '
                "counting from 0, and a NumPy integer; the answer must be a plain int counting from 1."
            ),
        ),
        Exercise(
            "confusion_matrix",
            "06-diagnosing-overfitting",
            "overfitting",
            section="4. The confusion matrix: which digits get mixed up?",
            concept=(
                "Entry [i, j] counts the images whose true class is i and whose predicted class is j: rows "
                "are the truth, columns the prediction, and a pair that occurs twice counts twice."
            ),
            nudge=(
                "Start from an all-zero integer matrix of shape (num_classes, num_classes) and add 1 per "
                "image. A plain loop over zip(y_true, y_pred) is fine; for a vectorised version look at "
                "np.add.at, and see why m[rows, cols] += 1 counts a repeated pair only once."
            ),
        ),
        # ------------------------------------------------------------ 07-dropout
        Exercise(
            "dropout",
            "07-dropout",
            "dropout",
            section="2. Why divide by (1 - rate)? Keeping the average",
            concept=(
                "Each entry is dropped (set to 0) with probability rate and the survivors are scaled up by 1 "
                "/ (1 - rate), so the average stays the same. The random numbers come from the rng you are "
                "given."
            ),
            nudge=(
                "Try a boolean mask: rng.random(x.shape) gives uniform numbers in [0, 1); compare them with "
                "rate and count the Trues on 1,000 entries. Multiplying x by a boolean mask keeps x's dtype. "
                "Check rate = 0 and a rate outside [0, 1) separately."
            ),
        ),
        Exercise(
            "build_dropout_network",
            "07-dropout",
            "dropout",
            section="5. The tutorial's second network",
            concept=(
                "Dropout layers sit after each hidden Dense layer, with the tutorial's rates 0.4, 0.3 and 0.2 "
                "in that order, and there is no dropout after the softmax output."
            ),
            nudge=(
                "Write the layer list out as a column first: Input, then three pairs of (Dense 512 relu, "
                "Dropout), then Dense 10 softmax. model.summary() should show eight rows after the input; "
                "[layer.rate for layer in model.layers if hasattr(layer, 'rate')] shows your rates."
            ),
        ),
        # ------------------------------------------------------------ 08-gradient-descent-by-hand
        Exercise(
            "relu",
            "08-gradient-descent-by-hand",
            "gradient_descent",
            section="3. The network, piece by piece",
            read_again="relu and its slope",
            concept=(
                "relu keeps positive numbers and turns negative ones into 0, element by element, whatever the "
                "shape."
            ),
            nudge=(
                "Look at np.maximum, which compares two arrays (or an array and a number) entry by entry: try "
                "np.maximum(np.array([-1.5, 2.0]), 1.0). Keep the input's dtype and never write into z."
            ),
        ),
        Exercise(
            "relu_grad",
            "08-gradient-descent-by-hand",
            "gradient_descent",
            section="3. The network, piece by piece",
            read_again="relu and its slope",
            concept=(
                "relu's slope is 1 where its input is positive and 0 elsewhere (at exactly 0 the course uses "
                "0), returned as numbers of z's dtype, not booleans."
            ),
            nudge=(
                "Try z = np.array([-1.0, 0.0, 2.0], dtype=np.float32) and look at the comparison z > 0: a "
                "boolean array. .astype(...) turns it into numbers; which dtype keeps float32?"
            ),
        ),
        Exercise(
            "softmax",
            "08-gradient-descent-by-hand",
            "gradient_descent",
            section="3. The network, piece by piece",
            read_again="softmax, the stable way",
            concept=(
                "softmax works row by row: exponentiate, then divide each row by its own sum. Subtracting "
                "each row's maximum first changes nothing mathematically and keeps np.exp from overflowing."
            ),
            nudge=(
                "Try z = np.array([[1.0, 2.0], [1000.0, 1000.0]]). What does z.max(axis=1) give, and what "
                "does z.max(axis=1, keepdims=True) give? Only the second one broadcasts against z. Each row "
                "of your answer should sum to 1."
            ),
        ),
        Exercise(
            "cross_entropy",
            "08-gradient-descent-by-hand",
            "gradient_descent",
            section="3. The network, piece by piece",
            read_again="The loss: categorical cross-entropy",
            concept=(
                "For each image, the loss is minus the log of the probability given to its true digit; the "
                "batch's loss is the mean over the images (not the sum), returned as one Python float."
            ),
            nudge=(
                "Try one image by hand: probs [[0.25, 0.75]] and label [[0, 1]] give -log(0.75), about "
                "0.2877. Multiply by the one-hot rows to pick the true class, sum along axis=1, then average; "
                "np.clip keeps log(0) away."
            ),
        ),
        Exercise(
            "forward",
            "08-gradient-descent-by-hand",
            "gradient_descent",
            section="3. The network, piece by piece",
            read_again="The forward pass",
            concept=(
                "The forward pass is two layers in a row: a matrix product plus bias, relu, another matrix "
                "product plus bias, softmax. The cache keeps x, the hidden values before and after relu, and "
                "the probabilities for the backward pass."
            ),
            nudge=(
                "Check the shapes as you go with 2 images and h = 3: x (2, 784) @ W1 (784, 3) gives (2, 3); "
                "adding b1 of shape (3,) broadcasts over the rows. Use your relu and softmax from above, and "
                'put exactly the keys "x", "z1", "a1", "probs" in the cache.'
            ),
        ),
        Exercise(
            "backward",
            "08-gradient-descent-by-hand",
            "gradient_descent",
            section="4. Backpropagation, step by step",
            concept=(
                "Go backwards through the forward pass: the output error (probabilities minus targets, "
                "divided by the batch size for the mean), then each layer's weight gradient, bias gradient, "
                "and the error passed back through W2 and relu's slope."
            ),
            nudge=(
                "Every gradient has the shape of its parameter: dW1 like W1, db2 like b2. Use that to choose "
                "between a.T @ d and d @ a.T, and which axis to sum the biases over. Then compare with the "
                "numerical check of section 5 on a tiny network."
            ),
        ),
        Exercise(
            "sgd_step",
            "08-gradient-descent-by-hand",
            "gradient_descent",
            section="6. The training loop: mini-batch stochastic gradient descent",
            concept=(
                "One step moves every parameter a little against its gradient, by learning_rate times the "
                "gradient, and builds new arrays instead of changing the old ones."
            ),
            nudge=(
                "A dict comprehension, {name: ... for name in params}, builds the new dict in one go. Check "
                "that params['W1'] is unchanged afterwards: -= would write into the caller's arrays."
            ),
        ),
        Exercise(
            "train_sgd",
            "08-gradient-descent-by-hand",
            "gradient_descent",
            section="6. The training loop: mini-batch stochastic gradient descent",
            concept=(
                "Each epoch shuffles the images with the seeded generator, then for each batch: forward, "
                "loss, backward, step. The losses list gets one value per batch, in order."
            ),
            nudge=(
                "Start from np.random.default_rng(seed) and init_params; rng.permutation(n) gives the order "
                "of one epoch, and range(0, n, batch_size) the batch starts (the last batch may be smaller). "
                "With 10 images, batch_size 4 and 2 epochs you should get 6 losses."
            ),
        ),
        # ------------------------------------------------------------ 09-going-further
        Exercise(
            "conv2d_valid",
            "09-going-further",
            "going_further",
            section="2. Convolution: a small filter sliding over the picture",
            concept=(
                "Slide the kernel to every position where it fits entirely inside the image; at each one, "
                "multiply the overlapping numbers and add them up. The output has (H - kh + 1) x (W - kw + 1) "
                "entries."
            ),
            nudge=(
                "Try a 3 x 3 image with a 2 x 2 kernel by hand: 4 positions, so a 2 x 2 result. Two nested "
                "loops over the output's rows and columns, and slicing image[i : i + kh, j : j + kw], do it; "
                "do not flip the kernel."
            ),
        ),
        Exercise(
            "add_channel_axis",
            "09-going-further",
            "going_further",
            section="4. Images with a channel axis",
            concept=(
                "Conv2D wants one more axis at the end, the channel (1 for grayscale), and pixels scaled to "
                "[0, 1] as float32, like flatten_images did."
            ),
            nudge=(
                "Try np.zeros((2, 28, 28)) with [..., np.newaxis], np.expand_dims(a, -1) or a.reshape(2, 28, "
                "28, 1) and compare the shapes. Then check the dtype and largest value of your result."
            ),
        ),
        Exercise(
            "build_convnet",
            "09-going-further",
            "going_further",
            section="5. A small convnet",
            concept=(
                "The convnet alternates convolution (32, then 64 filters of 3 x 3, relu) and 2 x 2 max "
                "pooling, then flattens, applies dropout 0.5 and ends with 10 softmax units. The input shape "
                "has the channel axis: 28 x 28 x 1."
            ),
            nudge=(
                "Build it a layer at a time and print model.summary(): after the first Conv2D the output is "
                "(None, 26, 26, 32), after the first pooling (None, 13, 13, 32). Flatten needs no arguments."
            ),
        ),
    )
}


def of_notebook(notebook: str) -> list[Exercise]:
    """The exercises of ``notebook``, in its order (none for an unknown notebook)."""
    return [e for e in EXERCISES.values() if e.notebook == notebook]


def notebooks() -> list[str]:
    """The notebooks that have exercises, in teaching order."""
    return list(dict.fromkeys(e.notebook for e in EXERCISES.values()))
