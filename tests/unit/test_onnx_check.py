"""What an ONNX model may hold: every tensor inside its bytes, at any depth."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from helpers import digit_model, external_data_onnx, looping_onnx
from pgdl.engine import onnx_check
from pgdl.errors import PgdlError


def external(tensor, location="../../etc/passwd"):
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    return tensor


def branching(constant):
    """A model whose If node's branch holds a Constant node with `constant`."""
    branch = helper.make_graph(
        [helper.make_node("Constant", [], ["c"], value=constant)], "branch", [],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [1])])
    graph = helper.make_graph(
        [helper.make_node("If", ["flag"], ["out"], then_branch=branch, else_branch=branch)],
        "g", [helper.make_tensor_value_info("flag", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1])])
    return onnx_check.parse(helper.make_model(graph).SerializeToString())


def test_a_self_contained_model_passes():
    proto = onnx_check.parse(digit_model()[0])
    onnx_check.check_self_contained(proto)
    onnx_check.check_bounded(proto)
    onnx_check.check_self_contained(branching(numpy_helper.from_array(
        np.ones(1, np.float32), "c")))


@pytest.mark.parametrize("proto", [
    onnx_check.parse(external_data_onnx()),
    branching(external(numpy_helper.from_array(np.ones(1, np.float32), "c"))),
], ids=["initializer", "constant in a branch"])
def test_external_data_is_refused_at_any_depth(proto):
    with pytest.raises(PgdlError, match="keeps its data in an external file"):
        onnx_check.check_self_contained(proto)


def test_loops_are_refused():
    with pytest.raises(PgdlError, match="has a Loop operator"):
        onnx_check.check_bounded(onnx_check.parse(looping_onnx()))


def test_bytes_that_are_no_model_are_refused():
    with pytest.raises(PgdlError, match="does not load"):
        onnx_check.parse(b"\xff\xff\xff")
