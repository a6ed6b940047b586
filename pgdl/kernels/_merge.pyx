# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Merging the weights of segment models.

weighted_average: the row-weighted mean of n tensors of one shape (model
averaging).  easgd_step: one elastic-averaging exchange between a center
and n local tensors.  Each reads every input once, in blocks that keep a
float64 accumulator in L1 cache, so it runs at memory bandwidth.
"""

import numpy as np
from libc.stdlib cimport free, malloc

DEF BLOCK = 2048


cdef void _average(float **src, const double *w, Py_ssize_t n, Py_ssize_t size,
                   double inv_total, float *dst) noexcept nogil:
    # Tensors are folded in four at a time, so the accumulator block is
    # loaded and stored once per four input streams.
    cdef double acc[BLOCK]
    cdef Py_ssize_t start, length, e, j
    cdef const float *x0
    cdef const float *x1
    cdef const float *x2
    cdef const float *x3
    cdef double w0, w1, w2, w3
    start = 0
    while start < size:
        length = BLOCK if start + BLOCK < size else size - start
        for e in range(length):
            acc[e] = 0
        j = 0
        while j + 4 <= n:
            x0 = src[j] + start
            x1 = src[j + 1] + start
            x2 = src[j + 2] + start
            x3 = src[j + 3] + start
            w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
            for e in range(length):
                acc[e] += (w0 * x0[e] + w1 * x1[e]) + (w2 * x2[e] + w3 * x3[e])
            j += 4
        while j < n:
            x0 = src[j] + start
            w0 = w[j]
            for e in range(length):
                acc[e] += w0 * x0[e]
            j += 1
        for e in range(length):
            dst[start + e] = <float>(acc[e] * inv_total)
        start += length


cdef void _easgd(float *center, float **local, Py_ssize_t n, Py_ssize_t size,
                 float alpha) noexcept nogil:
    cdef float delta[BLOCK]
    cdef Py_ssize_t start, stop, e, j
    cdef float *x
    cdef float d
    start = 0
    while start < size:
        stop = start + BLOCK if start + BLOCK < size else size
        for e in range(stop - start):
            delta[e] = 0
        for j in range(n):
            x = local[j] + start
            for e in range(stop - start):
                d = x[e] - center[start + e]
                x[e] -= alpha * d
                delta[e] += d
        for e in range(stop - start):
            center[start + e] += alpha * delta[e]
        start = stop


def _flat_views(tensors, name, shape=None, writable=False):
    views = []
    for i, tensor in enumerate(tensors):
        if not isinstance(tensor, np.ndarray) or tensor.dtype != np.float32 \
                or not tensor.flags.c_contiguous or (writable and not tensor.flags.writeable):
            raise TypeError("Expected %s[%d] to be a C-contiguous float32 numpy array%s. "
                            "Received: %r" % (name, i, " (writable)" if writable else "",
                                              type(tensor) if not isinstance(tensor, np.ndarray)
                                              else tensor.dtype))
        if shape is None:
            shape = tensor.shape
        elif tensor.shape != shape:
            raise ValueError("Expected %s of one shape. Received: %s[0].shape=%s, %s[%d].shape=%s"
                             % (name, name, shape, name, i, tensor.shape))
        views.append(tensor.reshape(-1))
    return views, shape


def weighted_average(tensors, weights, out=None):
    """sum(w_i * t_i) / sum(w_i) over float32 tensors of one shape (into out)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("Expected at least one tensor. Received: tensors=[]")
    cdef const double[::1] w = np.ascontiguousarray(weights, dtype=np.float64)
    if w.shape[0] != len(tensors):
        raise ValueError("Expected one weight per tensor. Received: %d weights, %d tensors"
                         % (w.shape[0], len(tensors)))
    total = float(np.sum(w))
    if not total > 0:
        raise ValueError("Expected weights with a positive sum. Received: sum=%r" % total)
    views, shape = _flat_views(tensors, "tensors")
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    _flat_views([out], "out", shape, writable=True)
    cdef float[::1] dst = out.reshape(-1)
    cdef Py_ssize_t n = len(views), size = views[0].shape[0], j
    cdef float **src = <float **>malloc(n * sizeof(float *))
    cdef float[::1] view
    try:
        for j in range(n):
            view = views[j]
            src[j] = &view[0] if size else NULL
        if size:
            with nogil:
                _average(src, &w[0], n, size, 1.0 / total, &dst[0])
    finally:
        free(src)
    return out


def easgd_step(center, local, float alpha):
    """Elastic averaging, in place: each local_i moves alpha of the way to the
    center, and the center moves alpha * sum(local_i - center)."""
    local = list(local)
    if not 0 < alpha < 1:
        raise ValueError("Expected 0 < alpha < 1. Received: alpha=%r" % alpha)
    center_views, shape = _flat_views([center], "center", writable=True)
    views, _ = _flat_views(local, "local", shape, writable=True)
    cdef float[::1] c = center_views[0]
    cdef Py_ssize_t n = len(views), size = c.shape[0], j
    cdef float **ptrs = <float **>malloc(max(n, 1) * sizeof(float *))
    cdef float[::1] view
    try:
        for j in range(n):
            view = views[j]
            ptrs[j] = &view[0] if size else NULL
        if size and n:
            with nogil:
                _easgd(&c[0], ptrs, n, size, alpha)
    finally:
        free(ptrs)
    return center
