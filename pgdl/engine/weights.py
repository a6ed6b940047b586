"""Model weights as one flat float32 vector, and as rows of pgdl.model_weights.

A model's weights (model.get_weights(), in order) travel between segments
and processes as one little-endian float32 vector; in the database they are
one row per tensor, or per chunk of a tensor, so no model meets
PostgreSQL's 1 GB field limit.
"""

import numpy as np

CHUNK_BYTES = 64 * 1024 * 1024


def shapes(arrays):
    return [list(np.shape(a)) for a in arrays]


def flatten(arrays, out=None):
    total = sum(int(np.size(a)) for a in arrays)
    if out is None:
        out = np.empty(total, dtype="<f4")
    start = 0
    for array in arrays:
        size = int(np.size(array))
        out[start:start + size] = np.asarray(array, dtype=np.float32).reshape(-1)
        start += size
    return out


def unflatten(vector, tensor_shapes):
    vector = np.asarray(vector, dtype="<f4")
    arrays, start = [], 0
    for shape in tensor_shapes:
        size = int(np.prod(shape))
        arrays.append(vector[start:start + size].reshape(shape).astype(np.float32))
        start += size
    if start != vector.size:
        raise ValueError("Expected %d weights. Received: %d" % (start, vector.size))
    return arrays


def to_rows(arrays, names=None, chunk_bytes=CHUNK_BYTES):
    """(tensor, chunk, name, shape, data) rows; data is little-endian float32."""
    rows = []
    for tensor, array in enumerate(arrays):
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        name = names[tensor] if names else "tensor_%d" % tensor
        chunks = max(1, -(-len(data) // chunk_bytes))
        for chunk in range(chunks):
            rows.append((tensor, chunk, name, list(np.shape(array)),
                         data[chunk * chunk_bytes:(chunk + 1) * chunk_bytes]))
    return rows


def from_rows(rows):
    """Arrays from (tensor, chunk, shape, data) rows in any order."""
    tensors = {}
    for tensor, chunk, shape, data in rows:
        tensors.setdefault(tensor, (shape, {}))[1][chunk] = data
    arrays = []
    for tensor in sorted(tensors):
        shape, chunks = tensors[tensor]
        data = b"".join(chunks[c] for c in sorted(chunks))
        arrays.append(np.frombuffer(data, "<f4").reshape(shape).copy())
    return arrays
