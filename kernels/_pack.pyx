# cython: boundscheck=False, wraparound=False, cdivision=True
"""Packing row values into float32 buffers.

A thin `def` checks types and shapes; the loop runs over typed memoryviews
without the GIL.  Single-threaded: it runs inside a PostgreSQL backend.
"""

import numpy as np


cdef void _scale_bytes(const unsigned char[:] src, float scale, float[:] dst) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(src.shape[0]):
        dst[i] = src[i] * scale


def scale_bytes(data, float scale, out=None):
    """uint8 bytes as float32 values times scale (into out, if given)."""
    cdef const unsigned char[:] src = memoryview(data).cast("B")
    if out is None:
        out = np.empty(src.shape[0], dtype=np.float32)
    if out.shape != (src.shape[0],):
        raise ValueError("Expected out to hold %d values. Received: out.shape=%s"
                         % (src.shape[0], out.shape))
    cdef float[:] dst = out
    with nogil:
        _scale_bytes(src, scale, dst)
    return out
