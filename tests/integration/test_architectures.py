"""pgdl.architectures: Keras JSON checked by building it."""

import numpy as np
import psycopg
import pytest

from pgdl.engine.keras_loader import keras


def cnn_json():
    k = keras()
    return k.Sequential([k.Input((28, 28, 1)), k.layers.Conv2D(4, 3, activation="relu"),
                         k.layers.Flatten(), k.layers.Dense(10, activation="softmax")]).to_json()


def test_an_architecture_is_built_and_described(db):
    row = db.execute("""INSERT INTO pgdl.architectures (name, keras_json, description)
                        VALUES ('cnn', %s, 'a small CNN')
                        RETURNING input_shape, output_shape, parameters, owner""",
                     (cnn_json(),)).fetchone()
    assert row == ([28, 28, 1], [10], 4 * 9 + 4 + 26 * 26 * 4 * 10 + 10, "postgres")


def test_initial_weights_must_fit_the_model(db):
    parameters = 4 * 9 + 4 + 26 * 26 * 4 * 10 + 10
    weights = np.arange(parameters, dtype="<f4").tobytes()
    db.execute("INSERT INTO pgdl.architectures (name, keras_json, initial_weights) "
               "VALUES ('warm', %s, %s)", (cnn_json(), weights))
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        db.execute("INSERT INTO pgdl.architectures (name, keras_json, initial_weights) "
                   "VALUES ('short', %s, %s)", (cnn_json(), weights[:-4]))
    assert caught.value.diag.message_primary == (
        'initial_weights of architecture "short" hold %d bytes; the model has %d parameters '
        "(%d bytes of float32)" % (4 * parameters - 4, parameters, 4 * parameters))


@pytest.mark.parametrize("keras_json, error, message", [
    ("not json", psycopg.errors.InvalidTextRepresentation,
     'keras_json of architecture "bad" is not JSON'),
    ('{"class_name": "Sequential", "config": {"layers": [{"class_name": "NoSuchLayer"}]}}',
     psycopg.errors.InvalidParameterValue, 'keras_json of architecture "bad" does not build'),
])
def test_bad_architectures_are_refused(db, keras_json, error, message):
    with pytest.raises(error) as caught:
        db.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('bad', %s)",
                   (keras_json,))
    assert caught.value.diag.message_primary.startswith(message)
    assert caught.value.diag.message_hint == "Store what model.to_json() returns."


def test_a_model_without_an_input_shape_is_refused(db):
    k = keras()
    unbuilt = k.Sequential([k.layers.Dense(3)]).to_json()
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match='architecture "open" has no input shape'):
        db.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('open', %s)",
                   (unbuilt,))


def test_an_update_is_checked_too(db):
    db.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('cnn', %s)",
               (cnn_json(),))
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        db.execute("UPDATE pgdl.architectures SET keras_json = '{' WHERE name = 'cnn'")


def test_each_role_changes_only_its_own(db, plain):
    db.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('cnn', %s)",
               (cnn_json(),))
    db.commit()
    assert plain.execute("SELECT name FROM pgdl.architectures").fetchall() == [("cnn",)]
    assert plain.execute("DELETE FROM pgdl.architectures").rowcount == 0
    plain.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('mine', %s)",
                  (cnn_json(),))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        plain.execute("INSERT INTO pgdl.architectures (name, keras_json, owner) "
                      "VALUES ('forged', %s, 'postgres')", (cnn_json(),))
