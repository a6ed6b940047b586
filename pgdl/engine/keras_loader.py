"""Keras 3, imported once per process with quiet defaults.

The backend follows KERAS_BACKEND (tensorflow unless set): Keras 3 also runs
on PyTorch or JAX, which matters on GPU machines without TensorFlow.
"""

import os

_keras = None


def keras():
    global _keras
    if _keras is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import keras as module
        _keras = module
    return _keras
