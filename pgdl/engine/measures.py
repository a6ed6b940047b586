"""Keras losses and metrics in numpy, for evaluating from ONNX outputs.

pgdl.evaluate scores with ONNX Runtime; measuring the result with Keras
would load TensorFlow into the backend (hundreds of MB that stay for the
connection's life).  These follow the definitions of Keras 3 (epsilon 1e-7,
probabilities clipped as Keras clips them), so the figures match
model.evaluate.  A loss or metric not here is measured by Keras itself.

y_true and y_pred are float arrays of shape (rows, outputs); for
classification y_true is one-hot.  Each loss gives one value per row.
"""

import numpy as np

EPSILON = 1e-7


def _clipped(p, low=EPSILON, high=1 - EPSILON):
    return np.clip(p, low, high)


def categorical_crossentropy(t, p):
    p = p / np.sum(p, axis=-1, keepdims=True)
    return -np.sum(t * np.log(_clipped(p)), axis=-1)


def binary_crossentropy(t, p):
    p = _clipped(p)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)


def mean_squared_error(t, p):
    return np.mean(np.square(t - p), axis=-1)


def mean_absolute_error(t, p):
    return np.mean(np.abs(t - p), axis=-1)


def mean_absolute_percentage_error(t, p):
    return 100.0 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPSILON)), axis=-1)


def mean_squared_logarithmic_error(t, p):
    return np.mean(np.square(np.log(np.maximum(p, EPSILON) + 1)
                             - np.log(np.maximum(t, EPSILON) + 1)), axis=-1)


def huber(t, p, delta=1.0):
    error = np.abs(p - t)
    return np.mean(np.where(error <= delta, 0.5 * np.square(error),
                            delta * error - 0.5 * delta ** 2), axis=-1)


def log_cosh(t, p):
    x = p - t
    return np.mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0), axis=-1)


def kl_divergence(t, p):
    t, p = _clipped(t, EPSILON, 1), _clipped(p, EPSILON, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def poisson(t, p):
    return np.mean(p - t * np.log(p + EPSILON), axis=-1)


def _signed(t):
    """Hinge losses take labels in {-1, 1}; {0, 1} labels are converted."""
    return np.where(t == 0, -1.0, t) if np.all((t == 0) | (t == 1)) else t


def hinge(t, p):
    return np.mean(np.maximum(1.0 - _signed(t) * p, 0.0), axis=-1)


def squared_hinge(t, p):
    return np.mean(np.square(np.maximum(1.0 - _signed(t) * p, 0.0)), axis=-1)


def categorical_hinge(t, p):
    positive = np.sum(t * p, axis=-1)
    negative = np.max((1.0 - t) * p, axis=-1)
    return np.maximum(negative - positive + 1.0, 0.0)


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def cosine_similarity(t, p):
    return -np.sum(_unit(t) * _unit(p), axis=-1)


LOSSES = {
    "categorical_crossentropy": categorical_crossentropy,
    # pgdl hands evaluation one-hot labels, so the sparse loss is the same figure
    "sparse_categorical_crossentropy": categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mape": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error,
    "huber": huber, "log_cosh": log_cosh,
    "kl_divergence": kl_divergence, "kld": kl_divergence,
    "poisson": poisson, "hinge": hinge, "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge, "cosine_similarity": cosine_similarity,
}


def _accuracy(t, p, task):
    if task == "classification":
        return float(np.mean(t.argmax(axis=1) == p.argmax(axis=1)))
    return float(np.mean(t == p))


def _top_k(t, p, k=5):
    best = np.argsort(-p, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(best == t.argmax(axis=1)[:, None], axis=1)))


METRICS = {
    "accuracy": _accuracy, "acc": _accuracy,
    "categorical_accuracy": lambda t, p, task: _accuracy(t, p, "classification"),
    "sparse_categorical_accuracy": lambda t, p, task: _accuracy(t, p, "classification"),
    "binary_accuracy": lambda t, p, task: float(np.mean(t == (p > 0.5))),
    "top_k_categorical_accuracy": lambda t, p, task: _top_k(t, p),
    "root_mean_squared_error": lambda t, p, task: float(np.sqrt(np.mean(np.square(t - p)))),
    "cosine_similarity": lambda t, p, task: float(np.mean(-cosine_similarity(t, p))),
}


def loss(name, y_true, y_pred):
    """The mean loss, or None when numpy does not know this loss."""
    function = LOSSES.get(name) if isinstance(name, str) else None
    if function is None:
        return None
    return float(np.mean(function(y_true.astype(np.float64), y_pred.astype(np.float64))))


def metric(name, y_true, y_pred, task):
    """A metric's value over all rows, or None when numpy does not know it."""
    if not isinstance(name, str):
        return None
    function = METRICS.get(name)
    if function is not None:
        return function(y_true, y_pred, task)
    if name in LOSSES:              # every loss is also a metric of the same name
        return loss(name, y_true, y_pred)
    return None
