"""Compiled kernels against their numpy reference."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pgdl import kernels
from pgdl.kernels import PackError, reference

ARRAY_FORMATS = {"int2": (21, "h"), "int4": (23, "i"), "int8": (20, "q"),
                 "float4": (700, "f"), "float8": (701, "d")}


def array_send(values, kind, dims=None, null_at=None):
    """PostgreSQL's binary send format of an array, as array_send() returns it."""
    oid, code = ARRAY_FORMATS[kind]
    dims = dims or [len(values)]
    out = struct.pack(">iii", len(dims), int(null_at is not None), oid)
    for dim in dims:
        out += struct.pack(">ii", dim, 1)
    for i, value in enumerate(values):
        if i == null_at:
            out += struct.pack(">i", -1)
        else:
            out += struct.pack(">i", struct.calcsize(code)) + struct.pack(">" + code, value)
    return out


def both(name, *args, **kwargs):
    """Run kernel and reference; they must agree on the result or the error."""
    results = []
    for module in (kernels, reference):
        try:
            results.append(getattr(module, name)(*args, **kwargs))
        except (PackError, ValueError, TypeError) as exc:
            results.append(exc)
    compiled, expected = results
    if isinstance(expected, Exception):
        assert type(compiled) is type(expected) and str(compiled) == str(expected)
        if isinstance(expected, PackError):
            assert compiled.row == expected.row
    else:
        np.testing.assert_array_equal(compiled, expected)
    return compiled


@given(st.integers(0, 300), st.integers(0, 20), st.floats(-4, 4, width=32),
       st.floats(-4, 4, width=32), st.randoms())
@settings(max_examples=60, deadline=None)
def test_pack_uint8_rows(n, rows, scale, offset, rnd):
    data = [bytes(rnd.getrandbits(8) for _ in range(n)) for _ in range(rows)]
    result = both("pack_rows", data, "uint8", n, scale, offset)
    assert result.shape == (rows, n) and result.dtype == np.float32


@pytest.mark.parametrize("kind", sorted(ARRAY_FORMATS))
@given(data=st.data())
@settings(max_examples=30, deadline=None)
def test_pack_array_send_rows(kind, data):
    n = data.draw(st.integers(0, 50))
    if kind.startswith("float"):
        values = st.floats(allow_nan=True, allow_infinity=True,
                           width=32 if kind == "float4" else 64)
    else:
        bits = {"int2": 15, "int4": 31, "int8": 63}[kind]
        values = st.integers(-2 ** bits, 2 ** bits - 1)
    rows = data.draw(st.lists(st.lists(values, min_size=n, max_size=n), max_size=8))
    scale = data.draw(hnp.arrays(np.float32, n, elements=st.floats(-2, 2, width=32)))
    both("pack_rows", [array_send(r, kind) for r in rows], kind, n, scale, 0.5)


def test_pack_multidimensional_arrays_by_their_size():
    row = array_send(list(range(6)), "int4", dims=[2, 3])
    np.testing.assert_array_equal(kernels.pack_rows([row], "int4", 6), [[0, 1, 2, 3, 4, 5]])


@pytest.mark.parametrize("rows, kind, n, reason", [
    ([b"\x01\x02", b"\x01"], "uint8", 2, "row 1 holds 1 bytes, not 2"),
    ([b"\x01\x02", None], "uint8", 2, "row 1 is NULL"),
    ([array_send([1.0, 2.0], "float4"), array_send([1.0], "float4")], "float4", 2,
     "row 1 has another number of values"),
    ([array_send([1.0, 2.0], "float8")], "float4", 2, "row 0 has another element type"),
    ([array_send([1.0, 2.0], "float4", null_at=1)], "float4", 2, "row 0 has a NULL element"),
    ([b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\xbc"], "float4", 2,
     "row 0 has another number of values"),        # '{}'::real[]
    ([b"abc"], "float4", 2, "row 0 is not a PostgreSQL array"),
])
def test_pack_names_the_first_bad_row(rows, kind, n, reason):
    error = both("pack_rows", rows, kind, n)
    assert isinstance(error, PackError) and str(error) == reason


def test_pack_into_a_given_buffer_and_refuse_a_wrong_one():
    out = np.zeros((1, 3), dtype=np.float32)
    assert kernels.pack_rows([b"\x00\x01\x02"], "uint8", 3, out=out) is out
    error = both("pack_rows", [b"\x00\x01\x02"], "uint8", 3, out=np.zeros((2, 3), np.float32))
    assert isinstance(error, ValueError) and "Expected out of shape (1, 3)" in str(error)


def as_buffer(rows):
    """rows (bytes or None) as fdw/source.c hands over a bytea column."""
    lengths = [0 if row is None else len(row) for row in rows]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    mask = np.array([row is None for row in rows], dtype=np.bool_)
    return b"".join(row or b"" for row in rows), offsets, mask if mask.any() else None


@pytest.mark.parametrize("rows, kind, n", [
    ([b"\x01\x02", b"\x03\x04", b"\xff\x00"], "uint8", 2),
    ([array_send([1.5, -2.0, 3.25], "float8"), array_send([0.0, 1.0, 2.0], "float8")], "float8", 3),
    ([array_send([1, 2], "int4")], "int4", 2),
    ([], "uint8", 4),
    ([b"\x01\x02", b"\x01"], "uint8", 2),                      # row 1 too short
    ([b"\x01\x02", None], "uint8", 2),                         # row 1 NULL
    ([array_send([1.0, 2.0], "float4", null_at=1)], "float4", 2),
])
def test_pack_rows_in_one_buffer_as_pack_rows_does(rows, kind, n):
    data, offsets, mask = as_buffer(rows)
    packed = both("pack_buffer", data, offsets, mask, kind, n, 0.5, 1.0)
    single = both("pack_rows", list(rows), kind, n, 0.5, 1.0)
    if isinstance(single, Exception):
        assert type(packed) is type(single) and str(packed) == str(single)
    else:
        np.testing.assert_array_equal(packed, single)


def test_pack_buffer_refuses_offsets_outside_the_buffer():
    with pytest.raises(ValueError, match="outside the buffer"):
        kernels.pack_buffer(b"\x01\x02", np.array([0, 3], np.int64), None, "uint8", 3)


def test_pack_a_large_batch():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2000, 3072), dtype=np.uint8)
    result = both("pack_rows", [row.tobytes() for row in images], "uint8", 3072, 1 / 255, -0.5)
    np.testing.assert_allclose(result, images / 255 - 0.5, rtol=1e-6, atol=1e-7)


@given(st.lists(st.integers(0, 9), max_size=50))
def test_one_hot(labels):
    result = both("one_hot", labels, 10)
    assert result.shape == (len(labels), 10)


def test_one_hot_names_a_label_out_of_range():
    error = both("one_hot", [0, 3, -1], 3)
    assert isinstance(error, PackError) and error.row == 1
    assert str(error) == "row 1 has class index 3, outside 0..2"


tensors = st.integers(1, 6).flatmap(lambda n: st.tuples(
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7).flatmap(
        lambda shape: st.lists(hnp.arrays(np.float32, shape,
                                          elements=st.floats(-1e6, 1e6, width=32)),
                               min_size=n, max_size=n)),
    st.lists(st.floats(0.5, 1000), min_size=n, max_size=n)))


@given(tensors)
@settings(max_examples=80, deadline=None)
def test_weighted_average(case):
    arrays, weights = case
    result = kernels.weighted_average(arrays, weights)
    expected = reference.weighted_average(arrays, weights)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


def test_weighted_average_of_large_tensors_and_nan():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(3_000_001).astype(np.float32) for _ in range(4)]
    arrays[2][17] = np.nan
    result = kernels.weighted_average(arrays, [1, 2, 3, 4])
    expected = reference.weighted_average(arrays, [1, 2, 3, 4])
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)
    assert np.isnan(result[17])


@pytest.mark.parametrize("arrays, weights, message", [
    ([], [], "Expected at least one tensor"),
    ([np.zeros(2, np.float32)], [1, 2], "Expected one weight per tensor"),
    ([np.zeros(2, np.float32)], [0], "Expected weights with a positive sum"),
    ([np.zeros(2, np.float32), np.zeros(3, np.float32)], [1, 1], "Expected tensors of one shape"),
])
def test_weighted_average_refuses_bad_input(arrays, weights, message):
    error = both("weighted_average", arrays, weights)
    assert isinstance(error, ValueError) and message in str(error)


def test_weighted_average_refuses_float64():
    with pytest.raises(TypeError, match="Expected tensors\\[0\\] to be a C-contiguous float32"):
        kernels.weighted_average([np.zeros(2)], [1])


@given(st.integers(0, 5), hnp.array_shapes(max_dims=2, min_side=0, max_side=9),
       st.floats(0.01, 0.99), st.randoms())
@settings(max_examples=60, deadline=None)
def test_easgd_step(n, shape, alpha, rnd):
    rng = np.random.default_rng(rnd.getrandbits(32))
    center = rng.standard_normal(shape).astype(np.float32)
    local = [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]
    c1, l1 = center.copy(), [x.copy() for x in local]
    c2, l2 = center.copy(), [x.copy() for x in local]
    kernels.easgd_step(c1, l1, alpha)
    reference.easgd_step(c2, l2, alpha)
    np.testing.assert_allclose(c1, c2, rtol=1e-5, atol=1e-5)
    for a, b in zip(l1, l2):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_easgd_step_refuses_a_bad_moving_rate():
    error = both("easgd_step", np.zeros(2, np.float32), [np.zeros(2, np.float32)], 1.5)
    assert isinstance(error, ValueError) and "Expected 0 < alpha < 1" in str(error)
