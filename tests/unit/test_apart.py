"""What a selection job sends to the background worker that commits apart
from its transaction (pgdl.engine.apart): plain data, decoded as sent."""

import numpy as np
import pytest

from pgdl.engine import apart
from pgdl.errors import PgdlError


def test_a_header_and_binary_parts_come_back_as_sent():
    weights = np.arange(6, dtype="<f4").reshape(2, 3)
    data = apart.encode({"run": {"job": 3, "value": 0.5}, "names": ["w"]},
                        [b"onnx bytes", weights.tobytes(), b""])
    header, parts = apart.decode(data)
    assert header == {"run": {"job": 3, "value": 0.5}, "names": ["w"]}
    assert parts[0] == b"onnx bytes" and parts[2] == b""
    np.testing.assert_array_equal(np.frombuffer(parts[1], "<f4").reshape(2, 3), weights)


def test_error_codes_read_back_as_sqlstates():
    def make(state):        # PostgreSQL's MAKE_SQLSTATE
        return sum((ord(c) - ord("0")) << (6 * i) for i, c in enumerate(state))
    assert [apart._sqlstate(make(s)) for s in ("55000", "23505", "XX000", "22P02")] == [
        "55000", "23505", "XX000", "22P02"]


def test_only_known_work_runs_apart():
    with pytest.raises(PgdlError, match="no work called drop_everything"):
        apart.run("drop_everything", apart.encode({}))
