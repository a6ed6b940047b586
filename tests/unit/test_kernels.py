"""Compiled kernels against their numpy reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgdl.kernels import reference, scale_bytes


@given(st.binary(max_size=4096), st.floats(-10, 10, width=32))
@settings(max_examples=200, deadline=None)
def test_scale_bytes_matches_reference(data, scale):
    np.testing.assert_array_equal(scale_bytes(data, scale), reference.scale_bytes(data, scale))


def test_scale_bytes_into_a_given_buffer():
    out = np.zeros(3, dtype=np.float32)
    assert scale_bytes(b"\x00\x80\xff", 1 / 255, out=out) is out
    np.testing.assert_allclose(out, [0, 128 / 255, 1], rtol=1e-6)


def test_scale_bytes_empty():
    assert scale_bytes(b"", 2.0).shape == (0,)


@pytest.mark.parametrize("kernel", [scale_bytes, reference.scale_bytes])
def test_scale_bytes_rejects_a_buffer_of_the_wrong_size(kernel):
    with pytest.raises(ValueError, match=r"Expected out to hold 3 values. Received: out.shape="):
        kernel(b"abc", 1.0, out=np.zeros(2, dtype=np.float32))
