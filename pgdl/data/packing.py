"""How rows become packed buffers: classes, normalization, the layout of
buffers over segments, and the float32 batches themselves.

Pure functions over numpy arrays and Python values, so they test without a
server; pgdl.data.preprocess reads and writes the tables.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np

from pgdl import kernels
from pgdl.errors import PgdlError

# Packed buffers are at most this large by default (features, float32).
DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024


@dataclass
class Classes:
    """Class values in a stable order; label i of a packed buffer is values[i]."""

    values: list

    @classmethod
    def from_labels(cls, labels):
        distinct = set(labels)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in distinct)
        return cls(sorted(distinct) if numeric or not distinct else sorted(distinct, key=str))

    def indices(self, labels):
        """(class index of each label, position of the first unknown label or None)."""
        lookup = {value: i for i, value in enumerate(self.values)}
        indices = np.empty(len(labels), dtype=np.int32)
        for position, label in enumerate(labels):
            index = lookup.get(label)
            if index is None:
                return indices, position
            indices[position] = index
        return indices, None


@dataclass
class Normalization:
    """value * scale + offset, per feature."""

    kind: str                 # "none", "constant" or "standard"
    constant: Optional[float] = None
    mean: Optional[np.ndarray] = None
    std: Optional[np.ndarray] = None

    @property
    def scale(self):
        if self.kind == "constant":
            return np.float32(1.0 / self.constant)
        if self.kind == "standard":
            return (1.0 / self.std).astype(np.float32)
        return np.float32(1.0)

    @property
    def offset(self):
        if self.kind == "standard":
            return (-self.mean / self.std).astype(np.float32)
        return np.float32(0.0)


def feature_sums(rows, kind, size, chunk=4096):
    """(rows, per-feature sum, per-feature sum of squares) in float64: what
    standardization needs, and what the shares of a distributed table add up."""
    total = np.zeros(size)
    squares = np.zeros(size)
    for start in range(0, len(rows), chunk):
        values = kernels.pack_rows(rows[start:start + chunk], kind, size).astype(np.float64)
        total += values.sum(axis=0)
        squares += np.square(values).sum(axis=0)
    return len(rows), total, squares


def standardization_of(count, total, squares):
    """Per-feature mean and std (std 0 becomes 1) from feature_sums."""
    count = max(count, 1)
    mean = np.asarray(total) / count
    std = np.sqrt(np.maximum(np.asarray(squares) / count - np.square(mean), 0.0))
    std[std == 0] = 1.0
    return Normalization("standard", mean=mean.astype(np.float32), std=std.astype(np.float32))


def standardization(rows, kind, size, chunk=4096):
    """Per-feature mean and std (std 0 becomes 1) over raw rows, in float64."""
    return standardization_of(*feature_sums(rows, kind, size, chunk))


def default_buffer_size(rows, segments, feature_size):
    per_segment = -(-rows // segments)
    return max(1, min(per_segment, DEFAULT_BUFFER_BYTES // (4 * max(feature_size, 1))))


def layout(rows, segments, buffer_size, seed=None):
    """Buffers as (segment, row positions): rows shuffled with seed (None: kept
    in order), split across segments as evenly as possible, and each
    segment's rows into equal buffers of at most buffer_size."""
    if buffer_size < 1:
        raise PgdlError("buffer_size must be at least 1, not %d" % buffer_size,
                        sqlstate="22023")
    if segments < 1:
        raise PgdlError("segments must be at least 1, not %d" % segments, sqlstate="22023")
    if rows < segments:
        raise PgdlError("cannot spread %d rows over %d segments" % (rows, segments),
                        hint="Ask for at most %d segments." % rows, sqlstate="22023")
    order = np.arange(rows) if seed is None else np.random.default_rng(seed).permutation(rows)
    buffers = []
    for segment, share in enumerate(np.array_split(order, segments)):
        count = -(-len(share) // buffer_size)
        buffers.extend((segment, part) for part in np.array_split(share, count))
    return buffers


def grouped_layout(groups, segments, buffer_size, seed=None, placed=None):
    """Buffers of a model per group, as (segment, group, row positions):
    every group's rows in buffers of their own, all on one segment, so that
    its model trains there.  groups: each row's group value.  The largest
    groups go first, each to the segment with the fewest rows so far;
    placed ({group: segment}, a validation table's training groups) fixes
    where each group goes instead."""
    if buffer_size < 1:
        raise PgdlError("buffer_size must be at least 1, not %d" % buffer_size,
                        sqlstate="22023")
    members = {}
    order = range(len(groups)) if seed is None else \
        np.random.default_rng(seed).permutation(len(groups))
    for position in order:
        members.setdefault(groups[position], []).append(int(position))
    if placed is None:
        placed, load = {}, [0] * segments
        for value in sorted(members, key=lambda v: (-len(members[v]), v)):
            segment = min(range(segments), key=lambda s: (load[s], s))
            placed[value] = segment
            load[segment] += len(members[value])
    buffers = []
    for value in sorted(members):
        positions = np.asarray(members[value])
        count = -(-len(positions) // buffer_size)
        buffers.extend((placed[value], value, part) for part in np.array_split(positions, count))
    return buffers


def pack(rows, kind, size, normalization):
    return kernels.pack_rows(rows, kind, size, normalization.scale, normalization.offset)
