"""pgdl's numpy losses and metrics give Keras's figures."""

import numpy as np
import pytest

from pgdl.engine import measures
from pgdl.engine.keras_loader import keras

RNG = np.random.default_rng(7)
PROBABILITIES = RNG.dirichlet(np.ones(5), size=64).astype(np.float32)
ONE_HOT = np.eye(5, dtype=np.float32)[RNG.integers(0, 5, 64)]
VALUES = RNG.normal(size=(64, 3)).astype(np.float32)
TARGETS = RNG.normal(size=(64, 3)).astype(np.float32)
BINARY = RNG.integers(0, 2, size=(64, 3)).astype(np.float32)
UNIT = RNG.uniform(0.01, 0.99, size=(64, 3)).astype(np.float32)


def cases():
    for name in measures.LOSSES:
        if name in ("binary_crossentropy", "hinge", "squared_hinge"):
            yield name, BINARY, UNIT
        elif name in ("categorical_crossentropy", "kl_divergence", "kld", "categorical_hinge",
                      "sparse_categorical_crossentropy"):
            yield name, ONE_HOT, PROBABILITIES
        elif name in ("poisson", "mean_squared_logarithmic_error", "msle"):
            yield name, np.abs(TARGETS), np.abs(VALUES)
        else:
            yield name, TARGETS, VALUES


@pytest.mark.parametrize("name, y_true, y_pred", list(cases()))
def test_each_loss_matches_keras(name, y_true, y_pred):
    k = keras()
    if name == "sparse_categorical_crossentropy":
        expected = k.losses.sparse_categorical_crossentropy(y_true.argmax(axis=1), y_pred)
    else:
        expected = k.losses.get(name)(y_true, y_pred)
    assert measures.loss(name, y_true, y_pred) == pytest.approx(
        float(np.mean(np.asarray(expected))), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", ["categorical_accuracy", "top_k_categorical_accuracy",
                                  "binary_accuracy", "root_mean_squared_error",
                                  "cosine_similarity", "mean_absolute_error"])
def test_each_metric_matches_keras(name):
    k = keras()
    y_true, y_pred = (ONE_HOT, PROBABILITIES) if "categorical" in name else \
        (BINARY, UNIT) if name == "binary_accuracy" else (TARGETS, VALUES)
    found = k.metrics.get(name)
    found = found() if isinstance(found, type) else found
    if hasattr(found, "update_state"):
        found.update_state(y_true, y_pred)
        expected = float(found.result())
    else:
        expected = float(np.mean(np.asarray(found(y_true, y_pred))))
    assert measures.metric(name, y_true, y_pred, "classification") == pytest.approx(
        expected, rel=1e-5, abs=1e-6)


def test_unknown_names_are_left_to_keras():
    assert measures.loss("my_loss", ONE_HOT, PROBABILITIES) is None
    assert measures.metric({"class_name": "AUC"}, ONE_HOT, PROBABILITIES, "classification") \
        is None
