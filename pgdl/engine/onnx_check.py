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


def _subgraphs(nodes):
    """Every graph nested in the attributes of nodes, at any depth."""
    from onnx import AttributeProto
    for node in nodes:
        for attribute in node.attribute:
            graphs = [attribute.g] if attribute.type == AttributeProto.GRAPH else \
                list(attribute.graphs) if attribute.type == AttributeProto.GRAPHS else []
            for graph in graphs:
                yield graph
                yield from _subgraphs(graph.node)


def _graphs(proto):
    """The model's graph and every graph nested in it."""
    return [proto.graph] + list(_subgraphs(proto.graph.node))


def _nodes(proto):
    """Every node: of the graphs, of the functions and of the graphs in them."""
    functions = [f.node for f in proto.functions]
    for nodes in [g.node for g in _graphs(proto)] + functions + \
            [g.node for f in functions for g in _subgraphs(f)]:
        yield from nodes


def _tensors(proto):
    """Every tensor of the model: initializers and constants of attributes."""
    from onnx import AttributeProto
    for graph in _graphs(proto):
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
    for node in _nodes(proto):
        for attribute in node.attribute:
            if attribute.type == AttributeProto.TENSOR:
                yield attribute.t
            elif attribute.type == AttributeProto.TENSORS:
                yield from attribute.tensors
            elif attribute.type == AttributeProto.SPARSE_TENSOR:
                yield attribute.sparse_tensor.values
                yield attribute.sparse_tensor.indices


def check_self_contained(proto):
    """Refuses a model any of whose tensors live outside its bytes."""
    from onnx import TensorProto
    for tensor in _tensors(proto):
        if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
            raise _error("tensor \"%s\" of the ONNX model keeps its data in an external file"
                         % tensor.name,
                         hint="pgdl stores models as bytes: save the model with all its "
                              "tensors inside (onnx.save_model(..., "
                              "save_as_external_data=False)).")
    for node in _nodes(proto):
        if node.op_type in FILE_NODES:
            raise _error("the ONNX model has a %s node (\"%s\"), which may name a file"
                         % (node.op_type, node.name))


def check_bounded(proto):
    """Refuses operators that repeat as often as their inputs ask."""
    for node in _nodes(proto):
        if node.op_type in UNBOUNDED and node.domain in ("", "ai.onnx"):
            raise _error("the ONNX model has a %s operator (node \"%s\"), which pgdl does "
                         "not run" % (node.op_type, node.name),
                         hint="Export the model without loops (unroll them).")
