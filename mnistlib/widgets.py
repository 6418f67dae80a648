"""Interactive pieces for the notebooks (ipywidgets), each with a static picture to fall back on.

* :func:`digit_browser` (notebook 01) -- a slider over the training set: the digit and its label.
* :func:`learning_rate_explorer` (notebook 08) -- pick a learning rate, see the loss curve of the
  learner's own ``train_sgd`` on a small subset.
* :func:`dropout_visualiser` (notebook 07) -- pick a dropout rate, see a digit after the learner's
  own ``dropout(x, rate, rng)``.

Each function returns a widget (an ``ipywidgets.VBox``); make it the last expression of a
cell. Its rich display carries two views: the live widget, and a PNG of what it shows at
display time (plus a line of text). JupyterLab with a running kernel shows the widget;
places that cannot run widgets (GitHub, nbviewer, HTML exported without widget state)
show the picture, so the notebook still reads well there.

Pictures are matplotlib Figures rendered to PNG bytes (never ``pyplot``), so moving a
slider replaces one image instead of piling up figures.
"""

from __future__ import annotations

import base64
import io
import os
import time
import warnings
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import numpy as np
import traitlets
from matplotlib.figure import Figure

from .notebook import figure_html
from .plots import LINE_COLORS, describe_figure, plot_digit, plot_digits
from .plots.gradient_descent import smooth

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The Figure rendered as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class Picture(widgets.Image):
    """An ipywidgets Image whose ``tooltip`` is its text alternative (the ``<img>``'s ``title``).

    ipywidgets' Image has no ``alt``. Its ``tooltip`` becomes the ``title``, which a screen reader
    reads (and axe-core accepts) as the picture's name, but ipywidgets 8's front end then reads the
    widget's ``description`` to decide, which an Image lacks: the view fails ("Click to show javascript
    error"). An empty ``description`` in the widget's state avoids that.
    """

    description = traitlets.Unicode("").tag(sync=True)


def show_figure(image: widgets.Image, fig: Figure) -> None:
    """Put ``fig`` in the ``image`` widget, with what it shows as its text alternative (:class:`Picture`)."""
    image.value = figure_png(fig)
    image.tooltip = describe_figure(fig)


class FallbackBox(widgets.VBox):
    """A VBox whose display also carries a static PNG (and text) for front ends without widgets.

    Subclasses implement :meth:`fallback_figure` (the picture) and :meth:`fallback_text`.
    """

    def fallback_figure(self) -> Figure:
        raise NotImplementedError

    def fallback_text(self) -> str:
        return type(self).__name__

    def fallback_png(self) -> bytes:
        return figure_png(self.fallback_figure())

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(bundle, tuple):  # (data, metadata)
            data, metadata = bundle
        else:
            data, metadata = bundle, {}
        data = dict(data)
        png = base64.b64encode(self.fallback_png()).decode("ascii")
        data["image/png"] = png
        data["text/plain"] = self.fallback_text()
        # Where no widget can run (a feedback page, nbviewer, GitHub), the same picture with its
        # text alternative: JupyterLab shows the live widget instead (it ranks the widget first).
        data["text/html"] = figure_html(png, self.fallback_text())
        return data, metadata


def _describe_error(name: str, err: Exception) -> str:
    if isinstance(err, NotImplementedError):
        return f"write {name}() first: it still raises NotImplementedError."
    return f"{name}() raised {type(err).__name__}: {err}"


def _message_figure(text: str, size=(4.5, 1.2)) -> Figure:
    fig = Figure(figsize=size)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=10, wrap=True)
    return fig


# ----------------------------------------------------------------------- digit browser


class DigitBrowser(FallbackBox):
    """A slider over ``images``; shows the digit at the slider's index and its label.

    State to read (and set) from Python: ``slider.value`` (the index), ``label.value`` (the
    caption HTML), ``image.value`` (PNG bytes of the digit), :attr:`index`, :attr:`shown_label`.
    """

    def __init__(self, images, labels, *, start: int = 0, name: str = "training"):
        images, labels = np.asarray(images), np.asarray(labels)
        if len(images) == 0 or len(images) != len(labels):
            raise ValueError(
                f"need as many labels as images, got {len(images)} images and {len(labels)} labels"
            )
        self.images, self.labels, self.name = images, labels, name
        self.slider = widgets.IntSlider(
            value=int(start),
            min=0,
            max=len(images) - 1,
            description="index",
            continuous_update=True,
            layout=widgets.Layout(width="420px"),
        )
        self.image = Picture(format="png", layout=widgets.Layout(width="220px"))
        self.label = widgets.HTML()
        self.label.add_class("mnistlib-digit-label")
        self.add_class("mnistlib-digit-browser")
        super().__init__([self.slider, self.image, self.label])
        self.slider.observe(self._update, names="value")
        self._update()

    @property
    def index(self) -> int:
        return int(self.slider.value)

    @property
    def shown_label(self) -> int:
        return int(self.labels[self.index])

    def caption(self) -> str:
        i = self.index
        return (
            f"<b>label: {self.shown_label}</b> &nbsp; {self.name} image at Python index {i} "
            f"(image {i + 1} when counting from 1, as R does)"
        )

    def _update(self, change=None) -> None:
        i = self.index
        fig = plot_digit(self.images[i], title=f"label {self.shown_label}", size=2.2)
        show_figure(self.image, fig)
        self.label.value = self.caption()

    def fallback_figure(self) -> Figure:
        start = self.index
        stop = min(start + 10, len(self.images))
        return plot_digits(self.images[start:stop], self.labels[start:stop], ncols=10)

    def fallback_text(self) -> str:
        return (
            f"Digit browser over {len(self.images):,} {self.name} images (run the notebook to use the "
            f"slider); the picture shows images {self.index} to {min(self.index + 10, len(self.images)) - 1}."
        )


def digit_browser(images, labels, *, start: int = 0, name: str = "training") -> DigitBrowser:
    """A slider over the images: move it to see each digit and its label.

    ``images``: (n, 28, 28) or (n, 784) pixels; ``labels``: (n,) digits 0-9. ``start``:
    the first index shown. Without a widget front end, the picture shows ten digits
    from ``start`` with their labels.
    """
    return DigitBrowser(images, labels, start=start, name=name)


# ---------------------------------------------------------------- learning-rate explorer


class LearningRateExplorer(FallbackBox):
    """Buttons over learning rates; shows the loss curve of ``train_fn`` at the chosen rate.

    Results are cached per rate in :attr:`results` (``rate -> losses`` or an error message),
    so going back to a rate is instant. State: ``rates.value`` (the chosen rate),
    ``plot.value`` (PNG bytes), ``status.value`` (the caption HTML).
    """

    def __init__(
        self,
        train_fn: Callable,
        x,
        y_onehot,
        *,
        rates: Sequence[float],
        hidden: int,
        epochs: int,
        batch_size: int,
        n: int,
        seed: int,
        precompute: bool,
        window: int,
        start: float,
    ):
        self.train_fn = train_fn
        self.x, self.y = np.asarray(x)[:n], np.asarray(y_onehot)[:n]
        self.settings = {"hidden": hidden, "epochs": epochs, "batch_size": batch_size, "seed": seed}
        self.window = window
        self.results: dict[float, list[float] | str] = {}
        self.seconds: dict[float, float] = {}
        options = [(f"{rate:g}", float(rate)) for rate in rates]
        self.rates = widgets.ToggleButtons(
            options=options,
            value=float(start) if float(start) in [rate for _, rate in options] else options[0][1],
            description="learning rate",
            style={"button_width": "64px", "description_width": "initial"},
        )
        self.plot = Picture(format="png", layout=widgets.Layout(width="560px"))
        self.status = widgets.HTML()
        self.status.add_class("mnistlib-lr-status")
        self.add_class("mnistlib-lr-explorer")
        super().__init__([self.rates, self.plot, self.status])
        if precompute:
            for _, rate in options:
                self.losses(rate)
        self.rates.observe(self._update, names="value")
        self._update()

    def losses(self, rate: float) -> list[float] | str:
        """The per-batch losses at ``rate`` (trained once, then cached), or an error message."""
        rate = float(rate)
        if rate not in self.results:
            started = time.perf_counter()
            try:
                # a too-large rate overflows on purpose: show the blow-up, not a page of warnings
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    _, losses = self.train_fn(self.x, self.y, learning_rate=rate, **self.settings)
                self.results[rate] = [float(value) for value in losses]
            except Exception as err:  # the learner's code: report it, do not crash the widget
                self.results[rate] = _describe_error(getattr(self.train_fn, "__name__", "train_sgd"), err)
            self.seconds[rate] = time.perf_counter() - started
        return self.results[rate]

    def _figure(self, chosen: float | None) -> Figure:
        fig = Figure(figsize=(6.5, 3.2))
        ax = fig.add_subplot()
        curves = {rate: v for rate, v in self.results.items() if not isinstance(v, str)}
        order = [rate for _, rate in self.rates.options]  # each rate keeps its colour
        for rate, losses in sorted(curves.items()):
            values = np.asarray(losses, dtype=float)
            bold = chosen is None or rate == chosen
            ax.plot(
                np.arange(1, values.size + 1),
                smooth(np.where(np.isfinite(values), values, np.nan), self.window),
                lw=2.2 if bold else 1.0,
                alpha=1.0 if bold else 0.35,
                color=LINE_COLORS[order.index(rate) % len(LINE_COLORS)] if rate in order else None,
                label=f"rate {rate:g}",
            )
        ax.set_ylim(0, 5.0)  # log(10) = 2.3 is where every run starts; a blow-up leaves the top
        ax.set_xlabel("batch (SGD step)")
        ax.set_ylabel("training loss" + (f" (mean of {self.window})" if self.window > 1 else ""))
        if curves:
            ax.legend(fontsize=8, loc="upper right")
        ax.set_title(
            f"{len(self.x):,} images, hidden {self.settings['hidden']}, batch {self.settings['batch_size']}, "
            f"{self.settings['epochs']} epoch(s)",
            fontsize=9,
        )
        fig.tight_layout()
        return fig

    def describe(self, rate: float) -> str:
        result = self.losses(rate)
        if isinstance(result, str):
            return result
        values = np.asarray(result, dtype=float)
        took = f"{self.seconds[rate]:.2f} s to train"
        if values.size == 0:
            return f"rate {rate:g}: no losses returned ({took})"
        if not np.all(np.isfinite(values)):
            step = int(np.argmin(np.isfinite(values))) + 1
            return f"rate {rate:g}: the loss blew up (not a number from step {step}): the steps overshoot ({took})"
        tail = values[-max(1, min(10, values.size // 4)) :].mean()
        return (
            f"rate {rate:g}: loss {values[0]:.3f} at the first batch, {tail:.3f} at the end "
            f"({values.size} steps, {took})"
        )

    def _update(self, change=None) -> None:
        rate = float(self.rates.value)
        text = self.describe(rate)  # trains at this rate if not cached yet
        result = self.results[rate]
        fig = _message_figure(result) if isinstance(result, str) else self._figure(rate)
        show_figure(self.plot, fig)
        self.status.value = text  # last: a changed caption means the picture is already there

    def fallback_figure(self) -> Figure:
        result = self.results.get(float(self.rates.value))
        if isinstance(result, str):
            return _message_figure(result)
        return self._figure(None)

    def fallback_text(self) -> str:
        done = ", ".join(f"{rate:g}" for rate, v in sorted(self.results.items()) if not isinstance(v, str))
        return f"Learning-rate explorer (run the notebook to choose a rate); loss curves shown for rates: {done}."


def learning_rate_explorer(
    train_fn: Callable,
    x,
    y_onehot,
    *,
    rates: Sequence[float] = (0.001, 0.01, 0.1, 0.5, 2.0, 10.0),
    hidden: int = 64,
    epochs: int = 1,
    batch_size: int = 32,
    n: int = 2000,
    seed: int = 0,
    precompute: bool | None = None,
    window: int = 5,
    start: float = 0.1,
) -> LearningRateExplorer:
    """Choose a learning rate, see the loss curve of your ``train_fn`` at that rate.

    ``train_fn(x, y_onehot, hidden, epochs, batch_size, learning_rate, seed)`` must return
    ``(params, losses)`` with one loss per batch (notebook 08's ``train_sgd``). ``x``:
    (m, 784) float rows scaled to [0, 1]; ``y_onehot``: (m, 10). Only the first ``n`` rows are
    used (2,000 images, 1 epoch, hidden 64 trains in well under a second). With
    ``precompute`` every rate is trained up front (a few seconds), so the buttons respond at
    once and the static picture shows all curves; otherwise each rate trains on first click.
    By default it precomputes, except while nbgrader executes the notebook (``NBGRADER_EXECUTION``),
    where nobody clicks and grading a class should not pay for it.
    ``window``: the running mean drawn over the per-batch losses; ``start``: the rate chosen first.
    """
    if precompute is None:
        precompute = not os.environ.get("NBGRADER_EXECUTION")
    return LearningRateExplorer(
        train_fn,
        x,
        y_onehot,
        rates=rates,
        hidden=hidden,
        epochs=epochs,
        batch_size=batch_size,
        n=n,
        seed=seed,
        precompute=precompute,
        window=window,
        start=start,
    )


# ------------------------------------------------------------------ dropout visualiser


def _as_unit_image(image) -> np.ndarray:
    """A (28, 28) float32 image scaled to [0, 1] (uint8 pixels are divided by 255)."""
    image = np.asarray(image)
    if image.size != 784:
        raise ValueError(f"expected one 28 x 28 image (784 pixels), got shape {image.shape}")
    image = image.reshape(28, 28).astype(np.float32)
    return image / 255.0 if image.max(initial=0) > 1.0 else image


class DropoutVisualiser(FallbackBox):
    """A slider over dropout rates; shows ``image`` before and after ``dropout_fn``.

    The image is passed as one (1, 784) row, like one example of a batch of activations.
    Every rate uses ``np.random.default_rng(seed)`` afresh, so a rate always shows the same
    mask until "new mask" draws another seed. State: ``slider.value`` (rate), ``seed``,
    ``picture.value`` (PNG bytes), ``status.value`` (caption HTML), ``last_output``.
    """

    def __init__(self, dropout_fn: Callable, image, *, rate: float, seed: int):
        self.dropout_fn = dropout_fn
        self.original = _as_unit_image(image)
        self.seed = int(seed)
        self.last_output: np.ndarray | None = None
        self.slider = widgets.FloatSlider(
            value=rate, min=0.0, max=0.9, step=0.1, description="rate", readout_format=".1f"
        )
        self.new_mask = widgets.Button(description="new mask", tooltip="draw another random mask")
        self.picture = Picture(format="png", layout=widgets.Layout(width="440px"))
        self.status = widgets.HTML()
        self.status.add_class("mnistlib-dropout-status")
        self.add_class("mnistlib-dropout-visualiser")
        super().__init__([widgets.HBox([self.slider, self.new_mask]), self.picture, self.status])
        self.slider.observe(self._update, names="value")
        self.new_mask.on_click(self._another_mask)
        self._update()

    def apply(self, rate: float) -> np.ndarray | str:
        """The image after ``dropout_fn`` at ``rate`` as (28, 28), or a message saying what went wrong."""
        x = self.original.reshape(1, 784).copy()
        name = getattr(self.dropout_fn, "__name__", "dropout")
        try:
            out = self.dropout_fn(x, float(rate), np.random.default_rng(self.seed))
        except Exception as err:  # the learner's code: report it, do not crash the widget
            return _describe_error(name, err)
        out = np.asarray(out)
        if out.shape != x.shape:
            return f"{name}() returned shape {out.shape}; expected the shape it was given, {x.shape}"
        return out.reshape(28, 28).astype(np.float32)

    def _figure_for(self, rates: Sequence[float]) -> Figure:
        fig = Figure(figsize=(2.0 * (len(rates) + 1), 2.4))
        panels = [("original", self.original)]
        for rate in rates:
            out = self.apply(rate)
            panels.append((f"rate {rate:.1f}", out))
        for k, (title, picture) in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), k + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if isinstance(picture, str):
                ax.text(0.5, 0.5, "write\ndropout()\nfirst", ha="center", va="center", fontsize=9)
                ax.set_title(title, fontsize=9)
                continue
            # one scale for all panels: 0 black, 1 (a full pixel) white; scaled-up survivors clip to white
            ax.imshow(np.clip(picture, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(title, fontsize=9)
        fig.tight_layout()
        return fig

    def describe(self, out: np.ndarray | str, rate: float) -> str:
        if isinstance(out, str):
            return out
        lit = self.original > 0
        dropped = int(np.sum(lit & (out == 0)))
        survivors = lit & (out != 0)
        scale = (
            float(np.median(out[survivors] / self.original[survivors])) if survivors.any() else float("nan")
        )
        return (
            f"rate {rate:.1f}: {dropped} of the {int(lit.sum())} lit pixels set to 0 "
            f"({dropped / max(1, int(lit.sum())):.0%}); survivors multiplied by {scale:.2f}; "
            f"mean brightness {self.original.mean():.3f} before, {out.mean():.3f} after"
        )

    def _update(self, change=None) -> None:
        rate = float(self.slider.value)
        out = self.apply(rate)
        self.last_output = None if isinstance(out, str) else out
        show_figure(self.picture, self._figure_for([rate]))
        self.status.value = self.describe(out, rate)

    def _another_mask(self, button=None) -> None:
        self.seed += 1
        self._update()

    def fallback_figure(self) -> Figure:
        return self._figure_for([0.2, 0.5, 0.8])

    def fallback_text(self) -> str:
        return "Dropout visualiser (run the notebook to move the rate slider); the picture shows rates 0.2, 0.5, 0.8."


def dropout_visualiser(dropout_fn: Callable, image, *, rate: float = 0.5, seed: int = 0) -> DropoutVisualiser:
    """Pick a dropout rate, see one digit after your ``dropout_fn(x, rate, rng)``.

    ``image``: one digit, (28, 28) or (784,), uint8 or floats in [0, 1]; it is given to
    ``dropout_fn`` as a (1, 784) float32 row in [0, 1]. If ``dropout_fn`` raises
    ``NotImplementedError``, the widget says to write it first instead of failing.
    """
    return DropoutVisualiser(dropout_fn, image, rate=rate, seed=seed)
