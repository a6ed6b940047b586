"""pgdl.batches: columns of a batch as pgdl.datum fields."""

import numpy as np

from pgdl import batches, records


def test_numbers_go_as_binary_with_a_null_mask_only_when_needed():
    datum = batches.encode("x", np.array([1, 2, 3], dtype=np.int32), 23)
    assert datum["op"] == "int8" and datum["ya"] == [np.array([1, 2, 3], "<i8").tobytes()]
    datum = batches.encode("p", [0.5, None], 701)
    assert datum["ya"] == [np.array([0.5, 0.0], "<f8").tobytes(), b"\x00\x01"]
    assert set(datum) == set(records.DATUM_FIELDS)


def test_other_values_go_in_their_text_form():
    datum = batches.encode("t", ["a", None, 3, True, b"\x01\xff", {"k": 1}], 25)
    assert datum["ta"] == ["a", None, "3", "t", "\\x01ff", '{"k": 1}']
    assert batches.text([1, None, 2.5, 'q"\\', ["x"]]) == '{1,NULL,2.5,"q\\"\\\\",{"x"}}'


def test_a_batch_starts_with_its_row_count():
    encoded = batches.encode_batch(2, {"x": [1, 2]}, {"x": 20})
    assert encoded[0]["name"] is None and encoded[0]["i"] == 2
    assert [d["name"] for d in encoded] == [None, "x"]
