"""Every exercise's contract, sentence by sentence, with the wrong answers that break each sentence.

An exercise's contract is the docstring of its answer cell in the source notebook. For each exercise this
table lists every sentence of that docstring (split as ``notebook_cells.docstring_sentences`` does) and,
for each sentence, the names of wrong answers that break it. The wrong answers themselves, each with the
words its hint must contain, are the mistake tables of ``tests/test_checks_<topic>.py``; nothing is
repeated here. ``tests/test_contracts.py`` fails when

* a docstring sentence has no entry here (a docstring was edited and this table was not), or an entry
  names a sentence the docstring no longer has;
* a sentence lists no wrong answer, or one the mistake table does not have;
* a listed wrong answer passes the exercise's test cell (visible check, then hidden tests, as graded),
  or fails it with a message that lacks its hint (a misdiagnosis).
"""

from __future__ import annotations

from dataclasses import dataclass

import test_checks_dropout as dropout_tests
import test_checks_going_further as going_further_tests
import test_checks_gradient_descent as gradient_descent_tests
import test_checks_loading_data as loading_data_tests
import test_checks_network as network_tests
import test_checks_one_hot_labels as one_hot_tests
import test_checks_overfitting as overfitting_tests
import test_checks_reshaping as reshaping_tests
import test_checks_training as training_tests


@dataclass(frozen=True)
class Contract:
    notebook: object  # the source notebook's path
    mistakes: dict  # {name: (wrong function, words its hint must contain)}
    sentences: dict  # {docstring sentence: [names of wrong answers that break it]}


GD = gradient_descent_tests.MISTAKES

CONTRACTS = {
    # ------------------------------------------------------------------------------ 01 loading the data
    "get_digit": Contract(
        loading_data_tests.NOTEBOOK,
        loading_data_tests.GET_DIGIT_MISTAKES,
        {
            "The n-th image of ``images``, counting from 1 as R does.": ["images[n]", "images[n - 2]"],
            "images: array of shape (count, 28, 28), uint8 pixels 0-255.": ["images[:, n - 1]"],
            "n: a position counting from 1: 1 is the first image, len(images) the last.": [
                "images[n] checked"
            ],
            "Returns the (28, 28) image ``images[n - 1]``.": ["transposed", "a list"],
            "Raises IndexError when n < 1 or n > len(images).": [
                "no check for n < 1",
                "no check at all on the low side",
                "no check for n > len",
            ],
        },
    ),
    "label_counts": Contract(
        loading_data_tests.NOTEBOOK,
        loading_data_tests.LABEL_COUNTS_MISTAKES,
        {
            "How many times each digit 0-9 occurs in ``labels``.": ["counts[labels] += 1", "shifted by one"],
            "labels: array of shape (n,) with whole numbers 0-9 (any integer dtype, e.g. uint8).": [
                "counts in the labels' dtype"
            ],
            "Returns an integer array of shape (10,): element d is the number of labels equal to d "
            "(0 for digits that do not occur).": [
                "np.unique counts",
                "bincount without minlength",
                "nine digits",
                "floats",
                "np.zeros(10) loop",
                "a list",
            ],
        },
    ),
    # ------------------------------------------------------------------------------ 02 reshaping
    "flatten_images": Contract(
        reshaping_tests.NOTEBOOK,
        reshaping_tests.FLATTEN_MISTAKES,
        {
            "Unfold images into rows of pixels scaled to [0, 1], ready for a dense network.": [
                "no scaling",
                "not reshaped",
                "one long vector",
            ],
            "images: array of shape (n, 28, 28), uint8 pixels 0-255 (left unchanged).": [
                "images.shape = ...",
                "writes into the argument",
            ],
            "Returns a new float32 array of shape (n, 784), values pixel / 255 in [0, 1]; row i is image i "
            "read row by row (row-major, like R keras' array_reshape).": [
                "float64",
                "divided by 256",
                "divided by max()",
                "integer division",
                "order='F'",
                "transposed images",
                "shape (784, n)",
                "a list",
            ],
        },
    ),
    # ------------------------------------------------------------------------------ 03 one-hot labels
    "one_hot": Contract(
        one_hot_tests.NOTEBOOK,
        one_hot_tests.ONE_HOT_MISTAKES,
        {
            "One-hot encode whole-number class labels.": ["column d + 1"],
            "labels: array of shape (n,), whole numbers from 0 to num_classes - 1.": [
                "column d - 1",
                "columns from the largest label",
            ],
            "num_classes: the number of classes, i.e. of columns (10 digits for MNIST).": [
                "num_classes ignored"
            ],
            "Returns a float32 array of shape (n, num_classes): row i is all 0 except a 1 in column labels[i].": [
                "int",
                "float64",
                "transposed",
                "a list",
            ],
            "Raises ValueError if any label is < 0 or >= num_classes.": [
                "np.eye, no checks",
                "negative labels let through",
                "labels > num_classes rejected, not >=",
            ],
        },
    ),
    # ------------------------------------------------------------------------------ 04 building the network
    "build_network": Contract(
        network_tests.NOTEBOOK,
        network_tests.BUILD_MISTAKES,
        {
            "The tutorial's network, not compiled.": ["compiled already"],
            "Input: rows of 784 pixels (batch shape (n, 784)); layers Dense(784, relu) -> Dense(512, relu) -> "
            "Dense(10, softmax).": [
                "no keras.Input",
                "input_shape on the first layer",
                "input (28, 28)",
                "units in the wrong order",
                "sigmoid hidden layer",
                "a layer missing",
                "no biases",
            ],
            "Output: (n, 10), ten probabilities per image.": [
                "9 outputs",
                "softmax missing",
                "relu on the output",
            ],
            "Returns a new keras.Sequential with fresh random weights at every call.": [
                "one shared model",
                "seed fixed inside",
                "nothing returned",
            ],
        },
    ),
    "dense_param_count": Contract(
        network_tests.NOTEBOOK,
        network_tests.COUNT_MISTAKES,
        {
            "Parameters of one dense layer: its weights plus its biases.": ["biases forgotten"],
            "n_in: number of inputs (int); n_out: number of units (int).": [
                "n_in * n_out + n_in",
                "inputs counted",
            ],
            "Returns an int: n_in * n_out weights (the kernel, shape (n_in, n_out)) + n_out biases.": [
                "n_in + n_out",
                "a float",
                "a string",
            ],
        },
    ),
    "compile_network": Contract(
        network_tests.NOTEBOOK,
        network_tests.COMPILE_MISTAKES,
        {
            "Compile `model` in place for training on one-hot digit targets, and return it.": [
                "sparse loss",
                "no return",
            ],
            "model: a Keras model whose output is softmax probabilities, shape (n, classes).": [
                "from_logits"
            ],
            "Uses the rmsprop optimizer, the categorical cross-entropy loss and the accuracy metric.": [
                "adam",
                "sgd",
                "mse",
                "binary loss",
                "no metrics",
                "keras.metrics.Accuracy()",
            ],
            "Returns the same model object.": ["a new model", "return model.compile(...)"],
        },
    ),
    # ------------------------------------------------------------------------------ 05 training
    "batches_per_epoch": Contract(
        training_tests.NOTEBOOK,
        training_tests.BATCH_MISTAKES,
        {
            "Gradient steps in one epoch of model.fit(..., batch_size, validation_split), as Keras counts "
            "them.": ["validation batches"],
            "n_samples: number of rows given to fit (images); batch_size: images per step; validation_split: "
            "fraction of the rows, taken from the end, held out for validation (0 <= it < 1).": [
                "validation split ignored"
            ],
            "Keras trains on the first floor(n_samples * (1 - validation_split)) rows.": [
                "validation part rounded down",
                "training part rounded to nearest",
                "no rounding of the training part",
            ],
            "Returns an int: that number of training rows divided by batch_size, rounded up (a last partial "
            "batch is a step too).": [
                "floor instead of ceil",
                "np.ceil (a float)",
                "no rounding at all",
                "a string",
            ],
        },
    ),
    "predict_classes": Contract(
        training_tests.NOTEBOOK,
        training_tests.PREDICT_MISTAKES,
        {
            "The predicted class of each row of x: the column of its largest probability.": [
                "argmax over axis 0",
                "argmax without axis",
                "max instead of argmax",
                "argmin",
            ],
            "model: a Keras model whose output is one probability per class, shape (n, num_classes).": [
                "another model",
                "probabilities",
            ],
            "x: array of shape (n, number of inputs), e.g. (n, 784) flattened images.": [
                "784 inputs assumed"
            ],
            "Returns an int numpy array of shape (n,), values 0 to num_classes - 1.": [
                "classes from 1 (R's which.max)",
                "floats",
                "a list",
                "a tensor",
                "shape (n, 1)",
                "one-hot rows",
            ],
        },
    ),
    # ------------------------------------------------------------------------------ 06 diagnosing overfitting
    "best_epoch": Contract(
        overfitting_tests.NOTEBOOK,
        overfitting_tests.BEST_EPOCH_MISTAKES,
        {
            "The epoch with the lowest validation loss.": ["argmax", "validation accuracy"],
            'history: dict of per-epoch lists as in History.history; uses history["val_loss"], one float per '
            "epoch.": ["training loss", "sorts val_loss in place"],
            "Returns an int counting epochs from 1 (as Keras prints them); the earliest such epoch if several "
            "tie.": ["counting from 0", "a float", "the loss value", "the last of tied epochs"],
        },
    ),
    "confusion_matrix": Contract(
        overfitting_tests.NOTEBOOK,
        overfitting_tests.CONFUSION_MISTAKES,
        {
            "Count how often each true class was predicted as each class.": ["fancy-index +="],
            "y_true, y_pred: int arrays of shape (n,) with classes 0 to num_classes - 1 (true, predicted).": [
                "sized from the largest label",
                "num_classes ignored",
            ],
            "Returns an int array of shape (num_classes, num_classes): entry [t, p] is the number of images of "
            "true class t predicted as p (rows: true classes, columns: predicted classes).": [
                "transposed",
                "float counts",
                "uint8 counts",
                "a list",
            ],
        },
    ),
    # ------------------------------------------------------------------------------ 07 dropout
    "dropout": Contract(
        dropout_tests.NOTEBOOK,
        dropout_tests.DROPOUT_MISTAKES,
        {
            "Inverted dropout, training mode.": ["no scaling", "times (1 - rate)"],
            "x: float array of any shape (e.g. (batch, units) activations, or a (28, 28) image).": [
                "flattened",
                "one mask for all rows",
            ],
            "rate: the probability of dropping each entry, 0 <= rate < 1.": ["keeps with probability rate"],
            "rng: a numpy.random.Generator, the only source of randomness (the same seed gives the same "
            "result).": ["np.random instead of rng", "fixed seed inside"],
            "Returns a new array of x's shape and dtype: each entry is 0 with probability rate, else "
            "x / (1 - rate).": ["float64 mask", "x changed in place", "rate 0 returns x itself"],
            "Raises ValueError if rate is outside [0, 1).": ["no rate validation"],
        },
    ),
    "build_dropout_network": Contract(
        dropout_tests.NOTEBOOK,
        dropout_tests.NETWORK_MISTAKES,
        {
            "The tutorial's second network, uncompiled.": ["compiled already"],
            "Input: (batch, 784) pixels in [0, 1].": ["input_shape=", "no input"],
            "Output: (batch, 10) digit probabilities (softmax).": ["sigmoid output"],
            "Layers: Dense 512 relu, Dropout 0.4, Dense 512 relu, Dropout 0.3, Dense 512 relu, Dropout 0.2, "
            "Dense 10 softmax.": [
                "rates reversed",
                "a dropout missing",
                "no third hidden layer",
                "linear hidden layer",
                "first layer of 784 (network 1's)",
            ],
        },
    ),
    # ------------------------------------------------------------------------------ 08 gradient descent by hand
    "relu": Contract(
        gradient_descent_tests.NOTEBOOK,
        GD["relu"],
        {
            "max(z, 0) element-wise.": ["returns z", "np.max", "np.minimum", "abs"],
            "z: array of any shape; returns a new array, same shape and dtype.": ["in place", "float64"],
        },
    ),
    "relu_grad": Contract(
        gradient_descent_tests.NOTEBOOK,
        GD["relu_grad"],
        {
            "The slope of relu at z, element-wise: 1.0 where z > 0, else 0.0.": [
                "returns z",
                "relu itself",
                "np.sign",
                "1 at z = 0",
            ],
            "Same shape (and float dtype) as z.": ["a bool mask", "float64 for float32 z"],
        },
    ),
    "softmax": Contract(
        gradient_descent_tests.NOTEBOOK,
        GD["softmax"],
        {
            "Row-wise softmax of logits z (n, k): each row becomes probabilities summing to 1.": [
                "axis 0",
                "no keepdims",
                "in place",
            ],
            "Stable for huge z.": ["unstable", "global max"],
        },
    ),
    "cross_entropy": Contract(
        gradient_descent_tests.NOTEBOOK,
        GD["cross_entropy"],
        {
            "Mean over rows of -sum_k y_k * log(p_k).": ["sum", "no minus"],
            "probs, y_onehot: (n, k).": ["mean over all entries"],
            "Returns a float (nats).": ["one loss per row", "log2 (bits)"],
            "Probabilities are clipped to [1e-12, 1] first, so a zero probability gives a large finite loss, "
            "not inf/nan.": ["no clip", "big clip"],
        },
    ),
    "forward": Contract(
        gradient_descent_tests.NOTEBOOK,
        GD["forward"],
        {
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
    ),
    "backward": Contract(
        gradient_descent_tests.NOTEBOOK,
        GD["backward"],
        {
            "Gradients of the MEAN cross-entropy with respect to every parameter.": [
                "no / n",
                "flipped sign",
                "bias mean",
            ],
            "params: as for forward; cache: forward's dict (x, z1, a1, probs); y_onehot: (n, k).": [
                "no relu_grad mask"
            ],
            "Returns a dict W1 (n_in, h), b1 (h,), W2 (h, k), b2 (k,): each gradient has its parameter's "
            "shape.": ["bias not summed", "bias keepdims", "dW1 transposed"],
        },
    ),
    "sgd_step": Contract(
        gradient_descent_tests.NOTEBOOK,
        GD["sgd_step"],
        {
            "One gradient-descent step: a NEW dict with new arrays params[name] - learning_rate * "
            "grads[name].": ["adds the gradient", "no learning rate"],
            "The arrays in params are not modified.": ["in place"],
            "learning_rate: a positive float (the step factor).": ["fixed learning rate"],
        },
    ),
    "train_sgd": Contract(
        gradient_descent_tests.NOTEBOOK,
        GD["train_sgd"],
        {
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
    ),
    # ------------------------------------------------------------------------------ 09 going further
    "conv2d_valid": Contract(
        going_further_tests.NOTEBOOK,
        going_further_tests.CONV_MISTAKES,
        {
            'Slide kernel over image ("valid" positions only) and return the feature map.': [
                "'same' output size",
                "off by one",
            ],
            "image: array of shape (H, W), any numeric dtype (e.g. uint8 pixels or floats).": [
                "output with the image's dtype",
                "output transposed",
            ],
            "kernel: array of shape (kh, kw) with kh <= H and kw <= W.": [
                "square kernel assumed",
                "kernel transposed",
            ],
            "Returns a new float array of shape (H - kh + 1, W - kw + 1) where out[i, j] = "
            "sum(image[i:i+kh, j:j+kw] * kernel) (cross-correlation, kernel not flipped).": [
                "flipped kernel (true convolution)",
                "matrix product",
                "a list",
            ],
        },
    ),
    "add_channel_axis": Contract(
        going_further_tests.NOTEBOOK,
        going_further_tests.CHANNEL_MISTAKES,
        {
            "Prepare grayscale images for Conv2D: add a last channel axis and scale to [0, 1].": [
                "no scaling",
                "no channel axis",
                "channels first",
            ],
            "images: array of shape (n, 28, 28), uint8 pixels 0-255 (left unchanged).": ["reshaped in place"],
            "Returns a new float32 array of shape (n, 28, 28, 1) (channels last), values pixel / 255 in "
            "[0, 1].": ["float64", "integer division", "divided by 256", "expand_dims(images, 0)", "a list"],
        },
    ),
    "build_convnet": Contract(
        going_further_tests.NOTEBOOK,
        going_further_tests.CONVNET_MISTAKES,
        {
            "The notebook's convnet, uncompiled: (n, 28, 28, 1) images -> (n, 10) digit probabilities.": [
                "compiled already",
                "channels-first input",
                "no softmax",
            ],
            "Input (28, 28, 1) -> Conv2D 32 3x3 relu -> MaxPooling2D 2x2 -> Conv2D 64 3x3 relu -> MaxPooling2D "
            "2x2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax.": [
                "no Input",
                "input_shape=",
                "filters swapped",
                "no relu",
                "padding same",
                "3 x 3 pooling",
                "one pooling layer missing",
                "no Flatten",
                "dropout 0.25",
                "no dropout",
            ],
            "Returns a keras.Sequential with 34,826 parameters.": [
                "5 x 5 kernels",
                "an extra Dense layer",
                "returns nothing",
            ],
        },
    ),
}
