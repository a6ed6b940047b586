"""Fixtures of the integration tests that train models."""

import pytest

from helpers import architecture
from pgdl.engine.keras_loader import keras


@pytest.fixture
def digits(db):
    """scikit-learn digits, packed into 2 segments, and a small dense net."""
    db.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits', test_fraction => 0.25)")
    db.execute("SELECT * FROM pgdl.preprocess('digits_train', 'digits_packed', 'image', "
               "'label', normalizing_const => 16, feature_shape => '{8,8,1}', segments => 2, "
               "buffer_size => 200, seed => 3)")
    db.execute("SELECT * FROM pgdl.preprocess('digits_test', 'digits_test_packed', 'image', "
               "'label', validation_of => 'digits_packed')")
    k = keras()
    architecture(db, "dense", [k.layers.Flatten(), k.layers.Dense(32, activation="relu"),
                               k.layers.Dense(10, activation="softmax")], (8, 8, 1))
    db.commit()
    return db
