"""The verified MNIST cache: where it lives, how files are checked, written and read.

The cache holds LeCun's four IDX files, each checked against its SHA-256 and
written atomically, plus ``source.json`` saying where they came from. Local
copies (a ``mnist.npz`` or a folder of IDX files) are read here too.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import json
import os
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..files import atomic_write
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

SOURCE_FILE = "source.json"

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MNISTDataError(RuntimeError):
    """MNIST could not be loaded; the message says what was tried and what to do."""


class SourceFailed(Exception):
    """One source did not deliver; the message is the reason shown to the user."""


def say(message: str) -> None:
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


def check_idx(name: str, data: bytes | bytearray, where: str) -> np.ndarray:
    """Verify one IDX payload by SHA-256 and decode it."""
    got = sha256_of(data)
    if got != IDX_SHA256[name]:
        raise SourceFailed(
            f"{where}: {name} has SHA-256 {got[:12]}..., expected {IDX_SHA256[name][:12]}... "
            "(corrupted, truncated or not MNIST)"
        )
    return parse_idx(data)


def arrays_from_dict(arrays: dict[str, np.ndarray]) -> Arrays:
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


def store(files: dict[str, bytes], source: str, directory: Path | None = None) -> Path:
    """Put four verified IDX payloads into the cache, with a note of their source."""
    directory = directory or cache_dir()
    for name, data in files.items():
        atomic_write(directory / name, data)
    note = {"source": source, "fetched": _dt.datetime.now(_dt.UTC).isoformat()}
    atomic_write(directory / SOURCE_FILE, (json.dumps(note, indent=2) + "\n").encode())
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
            arrays[key] = check_idx(name, data, str(path))
        except (SourceFailed, IDXError) as err:
            say(f"cached file failed verification, it will be fetched again: {err}")
            if repair:
                path.unlink(missing_ok=True)
            return None
    return arrays_from_dict(arrays)


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
        with open(path, "rb") as head:
            magic = head.read(4)
    except OSError as err:
        raise SourceFailed(f"{path}: cannot be read ({err})") from err
    if magic != b"PK\x03\x04":  # an .npz is a zip archive; anything else is not MNIST
        raise SourceFailed(
            f"{path}: not MNIST: neither an .npz file (such as Keras's mnist.npz) nor a folder of the four IDX files"
        )
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
        check_idx(name, raw, str(found))
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
