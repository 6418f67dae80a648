"""Read and write the IDX format that LeCun's original MNIST files use.

An IDX file is a tiny header followed by raw array bytes:

* 2 zero bytes,
* 1 byte for the element type (``0x08`` = unsigned byte, the only type MNIST uses),
* 1 byte for the number of dimensions ``d``,
* ``d`` big-endian uint32 sizes,
* the elements in row-major (C) order.

MNIST's images are ``(n, 28, 28)`` uint8 pixels (0 = background, 255 = ink) and
its labels are ``(n,)`` uint8 digits 0-9.
"""

from __future__ import annotations

import struct

import numpy as np

# IDX type codes we accept; MNIST only ever uses 0x08.
_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8)}
_CODES = {dtype: code for code, dtype in _DTYPES.items()}


class IDXError(ValueError):
    """Raised when bytes are not a well-formed IDX file."""


def parse_idx(data: bytes | bytearray | memoryview) -> np.ndarray:
    """Decode IDX bytes into a numpy array (no copy when ``data`` is a bytearray).

    Raises :class:`IDXError` naming what is wrong: a bad magic number, an
    unknown element type, or a payload shorter or longer than the header says.
    """
    view = memoryview(data)
    if len(view) < 4:
        raise IDXError(f"only {len(view)} bytes, too short for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", view[:4])
    if zero != 0:
        raise IDXError("bad magic number: the first two bytes of an IDX file are zero")
    if code not in _DTYPES:
        raise IDXError(f"unsupported IDX element type 0x{code:02x}")
    header_len = 4 + 4 * ndim
    if len(view) < header_len:
        raise IDXError("file ends inside the IDX header")
    shape = struct.unpack(f">{ndim}I", view[4:header_len])
    dtype = _DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(view) - header_len
    if actual != expected:
        raise IDXError(
            f"header says shape {shape} ({expected} bytes of data) "
            f"but the file holds {actual} bytes: it is truncated or padded"
        )
    return np.frombuffer(view[header_len:], dtype=dtype).reshape(shape)


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 (or int8) array as IDX bytes, the inverse of :func:`parse_idx`."""
    array = np.ascontiguousarray(array)
    if array.dtype not in _CODES:
        raise IDXError(f"IDX here supports uint8 and int8 arrays, not {array.dtype}")
    header = struct.pack(">HBB", 0, _CODES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes(order="C")
