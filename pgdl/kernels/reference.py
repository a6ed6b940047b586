"""numpy versions of the kernels: the oracle the compiled kernels are tested
against, with the same names, arguments and errors."""

import numpy as np

from pgdl.kernels.errors import PackError

_ARRAY_TYPES = {"int2": (21, ">i2"), "int4": (23, ">i4"), "int8": (20, ">i8"),
                "float4": (700, ">f4"), "float8": (701, ">f8")}


def _array_values(row, kind, n):
    oid, dtype = _ARRAY_TYPES[kind]
    if len(row) < 12:
        raise ValueError("is not a PostgreSQL array")
    ndim, _, elemtype = np.frombuffer(row, ">i4", 3)
    if elemtype != oid:
        raise ValueError("has another element type")
    if ndim < 1:
        raise ValueError("has another number of values")
    dims = np.frombuffer(row, ">i4", 2 * ndim, 12)[0::2]
    if int(np.prod(dims)) != n:
        raise ValueError("has another number of values")
    width = np.dtype(dtype).itemsize
    body = row[12 + 8 * ndim:]
    if len(body) != n * (4 + width):
        raise ValueError("has a NULL element")
    items = np.frombuffer(body, [("length", ">i4"), ("value", dtype)])
    if np.any(items["length"] != width):
        raise ValueError("has a NULL element")
    return items["value"]


def pack_rows(rows, kind, n, scale=1.0, offset=0.0, out=None):
    values = np.empty((len(rows), n), dtype=np.float64)
    for i, row in enumerate(rows):
        if row is None:
            raise PackError(i, "is NULL")
        if kind == "uint8":
            if len(row) != n:
                raise PackError(i, "holds %d bytes, not %d" % (len(row), n))
            values[i] = np.frombuffer(row, np.uint8)
        else:
            try:
                values[i] = _array_values(row, kind, n)
            except ValueError as exc:
                raise PackError(i, str(exc))
    scale = np.asarray(scale, dtype=np.float32).astype(np.float64)
    offset = np.asarray(offset, dtype=np.float32).astype(np.float64)
    with np.errstate(all="ignore"):
        result = (values * scale + offset).astype(np.float32)
    if out is None:
        return result
    if out.shape != result.shape or out.dtype != np.float32:
        raise ValueError("Expected out of shape (%d, %d), float32, C-contiguous. "
                         "Received: out.shape=%s, out.dtype=%s" % (len(rows), n, out.shape, out.dtype))
    out[...] = result
    return out


def one_hot(labels, num_classes, out=None):
    labels = np.asarray(labels, dtype=np.int32)
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise PackError(int(bad[0]), "has class index %d, outside 0..%d"
                        % (labels[bad[0]], num_classes - 1))
    result = np.eye(num_classes, dtype=np.float32)[labels] if labels.size else \
        np.zeros((0, num_classes), dtype=np.float32)
    if out is not None:
        out[...] = result
        return out
    return result


def weighted_average(tensors, weights, out=None):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("Expected at least one tensor. Received: tensors=[]")
    weights = np.asarray(weights, dtype=np.float64)
    if len(weights) != len(tensors):
        raise ValueError("Expected one weight per tensor. Received: %d weights, %d tensors"
                         % (len(weights), len(tensors)))
    total = float(weights.sum())
    if not total > 0:
        raise ValueError("Expected weights with a positive sum. Received: sum=%r" % total)
    for i, tensor in enumerate(tensors):
        if tensor.dtype != np.float32:
            raise TypeError("Expected tensors[%d] to be a C-contiguous float32 numpy array. "
                            "Received: %r" % (i, tensor.dtype))
        if tensor.shape != tensors[0].shape:
            raise ValueError("Expected tensors of one shape. Received: tensors[0].shape=%s, "
                             "tensors[%d].shape=%s" % (tensors[0].shape, i, tensor.shape))
    result = sum(w * t.astype(np.float64) for w, t in zip(weights, tensors)) / total
    result = result.astype(np.float32)
    if out is None:
        return result
    out[...] = result
    return out


def easgd_step(center, local, alpha):
    if not 0 < alpha < 1:
        raise ValueError("Expected 0 < alpha < 1. Received: alpha=%r" % alpha)
    local = list(local)
    deltas = [x - center for x in local]
    for x, d in zip(local, deltas):
        x -= np.float32(alpha) * d
    if deltas:
        center += np.float32(alpha) * sum(deltas)
    return center


def pack_buffer(data, offsets, mask, kind, n, scale=1.0, offset=0.0, out=None):
    data = bytes(memoryview(data).cast("B"))
    rows = [None if mask is not None and mask[i] else data[offsets[i]:offsets[i + 1]]
            for i in range(len(offsets) - 1)]
    return pack_rows(rows, kind, n, scale, offset, out)
