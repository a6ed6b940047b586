"""A Keras model as ONNX bytes, for predictions with ONNX Runtime."""

import os
import tempfile
import warnings

import numpy as np


def export(model, input_shape):
    """The model as an ONNX file's bytes (the model is called once first,
    as Keras's exporter needs)."""
    model.predict(np.zeros([1] + list(input_shape), dtype=np.float32), verbose=0)
    with tempfile.TemporaryDirectory(prefix="pgdl-onnx-") as folder:
        path = os.path.join(folder, "model.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.export(path, format="onnx", verbose=False)
        with open(path, "rb") as handle:
            return handle.read()
