"""The parts of pgdl on Citus that need no cluster: how segments spread over
nodes, the payload format of a segment task and of
the predictions a worker answers."""

import numpy as np
import pytest

from pgdl.distributed import layout, scoring, tasks
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


def test_a_shards_predictions_come_back_as_the_columns_they_left():
    from decimal import Decimal
    columns = {"id": [Decimal("1.5"), None, Decimal("3")],
               "version": np.full(3, 2, np.int64),
               "probability": np.array([0.5, 0.25, np.nan]),
               "probabilities": [[0.5, 0.5], None, [1.0, 0.0]],
               "class": ["a", None, 'say "b"'],
               "image": [b"\x00\xff", None, b""]}
    described, data = scoring.encode_columns(columns)
    back = scoring.decode_columns(described, data)
    assert back["id"] == ["1.5", None, "3"]             # text form, read by the type's input
    assert back["version"].dtype == np.int64 and back["version"].tolist() == [2, 2, 2]
    assert np.array_equal(back["probability"], columns["probability"], equal_nan=True)
    assert back["probabilities"] == columns["probabilities"]
    assert back["class"] == columns["class"]
    assert back["image"] == ["\\x00ff", None, "\\x"]
    answer = {"batches": [[3, described], [3, described]]}
    batches = list(scoring.decode_batches(answer, data + data))
    assert [rows for rows, _ in batches] == [3, 3]
    assert batches[1][1]["class"] == columns["class"]


def test_coded_columns_and_2d_arrays_travel_back_as_they_left():
    from pgdl.batches import Coded
    columns = {"class": Coded([3, 7], [1, -1, 0]),
               "top_classes": Coded(["x", "y"], [[0, 1], [1, 0], [0, 1]]),
               "top_probabilities": np.array([[0.75, 0.25], [0.5, 0.5], [1.0, 0.0]])}
    back = scoring.decode_columns(*scoring.encode_columns(columns))
    assert isinstance(back["class"], Coded) and back["class"].tolist() == [7, None, 3]
    assert back["top_classes"].tolist() == [["x", "y"], ["y", "x"], ["x", "y"]]
    assert np.array_equal(back["top_probabilities"], columns["top_probabilities"])


def test_shards_are_asked_one_per_node_at_a_time():
    where = {"t_1": "a", "t_2": "b", "t_3": "a", "t_4": "a"}
    found = {"t_1": "(0,1)", "t_2": "(0,1)", "t_3": "(0,2)", "t_4": "(3,1)"}
    rounds = scoring._rounds(found, where)
    assert rounds == [{"t_1": "(0,1)", "t_2": "(0,1)"}, {"t_3": "(0,2)"}, {"t_4": "(3,1)"}]
    assert scoring._rounds({}, where) == []


def test_a_task_runs_only_for_its_own_shards_anchor():
    class Place:
        relname = "t_2"
    header = {"anchors": {"t_1": "(0,1)", "t_2": "(0,3)"}, "ctids": ["(0,1)", "(0,3)"]}
    assert scoring._mine(Place, 2, header)
    assert not scoring._mine(Place, 1, header)       # t_1's anchor is a row of t_2 too
    assert not scoring._mine(Place, None, header)
    assert not scoring._mine(Place, 3, header)


def test_a_shards_table_name_is_read_from_its_regclass_text():
    assert scoring.relname("t_102008") == "t_102008"
    assert scoring.relname("sales.t_102008") == "t_102008"
    assert scoring.relname('"My.Schema"."Odd ""t"".x_7"') == 'Odd "t".x_7'
    assert scoring.relname('s."T_1"') == "T_1"
