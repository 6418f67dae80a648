"""The IDX reader and writer (mnistlib.data.idx): exact bytes, round trips, and each kind of damage."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from mnistlib.data import IDX_SHA256
from mnistlib.data.idx import IDXError, encode_idx, parse_idx


def header(code: int, *shape: int) -> bytes:
    return struct.pack(">HBB", 0, code, len(shape)) + struct.pack(f">{len(shape)}I", *shape)


def test_encode_writes_the_documented_bytes():
    assert (
        encode_idx(np.array([1, 2, 255], dtype=np.uint8)) == b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\xff"
    )
    images = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    assert encode_idx(images) == header(0x08, 2, 2, 3) + bytes(range(12))


@pytest.mark.parametrize(
    "array",
    [
        np.arange(10, dtype=np.uint8),
        np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8),
        np.array([-128, -1, 0, 127], dtype=np.int8),
        np.zeros((0, 28, 28), dtype=np.uint8),
    ],
    ids=["labels", "images", "int8", "empty"],
)
def test_round_trip(array):
    back = parse_idx(encode_idx(array))
    assert back.dtype == array.dtype
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_non_contiguous_arrays_are_written_in_row_major_order():
    array = np.arange(6, dtype=np.uint8).reshape(2, 3).T  # a transposed (Fortran-ordered) view
    np.testing.assert_array_equal(parse_idx(encode_idx(array)), array)


def test_parsing_a_bytearray_does_not_copy():
    raw = bytearray(encode_idx(np.zeros(4, dtype=np.uint8)))
    array = parse_idx(raw)
    raw[-1] = 7
    assert array[-1] == 7


def test_real_mnist_files_have_keras_shapes(mnist_idx_dir):
    shapes = {
        "train-images-idx3-ubyte": (60000, 28, 28),
        "train-labels-idx1-ubyte": (60000,),
        "t10k-images-idx3-ubyte": (10000, 28, 28),
        "t10k-labels-idx1-ubyte": (10000,),
    }
    assert set(shapes) == set(IDX_SHA256)
    for name, shape in shapes.items():
        raw = (mnist_idx_dir / name).read_bytes()
        array = parse_idx(raw)
        assert array.shape == shape and array.dtype == np.uint8, name
        assert encode_idx(array) == raw, f"{name} does not re-encode to the same bytes"


def test_bad_magic_number():
    raw = b"\x01\x00" + encode_idx(np.arange(3, dtype=np.uint8))[2:]
    with pytest.raises(IDXError, match="magic"):
        parse_idx(raw)


def test_gzip_bytes_are_not_mistaken_for_idx():
    with pytest.raises(IDXError, match="magic"):
        parse_idx(b"\x1f\x8b\x08\x00" + bytes(20))


@pytest.mark.parametrize("raw", [b"", b"\x00\x00\x08"], ids=["empty", "three-bytes"])
def test_too_short_for_a_header(raw):
    with pytest.raises(IDXError, match="too short"):
        parse_idx(raw)


def test_file_ends_inside_the_header():
    with pytest.raises(IDXError, match="inside the IDX header"):
        parse_idx(header(0x08, 60000, 28, 28)[:10])


def test_truncated_payload():
    raw = encode_idx(np.arange(100, dtype=np.uint8).reshape(4, 25))
    with pytest.raises(IDXError, match=r"shape \(4, 25\) \(100 bytes.*holds 99 bytes.*truncated"):
        parse_idx(raw[:-1])


def test_padded_payload():
    raw = encode_idx(np.arange(100, dtype=np.uint8))
    with pytest.raises(IDXError, match="holds 101 bytes.*padded"):
        parse_idx(raw + b"\x00")


@pytest.mark.parametrize("code", [0x0B, 0x0C, 0x0D, 0x0E, 0x07])
def test_unsupported_element_type(code):
    with pytest.raises(IDXError, match=f"unsupported IDX element type 0x{code:02x}"):
        parse_idx(header(code, 2) + bytes(16))


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint16, bool])
def test_encode_refuses_other_dtypes(dtype):
    with pytest.raises(IDXError, match="uint8 and int8"):
        encode_idx(np.zeros(3, dtype=dtype))


def test_idx_error_is_a_value_error():
    assert issubclass(IDXError, ValueError)
