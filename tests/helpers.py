"""Helpers the integration tests share: models, training jobs, rows as arrays."""

import json

import numpy as np

from pgdl.engine.keras_loader import keras

COMPILE = {"optimizer": "adam", "loss": "categorical_crossentropy", "metrics": ["accuracy"]}


def architecture(db, name, layers, input_shape):
    k = keras()
    model = k.Sequential([k.Input(input_shape)] + layers)
    db.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES (%s, %s)",
               (name, model.to_json()))
    return model


def train(db, model, architecture_name, source, iterations=2, segments=2, method="average",
          validation=None, compile_params=None, fit_params=None, **extra):
    columns = {"model": model, "architecture": architecture_name, "source": source,
               "validation_source": validation,
               "compile_params": json.dumps(compile_params or COMPILE),
               "fit_params": json.dumps(fit_params or {"batch_size": 32, "epochs": 1}),
               "iterations": iterations, "segments": segments, "method": method, "seed": 42}
    columns.update(extra)
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    cur = db.execute("INSERT INTO pgdl.model_training (%s) VALUES (%s) RETURNING *"
                     % (names, marks), list(columns.values()))
    return dict(zip([c.name for c in cur.description], cur.fetchone()))


def stored_model(db, model, version):
    keras_json, = db.execute("SELECT keras_json FROM pgdl.models WHERE model = %s AND "
                             "version = %s", (model, version)).fetchone()
    net = keras().models.model_from_json(keras_json)
    rows = db.execute("SELECT shape, data FROM pgdl.model_weights WHERE model = %s AND "
                      "version = %s ORDER BY tensor, chunk", (model, version)).fetchall()
    net.set_weights([np.frombuffer(data, "<f4").reshape(shape) for shape, data in rows])
    return net


def images(db, table, shape):
    rows = db.execute("SELECT image, label FROM %s ORDER BY id" % table).fetchall()
    x = np.stack([np.frombuffer(image, np.uint8) for image, _ in rows]).reshape([-1] + shape)
    return x.astype(np.float32), np.array([label for _, label in rows])
