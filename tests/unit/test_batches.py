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


def test_an_int_column_takes_ints_in_binary_and_anything_else_as_text():
    assert batches.encode("i", [1, None, 3], 23)["op"] == "int8"
    fallback = batches.encode("i", [1, 1.5], 23)        # int4in says what is wrong
    assert fallback["op"] is None and fallback["ta"] == ["1", "1.5"]
    assert batches.encode("i", [2 ** 70], 20)["ta"] == [str(2 ** 70)]


def test_coded_columns_and_2d_float_arrays():
    coded = batches.encode("c", batches.Coded(["a", "b"], [1, -1, 0]), 25)
    assert (coded["op"], coded["ta"], coded["i"]) == ("dict", ["a", "b"], None)
    assert coded["ya"] == [np.array([1, -1, 0], "<i4").tobytes()]
    arrays = batches.encode("t", batches.Coded([10, 20], [[1, 0], [0, 1]]), 1007)
    assert (arrays["op"], arrays["ta"], arrays["i"]) == ("dict[]", ["10", "20"], 2)
    floats = batches.encode("p", np.array([[0.25, 0.75], [1.0, 0.0]]), 1022)
    assert (floats["op"], floats["i"]) == ("float8[]", 2)
    assert floats["ya"] == [np.array([0.25, 0.75, 1.0, 0.0], "<f8").tobytes()]
    as_text = batches.encode("p", np.array([[0.5, 1.0]]), 25)      # not a float array column
    assert as_text["ta"] == ["{0.5,1.0}"]
    assert batches.Coded(["x", "y"], [[0, -1]]).tolist() == [["x", None]]
    assert batches.take(batches.Coded(["x"], [0, -1, 0]), [1, 2]).tolist() == [None, "x"]


def binary(form, *parts):
    return {field: None for field in records.DATUM_FIELDS} | {"name": "c", "op": form,
                                                              "ya": list(parts)}


def test_source_columns_decode_to_numpy_and_lists():
    values = batches.decode_column(binary("int8", np.array([5, -1], "<i8").tobytes()))
    assert isinstance(values, np.ndarray) and values.tolist() == [5, -1]
    with_null = batches.decode_column(binary("float8", np.array([0.5, 0.0], "<f8").tobytes(),
                                             b"\x00\x01"))
    assert with_null == [0.5, None]
    flags = batches.decode_column(binary("bool", b"\x01\x00"))
    assert flags.tolist() == [True, False]
    plain = {field: None for field in records.DATUM_FIELDS} | {"name": "t", "ta": ["a", None]}
    assert batches.decode_column(plain) == ["a", None]


def test_a_bytea_column_is_one_buffer_read_row_by_row_or_whole():
    column = batches.decode_column(binary(
        "bytea", b"abcdef", np.array([0, 2, 2, 6], "<i8").tobytes(), b"\x00\x01\x00"))
    assert len(column) == 3 and list(column) == [b"ab", None, b"cdef"]
    assert column[-1] == b"cdef" and column[1:].tolist() == [None, b"cdef"]
    even = batches.BytesColumn(memoryview(b"aabbcc"), np.array([0, 2, 4, 6]))
    assert even[1:2].tolist() == [b"bb"]
