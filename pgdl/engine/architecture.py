"""Model architectures: Keras 3 JSON, checked by building it."""

import json
from dataclasses import dataclass

import numpy as np

from pgdl.engine.keras_loader import keras
from pgdl.errors import PgdlError


@dataclass
class Description:
    input_shape: list        # without the batch dimension
    output_shape: list
    parameters: int
    tensors: list            # shapes of model.get_weights(), in order


# Keras rebuilds objects from the modules and classes a config names, and
# runs the Python code of Lambda layers.  pgdl admits Keras's own classes
# only, and no code: a config is data.
CODE_CLASSES = {"Lambda", "__lambda__", "function_type"}


def check_config(config, what):
    """Refuses a Keras config (parsed JSON) that names anything but Keras's
    own classes, or carries code."""
    if isinstance(config, dict):
        module = config.get("module")
        if module is not None and not (isinstance(module, str) and
                                       (module == "keras" or module.startswith("keras."))):
            raise PgdlError("%s names module %s; pgdl builds Keras's own classes only"
                            % (what, json.dumps(module)), sqlstate="22023")
        if config.get("registered_name") not in (None, config.get("class_name")):
            raise PgdlError("%s names registered object %s; pgdl builds Keras's own classes "
                            "only" % (what, json.dumps(config.get("registered_name"))),
                            sqlstate="22023")
        if config.get("class_name") in CODE_CLASSES:
            raise PgdlError("%s holds a %s, which carries Python code" %
                            (what, config.get("class_name")),
                            hint="Use Keras's own layers; pgdl runs no code from a model.",
                            sqlstate="22023")
        for value in config.values():
            check_config(value, what)
    elif isinstance(config, list):
        for value in config:
            check_config(value, what)


def build(name, keras_json):
    """The Keras model the JSON describes; a PgdlError naming the
    architecture when it does not parse, carries code, or does not build."""
    try:
        config = json.loads(keras_json)
    except (TypeError, ValueError) as exc:
        raise PgdlError('keras_json of architecture "%s" is not JSON: %s' % (name, exc),
                        hint="Store what model.to_json() returns.", sqlstate="22P02")
    check_config(config, 'keras_json of architecture "%s"' % name)
    models = keras().models     # its own errors say why Keras cannot load
    try:
        model = models.model_from_json(keras_json)
    except Exception as exc:    # Keras raises many kinds for a bad config
        raise PgdlError('keras_json of architecture "%s" does not build: %s: %s'
                        % (name, type(exc).__name__, exc),
                        hint="Store what model.to_json() returns.", sqlstate="22023")
    if not isinstance(model, keras().Model):
        raise PgdlError('keras_json of architecture "%s" describes a %s, not a model'
                        % (name, type(model).__name__), sqlstate="22023")
    if not model.built or not model.inputs:
        raise PgdlError('architecture "%s" has no input shape' % name,
                        hint="Start the model with keras.Input(shape=...).", sqlstate="22023")
    return model


def describe(model):
    def shape(tensor):
        return [int(d) for d in tensor.shape[1:]]
    return Description(input_shape=shape(model.inputs[0]), output_shape=shape(model.outputs[0]),
                       parameters=int(model.count_params()),
                       tensors=[list(w.shape) for w in model.get_weights()])


def unpack_weights(name, data, tensors):
    """Initial weights stored as one little-endian float32 blob, in
    get_weights() order, as arrays of the model's tensor shapes."""
    expected = sum(int(np.prod(shape)) for shape in tensors)
    if len(data) != 4 * expected:
        raise PgdlError('initial_weights of architecture "%s" hold %d bytes; the model has %d '
                        "parameters (%d bytes of float32)" % (name, len(data), expected,
                                                               4 * expected),
                        sqlstate="22023")
    flat = np.frombuffer(data, "<f4")
    arrays, start = [], 0
    for shape in tensors:
        size = int(np.prod(shape))
        arrays.append(flat[start:start + size].reshape(shape))
        start += size
    return arrays


def check(row):
    """The derived columns of a pgdl.architectures row, or a PgdlError."""
    model = build(row["name"], row["keras_json"])
    description = describe(model)
    if row.get("initial_weights") is not None:
        unpack_weights(row["name"], row["initial_weights"], description.tensors)
    return description
