# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Packing rows as PostgreSQL hands them over into contiguous float32 batches.

Rows arrive as Python bytes: a bytea of uint8 values (images), or an array in
PostgreSQL's binary send format (what array_send() returns, so no Python
list of floats is ever built).  Each row becomes one row of the output,
value * scale[f] + offset[f] per feature f, computed in float64 and rounded
once to float32.  A thin `def` checks types and
shapes; the loops run without the GIL over typed memoryviews.
Single-threaded: it runs inside a PostgreSQL backend.
"""

import numpy as np
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from pgdl.kernels.errors import PackError

cdef inline uint32_t _be32(const uint8_t *p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef inline uint64_t _be64(const uint8_t *p) noexcept nogil:
    return (<uint64_t>_be32(p) << 32) | _be32(p + 4)


cdef inline double _element(const uint8_t *p, uint32_t elemtype) noexcept nogil:
    cdef uint32_t u32
    cdef uint64_t u64
    cdef float f32
    cdef double f64
    if elemtype == 700:
        u32 = _be32(p)
        memcpy(&f32, &u32, 4)
        return f32
    if elemtype == 701:
        u64 = _be64(p)
        memcpy(&f64, &u64, 8)
        return f64
    if elemtype == 23:
        return <int32_t>_be32(p)
    if elemtype == 20:
        return <int64_t>_be64(p)
    return <int16_t>((<uint16_t>p[0] << 8) | p[1])


cdef void _scale_u8(const uint8_t *src, Py_ssize_t n, const float *scale, const float *offset,
                    float *dst) noexcept nogil:
    cdef Py_ssize_t f
    for f in range(n):
        dst[f] = <float>(src[f] * <double>scale[f] + offset[f])


cdef extern from *:
    """
    static inline uint32_t pgdl_bswap32(uint32_t x) { return __builtin_bswap32(x); }
    static inline uint64_t pgdl_bswap64(uint64_t x) { return __builtin_bswap64(x); }
    """
    uint32_t pgdl_bswap32(uint32_t x) nogil
    uint64_t pgdl_bswap64(uint64_t x) nogil


cdef int _decode_float4(const uint8_t *src, Py_ssize_t n, const float *scale,
                        const float *offset, float *dst) noexcept nogil:
    # The common case gets its own loops over (length, big-endian float)
    # pairs: check every length, then convert; both vectorize.
    cdef const uint32_t *words = <const uint32_t *>src
    cdef Py_ssize_t f
    cdef uint32_t bad = 0, bits
    cdef float value
    for f in range(n):
        bad |= words[2 * f] ^ 0x04000000u    # length 4, big-endian
    if bad:
        return 5
    for f in range(n):
        bits = pgdl_bswap32(words[2 * f + 1])
        memcpy(&value, &bits, 4)
        dst[f] = <float>(value * <double>scale[f] + offset[f])
    return 0


cdef int _decode_array(const uint8_t *src, Py_ssize_t size, uint32_t elemtype, Py_ssize_t n,
                       const float *scale, const float *offset, float *dst) noexcept nogil:
    """0 when the array holds n non-null elements of elemtype, else a reason code."""
    cdef int32_t ndim, d
    cdef Py_ssize_t count = 1, f, pos, width
    cdef int32_t length
    if size < 12:
        return 1
    ndim = <int32_t>_be32(src)
    if <uint32_t>_be32(src + 8) != elemtype:
        return 2
    if ndim < 1 or size < 12 + 8 * ndim:
        return 3 if ndim >= 1 else 4
    for d in range(ndim):
        count *= <int32_t>_be32(src + 12 + 8 * d)
    if count != n:
        return 4
    width = 4 if elemtype == 700 or elemtype == 23 else (2 if elemtype == 21 else 8)
    pos = 12 + 8 * ndim
    if size != pos + n * (4 + width):
        return 5   # a NULL element (length -1) makes the row shorter
    if elemtype == 700:
        return _decode_float4(src + pos, n, scale, offset, dst)
    for f in range(n):
        length = <int32_t>_be32(src + pos)
        if length != width:
            return 5
        dst[f] = <float>(_element(src + pos + 4, elemtype) * scale[f] + offset[f])
        pos += 4 + width
    return 0


_REASONS = {
    1: "is not a PostgreSQL array",
    2: "has another element type",
    3: "is not a PostgreSQL array",
    4: "has another number of values",
    5: "has a NULL element",
}


def _check_out(out, Py_ssize_t rows, Py_ssize_t n):
    if out is None:
        return np.empty((rows, n), dtype=np.float32)
    if out.dtype != np.float32 or out.shape != (rows, n) or not out.flags.c_contiguous:
        raise ValueError("Expected out of shape (%d, %d), float32, C-contiguous. "
                         "Received: out.shape=%s, out.dtype=%s" % (rows, n, out.shape, out.dtype))
    return out


def _vector(value, Py_ssize_t n):
    vector = np.broadcast_to(np.asarray(value, dtype=np.float32), (n,))
    return np.ascontiguousarray(vector)


cdef Py_ssize_t _pack(const uint8_t **src, const Py_ssize_t *sizes, Py_ssize_t count,
                      uint32_t elemtype, Py_ssize_t n, const float *scale, const float *offset,
                      float *dst, int *reason) noexcept nogil:
    """Packs every row; returns the index of the first bad row (reason set), or -1."""
    cdef Py_ssize_t i
    for i in range(count):
        if elemtype == 0:
            if sizes[i] != n:
                reason[0] = 0
                return i
            _scale_u8(src[i], n, scale, offset, dst + i * n)
        else:
            reason[0] = _decode_array(src[i], sizes[i], elemtype, n, scale, offset, dst + i * n)
            if reason[0]:
                return i
    return -1


_ELEMENT_TYPES = {"uint8": 0, "int2": 21, "int4": 23, "int8": 20, "float4": 700, "float8": 701}


cdef _pack_pointers(const uint8_t **src, Py_ssize_t *sizes, Py_ssize_t count, uint32_t elemtype,
                    Py_ssize_t n, scale, offset, out):
    """Packs rows given as pointers and sizes; raises PackError at the first bad one."""
    result = _check_out(out, count, n)
    cdef float[:, ::1] dst = result
    cdef const float[::1] sc = _vector(scale, n)
    cdef const float[::1] of = _vector(offset, n)
    cdef Py_ssize_t i, bad = -1
    cdef int reason = 0
    if count == 0 or n == 0:
        if elemtype == 0:
            for i in range(count):
                if sizes[i] != n:
                    bad = i
                    break
        else:
            for i in range(count):
                reason = _decode_array(src[i], sizes[i], elemtype, n, NULL, NULL, NULL)
                if reason:
                    bad = i
                    break
    else:
        with nogil:
            bad = _pack(src, sizes, count, elemtype, n, &sc[0], &of[0], &dst[0, 0], &reason)
    if bad >= 0:
        if elemtype == 0:
            raise PackError(bad, "holds %d bytes, not %d" % (sizes[bad], n))
        raise PackError(bad, _REASONS[reason])
    return result


def pack_rows(list rows, str kind, Py_ssize_t n, scale=1.0, offset=0.0, out=None):
    """rows (bytes) -> float32 (len(rows), n): value * scale + offset.

    kind "uint8": each row holds n bytes.  Otherwise kind names the element
    type of array_send() rows: "int2", "int4", "int8", "float4", "float8".
    Raises PackError naming the first row that does not fit.
    """
    cdef uint32_t elemtype = _ELEMENT_TYPES[kind]
    cdef Py_ssize_t count = len(rows), i
    cdef const uint8_t **src = <const uint8_t **>malloc(max(count, 1) * sizeof(uint8_t *))
    cdef Py_ssize_t *sizes = <Py_ssize_t *>malloc(max(count, 1) * sizeof(Py_ssize_t))
    cdef object row
    try:
        for i in range(count):
            row = rows[i]
            if type(row) is not bytes:
                if row is None:
                    raise PackError(i, "is NULL")
                raise TypeError("Expected rows of bytes. Received: rows[%d] of %s" % (i, type(row)))
            src[i] = <const uint8_t *>(<char *>row)
            sizes[i] = len(<bytes>row)
        return _pack_pointers(src, sizes, count, elemtype, n, scale, offset, out)
    finally:
        free(src)
        free(sizes)


def pack_buffer(data, offsets, mask, str kind, Py_ssize_t n, scale=1.0, offset=0.0, out=None):
    """pack_rows for rows that arrive as one buffer: row i is
    data[offsets[i]:offsets[i + 1]] (offsets: int64, one more than rows),
    NULL where mask (one byte per row, or None) is true."""
    cdef uint32_t elemtype = _ELEMENT_TYPES[kind]
    cdef const uint8_t[::1] buffer = memoryview(data).cast("B")
    cdef const int64_t[::1] at = np.ascontiguousarray(offsets, dtype=np.int64)
    cdef Py_ssize_t count = at.shape[0] - 1, i
    if count < 0:
        raise ValueError("Expected at least one offset.")
    if mask is not None:
        nulls = np.flatnonzero(np.asarray(mask, dtype=np.bool_))
        if len(nulls):
            raise PackError(int(nulls[0]), "is NULL")
    for i in range(count):
        if at[i] < 0 or at[i + 1] < at[i] or at[i + 1] > buffer.shape[0]:
            raise ValueError("offset %d is outside the buffer of %d bytes" % (i, buffer.shape[0]))
    cdef const uint8_t *base = &buffer[0] if buffer.shape[0] else NULL
    cdef const uint8_t **src = <const uint8_t **>malloc(max(count, 1) * sizeof(uint8_t *))
    cdef Py_ssize_t *sizes = <Py_ssize_t *>malloc(max(count, 1) * sizeof(Py_ssize_t))
    try:
        for i in range(count):
            src[i] = base + at[i]
            sizes[i] = at[i + 1] - at[i]
        return _pack_pointers(src, sizes, count, elemtype, n, scale, offset, out)
    finally:
        free(src)
        free(sizes)


def one_hot(labels, Py_ssize_t num_classes, out=None):
    """int32 class indices (n,) -> float32 one-hot (n, num_classes)."""
    cdef const int32_t[::1] src = np.ascontiguousarray(labels, dtype=np.int32)
    cdef Py_ssize_t n = src.shape[0], i
    result = _check_out(out, n, num_classes)
    result.fill(0)
    cdef float[:, ::1] dst = result
    cdef Py_ssize_t bad = -1
    with nogil:
        for i in range(n):
            if src[i] < 0 or src[i] >= num_classes:
                bad = i
                break
            dst[i, src[i]] = 1
    if bad >= 0:
        raise PackError(bad, "has class index %d, outside 0..%d" % (src[bad], num_classes - 1))
    return result
