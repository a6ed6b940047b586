"""What an ONNX model may hold before pgdl loads it: bytes only, no files,
and no operators that could run without end.

ONNX lets a tensor keep its data in an external file (`data_location:
EXTERNAL`, with a `location` relative to the model's folder).  A model
loaded from bytes has no folder, so ONNX Runtime would read that path
relative to the server's working directory, the data directory.  pgdl
refuses such models on import and before building any session, whatever
the stored bytes say.  Loops and scans run a sub-graph as often as their
inputs ask; pgdl refuses them on import (scoring can also stop them,
through RunOptions.terminate, pgdl.engine.scoring).
"""

from pgdl.errors import PgdlError

UNBOUNDED = {"Loop", "Scan"}
# ONNX Runtime's pre-compiled nodes may name a cache file of their own.
FILE_NODES = {"EPContext"}


def _error(message, hint=None):
    return PgdlError(message, hint=hint, sqlstate="22023")


def parse(data):
    """The model proto of ONNX bytes, or a PgdlError."""
    from onnx import ModelProto
    from google.protobuf.message import DecodeError
    proto = ModelProto()
    try:
        proto.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RuntimeWarning) as exc:
        raise _error("the ONNX model does not load: %s" % exc)
    return proto


def _tensors(graph):
    """Every tensor of a graph and of its sub-graphs."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    yield from _node_tensors(graph.node)


def _node_tensors(nodes):
    from onnx import AttributeProto
    for node in nodes:
        for attribute in node.attribute:
            if attribute.type == AttributeProto.TENSOR:
                yield attribute.t
            elif attribute.type == AttributeProto.TENSORS:
                yield from attribute.tensors
            elif attribute.type == AttributeProto.SPARSE_TENSOR:
                yield attribute.sparse_tensor.values
                yield attribute.sparse_tensor.indices
            elif attribute.type == AttributeProto.GRAPH:
                yield from _tensors(attribute.g)
            elif attribute.type == AttributeProto.GRAPHS:
                for sub in attribute.graphs:
                    yield from _tensors(sub)


def _nodes(graph):
    from onnx import AttributeProto
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == AttributeProto.GRAPH:
                yield from _nodes(attribute.g)
            elif attribute.type == AttributeProto.GRAPHS:
                for sub in attribute.graphs:
                    yield from _nodes(sub)


def check_self_contained(proto):
    """Refuses a model any of whose tensors live outside its bytes."""
    from onnx import TensorProto
    functions = [_node_tensors(function.node) for function in proto.functions]
    for tensors in [_tensors(proto.graph)] + functions:
        for tensor in tensors:
            if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
                raise _error("tensor \"%s\" of the ONNX model keeps its data in an external file"
                             % tensor.name,
                             hint="pgdl stores models as bytes: save the model with all its "
                                  "tensors inside (onnx.save_model(..., "
                                  "save_as_external_data=False)).")
    for node in _nodes(proto.graph):
        if node.op_type in FILE_NODES:
            raise _error("the ONNX model has a %s node (\"%s\"), which may name a file"
                         % (node.op_type, node.name))


def check_bounded(proto):
    """Refuses operators that repeat as often as their inputs ask."""
    for node in _nodes(proto.graph):
        if node.op_type in UNBOUNDED and node.domain in ("", "ai.onnx"):
            raise _error("the ONNX model has a %s operator (node \"%s\"), which pgdl does "
                         "not run" % (node.op_type, node.name),
                         hint="Export the model without loops (unroll them).")
    for function in proto.functions:
        for node in function.node:
            if node.op_type in UNBOUNDED:
                raise _error("the ONNX model has a %s operator in function \"%s\", which pgdl "
                             "does not run" % (node.op_type, function.name))
