"""pgdl.import_onnx: an ONNX model from elsewhere as a new version of a model.

The bytes must hold the whole model (no external data, no file-backed
nodes), must not loop as often as their input asks (Loop, Scan), and must
load in ONNX Runtime; the input shape (without the batch dimension) comes
from the ONNX input unless given, and must be static; the output must have
one value per class (or one value: regression).  The class type, if given,
must name a type, stored as PostgreSQL writes it.
"""

import json

import numpy as np

from pgdl.engine import catalog, onnx_check, registry, scoring
from pgdl.errors import PgdlError
from pgdl.privilege import acting_role, user_path


def _error(message, hint=None):
    return PgdlError(message, hint=hint, sqlstate="22023")


def _class_type(class_values, given):
    """The type of the class column, as format_type writes it."""
    if given is None:
        try:
            [int(v) for v in class_values]
            return "integer"
        except ValueError:
            return "text"
    found = catalog.type_name(given, user_path)
    if found is None:
        raise _error('class_type "%s" is not a type' % given,
                     hint="Name a type, such as integer or text.")
    return found


def import_onnx(model, data, class_values=None, input_shape=None, features=None,
                normalizing_const=None, feature_mean=None, feature_std=None, softmax=False,
                class_type=None):
    if not model:
        raise PgdlError("a model needs a name", sqlstate="23502")
    if data is None:
        raise PgdlError("no ONNX bytes given", sqlstate="22004")
    data = bytes(data)
    proto = onnx_check.parse(data)
    onnx_check.check_self_contained(proto)
    onnx_check.check_bounded(proto)
    session = scoring.session(data)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise _error("the ONNX model has %d inputs; pgdl scores models with one" % len(inputs))
    declared = list(inputs[0].shape[1:])
    if input_shape is None:
        if not all(isinstance(d, int) and d > 0 for d in declared):
            raise _error("the ONNX input %s has shape %s, not fixed past the batch dimension"
                         % (inputs[0].name, inputs[0].shape), hint="Give input_shape.")
        input_shape = declared
    input_shape = [int(d) for d in input_shape]
    if not input_shape or any(d < 1 for d in input_shape):
        raise _error("input_shape %s must have dimensions of at least 1" % input_shape)
    if len(declared) != len(input_shape) or any(
            isinstance(d, int) and d != s for d, s in zip(declared, input_shape)):
        raise _error("input_shape %s does not fit the ONNX input %s of shape %s"
                     % (input_shape, inputs[0].name, inputs[0].shape))
    if inputs[0].type != "tensor(float)":
        raise _error("the ONNX input %s is %s; pgdl feeds float32" % (inputs[0].name,
                                                                     inputs[0].type))

    size = int(np.prod(input_shape))
    if (feature_mean is None) != (feature_std is None):
        raise _error("give feature_mean and feature_std together")
    if feature_mean is not None and not len(feature_mean) == len(feature_std) == size:
        raise _error("feature_mean and feature_std need %d values each, one per feature" % size)
    if normalizing_const is not None and normalizing_const <= 0:
        raise _error("normalizing_const must be positive, not %r" % normalizing_const)
    normalization = ("standard" if feature_mean is not None else
                     "constant" if normalizing_const is not None else "none")
    if features is not None and len(features) > 1 and len(features) != size:
        raise _error("%d feature columns for an input of %d values" % (len(features), size))

    # one batch of zeros tells the output size, whatever the output's declared shape
    probe = scoring.Scorer(scoring.Model(model, 0, None, "", "regression", None, None,
                                         input_shape, "none"), data)
    width = probe.run(np.zeros((1, size), np.float32)).shape[1]
    if class_values is not None:
        if len(class_values) != width:
            raise _error("%d class values for a model with %d outputs of %s"
                         % (len(class_values), width, outputs[0].name))
        task = "classification"
        class_type = _class_type(class_values, class_type)
    elif width != 1:
        raise _error("the model has %d outputs: give its class_values, or import a regression "
                     "model with one output" % width)
    else:
        task, class_type = "regression", None

    parameters = int(sum(np.prod(t.dims) for t in proto.graph.initializer))
    owner = acting_role()
    version = registry.next_version(owner, model)
    registry.add_version({
        "owner": owner, "model": model, "version": version, "origin": "import", "task": task,
        "class_values": class_values, "class_type": class_type, "feature_shape": input_shape,
        "features": features, "normalization": normalization,
        "normalizing_const": normalizing_const, "feature_mean": feature_mean,
        "feature_std": feature_std, "apply_softmax": bool(softmax), "parameters": parameters,
        "metrics": json.dumps({"producer": proto.producer_name or None})}, data)
    return version
