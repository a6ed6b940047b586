"""What a client does with pgdl's rows."""

import numpy as np


def stored_model(conn, model, version):
    """A stored model version as a Keras model, read from pgdl.models and
    pgdl.model_weights over a psycopg connection."""
    from pgdl.engine.keras_loader import keras
    keras_json, = conn.execute("SELECT keras_json FROM pgdl.models WHERE model = %s AND "
                               "version = %s", (model, version)).fetchone()
    net = keras().models.model_from_json(keras_json)
    rows = conn.execute("SELECT shape, data FROM pgdl.model_weights WHERE model = %s AND "
                        "version = %s ORDER BY tensor, chunk", (model, version)).fetchall()
    net.set_weights([np.frombuffer(data, "<f4").reshape(shape) for shape, data in rows])
    return net
