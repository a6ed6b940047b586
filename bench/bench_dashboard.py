"""What a BI dashboard meets: latencies of its queries, joins on the key, and
the memory a pooled connection keeps after scoring.

  latency      median ms of dashboard queries on a predictions table of 1 and
               of 2 segments (digits_test, 449 rows; big, 100,000 rows);
               the ratio 2 segments / 1 segment (1.0: the same plan)
  keyed join   ms of SELECT ... FROM preds JOIN big USING (id) WHERE s.id < 100
               against the same 99 rows asked directly, and a full scan
  memory       RSS and private MB of a backend: fresh, after scoring 4,000
               rows, after pgdl.evaluate; the baseline is a backend that
               imports TensorFlow (what evaluation loaded before)

Prints tables, then one JSON line with the ratios and figures.
"""

import json
import os
import statistics
import sys
import time

import psycopg

from pgdl_tools.cluster import throwaway
from timing import print_table

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from helpers import import_digit_model  # noqa: E402

RUNS = 7
DASHBOARD = {
    "limit 10": "SELECT id FROM {t} LIMIT 10",
    "group by class": "SELECT class, count(*) FROM {t} GROUP BY class",
    "one key": "SELECT class, probability FROM {t} WHERE id = 5",
    "three keys": "SELECT class FROM {t} WHERE id IN (1, 2, 3)",
}


def median_ms(conn, sql, runs=RUNS):
    conn.execute(sql).fetchall()        # warm: plans, sessions
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def memory_mb(pid):
    """(RSS, private) MB of a process, from /proc (None where unreadable)."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as rollup:
            fields = dict(line.split(":", 1) for line in rollup if ":" in line)
    except OSError:
        return None, None
    kb = {name: int(value.split()[0]) for name, value in fields.items()
          if value.strip().endswith("kB")}
    return (round(kb["Rss"] / 1024, 1),
            round((kb["Private_Clean"] + kb["Private_Dirty"]) / 1024, 1))


def prepare(conn):
    conn.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits', test_fraction => 0.25)")
    import_digit_model(conn, "m")
    conn.execute("CREATE TABLE big AS SELECT g AS id, d.image, d.label "
                 "FROM generate_series(1, 100000) g "
                 "JOIN digits_test d ON d.id = (SELECT min(id) FROM digits_test)")
    conn.execute("ALTER TABLE big ADD PRIMARY KEY (id)")
    conn.execute("ANALYZE big")
    for source in ("digits_test", "big"):
        for segments in (1, 2):
            conn.execute("SELECT pgdl.create_predictions_table(%s, 'm', %s, segments => %s)",
                         ("%s_%d" % (source, segments), source, segments))
    conn.execute("CREATE FUNCTION load_tensorflow() RETURNS void LANGUAGE plpython3u AS $$\n"
                 "import os, sys\n"
                 "sys.path.insert(0, plpy.execute('SELECT pgdl.site_packages() AS p')[0]['p'])\n"
                 "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
                 "import tensorflow\n$$")


def latencies(conn):
    rows, figures = [], {}
    for source in ("digits_test", "big"):
        for name, sql in DASHBOARD.items():
            one = median_ms(conn, sql.format(t=source + "_1"))
            two = median_ms(conn, sql.format(t=source + "_2"))
            figures["%s %s" % (source, name)] = round(two / one, 2)
            rows.append([source, name, "%.2f" % one, "%.2f" % two, "%.2f" % (two / one)])
    print_table(["source", "query", "1 seg ms", "2 seg ms", "ratio"], rows)
    return figures


def keyed_join(conn):
    joined = median_ms(conn, "SELECT p.id, p.class, s.label FROM big_1 p JOIN big s USING (id) "
                             "WHERE s.id < 100")
    direct = median_ms(conn, "SELECT id, class FROM big_1 WHERE id < 100")
    full = median_ms(conn, "SELECT count(class) FROM big_1", runs=3)
    print_table(["case", "ms"], [["join, s.id < 100", "%.1f" % joined],
                                 ["direct, id < 100", "%.1f" % direct],
                                 ["full scan of 100,000", "%.1f" % full]])
    return {"join_vs_direct": round(joined / direct, 2), "join_vs_full": round(joined / full, 3)}


def memory(cluster):
    rows, figures = [], {}
    with psycopg.connect(cluster.uri("bench"), autocommit=True) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        conn.execute("SELECT 1").fetchall()
        rows.append(["fresh"] + list(memory_mb(pid)))
        conn.execute("SELECT count(class) FROM big_1 WHERE id <= 4000").fetchall()
        rows.append(["scored 4,000 rows"] + list(memory_mb(pid)))
        conn.execute("SELECT * FROM pgdl.evaluate('m', 'digits_test', label => 'label')")
        rows.append(["after pgdl.evaluate"] + list(memory_mb(pid)))
        figures["evaluated_rss_mb"], figures["evaluated_private_mb"] = memory_mb(pid)
    with psycopg.connect(cluster.uri("bench"), autocommit=True) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        conn.execute("SELECT load_tensorflow()")
        rows.append(["baseline: imports TensorFlow"] + list(memory_mb(pid)))
        figures["tensorflow_rss_mb"], figures["tensorflow_private_mb"] = memory_mb(pid)
    print_table(["backend", "RSS MB", "private MB"], rows)
    return figures


def main():
    with throwaway() as cluster:
        cluster.create_database("bench")
        with psycopg.connect(cluster.uri("bench"), autocommit=True) as conn:
            prepare(conn)
            print("== dashboard latency")
            ratios = latencies(conn)
            print("== keyed join over a 100,000-row source")
            join = keyed_join(conn)
        print("== memory of a pooled connection")
        mem = memory(cluster)
    print(json.dumps({"two_vs_one_segment": ratios, "keyed_join": join, "memory": mem}))


if __name__ == "__main__":
    main()
