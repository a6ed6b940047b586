"""numpy versions of the kernels: the oracle the compiled kernels are tested against."""

import numpy as np


def scale_bytes(data, scale, out=None):
    """uint8 bytes as float32 values times scale."""
    values = np.frombuffer(data, dtype=np.uint8).astype(np.float32) * np.float32(scale)
    if out is None:
        return values
    if out.shape != values.shape:
        raise ValueError("Expected out to hold %d values. Received: out.shape=%s"
                         % (values.size, out.shape))
    out[...] = values
    return out
