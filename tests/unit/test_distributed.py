"""The parts of pgdl on Citus that need no cluster: how segments spread over
nodes, and the payload format of a segment task."""

import numpy as np
import pytest

from pgdl.distributed import layout, tasks
from pgdl.errors import PgdlError


def test_segments_spread_as_evenly_as_they_can_in_node_order():
    assert layout.spread(2, ["a", "b"]) == {"a": 1, "b": 1}
    assert layout.spread(5, ["a", "b"]) == {"a": 3, "b": 2}
    assert layout.spread(3, ["a", "b", "c"]) == {"a": 1, "b": 1, "c": 1}


def test_fewer_segments_than_nodes_with_rows_is_an_error():
    with pytest.raises(PgdlError, match="1 segments for source rows on 2 nodes") as error:
        layout.spread(1, ["a", "b"])
    assert error.value.hint == "Use at least 2 segments: one per node that holds rows."


def test_a_payload_carries_its_header_and_bytes_unchanged():
    weights = np.arange(10, dtype="<f4")
    header = {"token": "1-ab", "spec": {"feature_shape": [8, 8]}, "positions": {"0": 1}}
    decoded, blob = tasks.decode(tasks.encode(header, weights.tobytes()))
    assert decoded == header
    assert np.array_equal(np.frombuffer(blob, "<f4"), weights)
    assert tasks.decode(tasks.encode({}))[1].nbytes == 0
