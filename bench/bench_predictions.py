"""Scoring throughput of predictions tables, against baselines in the same run.

Two models, each on its own rows:
  cnn  a small CNN on 32x32x3 uint8 images stored as bytea
  mlp  a small MLP on tabular rows of 16 float8 columns

and for each, the same model and rows three ways:
  (a) fdw      SELECT key, class, probability FROM a predictions table, every
               row fetched by a psycopg client; serial and over 2 segments
  (b) ort      ONNX Runtime on the same inputs, already normalized in a numpy
               array in this process, in batches of the table's batch size
               (the ceiling: no database at all)
  (c) client   a psycopg client fetches the feature rows and scores them
               itself with ONNX Runtime (what users do without pgdl)

and, server-side on the tabular MLP (nothing fetched by the client):
  (d) count    SELECT count(class) over the predictions table, 1 segment,
               against its limit: the time SQL takes to read the same rows
               and form their feature arrays (what the scan's source query
               does), plus raw ONNX Runtime on them
  (e) star     every column formed (count of the whole row, as SELECT *
               forms them; arrays included) against count(probability),
               over WIDE rows of the same table shape
  (f) rss      the scanning backend's resident memory after WIDE rows and
               after WIDE / 5 (it must not grow with the rows scanned)

Models are Keras models exported to ONNX and brought in with
pgdl.import_onnx; their weights are random (throughput does not depend on
them).  Prints a table, then one JSON line with the ratios (throughput of
one way over another; above 1 means faster).
"""

import json
import sys

import numpy as np
import onnxruntime
import psycopg

from pgdl_tools.cluster import throwaway
from pgdl.engine import onnx_export
from pgdl.engine.keras_loader import keras

from timing import best_of, print_table

IMAGES = 20_000
TABULAR = 200_000
WIDE = 1_000_000
COLUMNS = 16
BATCH = 4096
REPEATS = 3


def cnn():
    k = keras()
    return k.Sequential([k.Input((32, 32, 3)),
                         k.layers.Conv2D(16, 3, activation="relu"), k.layers.MaxPooling2D(),
                         k.layers.Conv2D(32, 3, activation="relu"), k.layers.MaxPooling2D(),
                         k.layers.Flatten(), k.layers.Dense(10, activation="softmax")])


def mlp():
    k = keras()
    return k.Sequential([k.Input((COLUMNS,)), k.layers.Dense(64, activation="relu"),
                         k.layers.Dense(64, activation="relu"),
                         k.layers.Dense(3, activation="softmax")])


def load(conn, rng):
    """The two tables, and their features as the normalized float32 arrays the models take."""
    images = rng.integers(0, 256, (IMAGES, 32 * 32 * 3), dtype=np.uint8)
    conn.execute("CREATE TABLE images (id int PRIMARY KEY, image bytea NOT NULL)")
    with conn.cursor().copy("COPY images FROM STDIN") as copy:
        for i, image in enumerate(images):
            copy.write_row((i, image.tobytes()))
    tabular = rng.normal(size=(TABULAR, COLUMNS))
    names = ["f%d" % i for i in range(COLUMNS)]
    conn.execute("CREATE TABLE tabular (id int PRIMARY KEY, %s)"
                 % ", ".join("%s float8" % n for n in names))
    with conn.cursor().copy("COPY tabular FROM STDIN") as copy:
        for i, row in enumerate(tabular):
            copy.write_row([i] + row.tolist())
    conn.execute("VACUUM ANALYZE images")
    conn.execute("VACUUM ANALYZE tabular")
    return {"cnn": (images.reshape(-1, 32, 32, 3).astype(np.float32) / np.float32(255)),
            "mlp": tabular.astype(np.float32)}, names


def import_model(conn, name, model, input_shape, **arguments):
    data = onnx_export.export(model, input_shape)
    named = "".join(", %s => %%s" % key for key in arguments)
    conn.execute("SELECT pgdl.import_onnx(%%s, %%s%s)" % named,
                 [name, data] + list(arguments.values()))
    return data


def batch_scorer(data):
    """Scores an array in batches of BATCH with ONNX Runtime: class and probability."""
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def score(x):
        for start in range(0, len(x), BATCH):
            out = session.run(None, {name: x[start:start + BATCH]})[0]
            out.argmax(axis=1), out.max(axis=1)
    return score


def ort_ceiling(data, x):
    score = batch_scorer(data)
    return lambda: score(x)


def client(conn, data, sql, to_inputs):
    """Fetch the feature rows with psycopg and score them here."""
    score = batch_scorer(data)

    def fetch_and_score():
        rows = conn.execute(sql).fetchall()
        score(to_inputs(rows))
        return [r[0] for r in rows]
    return fetch_and_score


def fetch(conn, sql):
    return lambda: conn.execute(sql).fetchall()


def backend_rss(conn):
    """Resident memory of the connection's backend, in MB."""
    pid = conn.info.backend_pid
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def server_side(conn, results, data, x, names):
    """(d), (e) and (f) on the tabular MLP."""
    features = "array_send(ARRAY[%s]::float8[])" % ", ".join("%s::float8" % n for n in names)
    results[("mlp", "d_count_class")] = best_of(
        lambda: conn.execute("SELECT count(class) FROM mlp_1").fetchone(), REPEATS)
    results[("mlp", "d_sql_source")] = best_of(
        lambda: conn.execute("SELECT count(%s) FROM tabular" % features).fetchone(), REPEATS)
    results[("mlp", "d_ort")] = best_of(ort_ceiling(data, x), REPEATS)
    conn.execute("CREATE TABLE wide AS SELECT g AS id, %s FROM generate_series(1, %d) g"
                 % (", ".join("random() AS %s" % n for n in names), WIDE))
    conn.execute("ALTER TABLE wide ADD PRIMARY KEY (id)")
    conn.execute("VACUUM ANALYZE wide")
    conn.execute("SELECT pgdl.create_predictions_table('wide_mlp', 'mlp', 'wide', "
                 "batch_size => %s)", (BATCH,))
    # count(w), a whole-row reference: every column is formed, as for SELECT *
    star = "SELECT count(w) FROM wide_mlp w WHERE id <= %d"
    results[("mlp", "e_select_star")] = best_of(
        lambda: conn.execute(star % WIDE).fetchone(), 1)
    results[("mlp", "e_select_probability")] = best_of(
        lambda: conn.execute("SELECT count(probability) FROM wide_mlp WHERE id <= %d"
                             % WIDE).fetchone(), 1)
    with psycopg.connect(conn.info.dsn, autocommit=True) as fresh:
        fresh.execute(star % (WIDE // 5)).fetchone()
        fifth = backend_rss(fresh)
        fresh.execute(star % WIDE).fetchone()
        whole = backend_rss(fresh)
    return fifth, whole


def main():
    rng = np.random.default_rng(0)
    results = {}
    with throwaway() as cluster:
        cluster.create_database("bench")
        with psycopg.connect(cluster.uri("bench"), autocommit=True) as conn:
            arrays, names = load(conn, rng)
            cnn_onnx = import_model(conn, "cnn", cnn(), [32, 32, 3],
                                    class_values=[str(i) for i in range(10)],
                                    features=["image"], normalizing_const=255)
            mlp_onnx = import_model(conn, "mlp", mlp(), [COLUMNS],
                                    class_values=["a", "b", "c"], features=names)
            for model, source in (("cnn", "images"), ("mlp", "tabular")):
                for segments in (1, 2):
                    conn.execute("SELECT pgdl.create_predictions_table(%s, %s, %s, "
                                 "segments => %s, batch_size => %s)",
                                 ("%s_%d" % (model, segments), model, source, segments, BATCH))

            def image_inputs(rows):
                raw = np.frombuffer(b"".join(r[1] for r in rows), np.uint8)
                return raw.reshape(-1, 32, 32, 3).astype(np.float32) / np.float32(255)

            def tabular_inputs(rows):
                return np.array([r[1:] for r in rows], dtype=np.float32)

            cases = {
                ("cnn", "a_fdw_serial"): fetch(conn, "SELECT id, class, probability FROM cnn_1"),
                ("cnn", "a_fdw_2seg"): fetch(conn, "SELECT id, class, probability FROM cnn_2"),
                ("cnn", "b_ort"): ort_ceiling(cnn_onnx, arrays["cnn"]),
                ("cnn", "c_client"): client(conn, cnn_onnx, "SELECT id, image FROM images",
                                            image_inputs),
                ("mlp", "a_fdw_serial"): fetch(conn, "SELECT id, class, probability FROM mlp_1"),
                ("mlp", "a_fdw_2seg"): fetch(conn, "SELECT id, class, probability FROM mlp_2"),
                ("mlp", "b_ort"): ort_ceiling(mlp_onnx, arrays["mlp"]),
                ("mlp", "c_client"): client(conn, mlp_onnx, "SELECT id, %s FROM tabular"
                                            % ", ".join(names), tabular_inputs),
            }
            for key, function in cases.items():
                results[key] = best_of(function, REPEATS)
            rss_fifth, rss_whole = server_side(conn, results, mlp_onnx, arrays["mlp"], names)

    table = []
    for (model, case), seconds in results.items():
        rows = IMAGES if model == "cnn" else (WIDE if case.startswith("e_") else TABULAR)
        table.append((model, case, "%.3f" % seconds, "%.0f" % (rows / seconds)))
    print_table(("model", "case", "best s", "rows/s"), table)
    print("backend RSS after every column of %d rows: %.0f MB; over %d rows: %.0f MB"
          % (WIDE // 5, rss_fifth, WIDE, rss_whole))
    ratios = {}
    for model in ("cnn", "mlp"):
        for fdw in ("a_fdw_serial", "a_fdw_2seg"):
            for baseline in ("b_ort", "c_client"):
                ratios["%s_%s_vs_%s" % (model, fdw[2:], baseline[2:])] = round(
                    results[(model, baseline)] / results[(model, fdw)], 3)
    limit = results[("mlp", "d_sql_source")] + results[("mlp", "d_ort")]
    ratios["mlp_count_class_vs_limit"] = round(limit / results[("mlp", "d_count_class")], 3)
    ratios["mlp_select_star_vs_probability"] = round(
        results[("mlp", "e_select_probability")] / results[("mlp", "e_select_star")], 3)
    ratios["rss_whole_vs_fifth"] = round(rss_whole / rss_fifth, 3)
    print(json.dumps({"bench": "predictions", "images": IMAGES, "tabular_rows": TABULAR,
                      "wide_rows": WIDE, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
