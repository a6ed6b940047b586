"""Rows per second through pgdl_fdw, against baselines in the same run.

  generate_series   PostgreSQL's own C set-returning function (the ceiling)
  plpython_srf      a PL/Python SRF yielding the same rows (the PL/Python floor
                    that any Python-served table pays)
  fdw_serial        a pgdl_fdw series table, one segment
  fdw_2seg/4seg     the same table split into 2 / 4 segments (parallel scan)

Prints a table, then one JSON line with the ratios.
"""

import json
import statistics
import sys
import time

import psycopg

from pgdl_tools.cluster import throwaway

ROWS = 1_000_000
REPEATS = 3


def best_seconds(conn, sql):
    conn.execute(sql).fetchall()   # warm: Python imports, plans
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main():
    with throwaway() as cluster:
        cluster.create_database("bench")
        with psycopg.connect(cluster.uri("bench"), autocommit=True) as conn:
            conn.execute("""
                CREATE FUNCTION srf(n int) RETURNS SETOF record LANGUAGE plpython3u AS $$
                return ((i, 0, 0) for i in range(1, n + 1)) $$""")
            for segments in (1, 2, 4):
                conn.execute("""CREATE FOREIGN TABLE series_%d (value int8, segment int4, pid int4)
                                SERVER pgdl OPTIONS (kind 'series', start '1', stop '%d',
                                segments '%d')""" % (segments, ROWS, segments))
            cases = {
                "generate_series": "SELECT count(*) FROM generate_series(1, %d)" % ROWS,
                "plpython_srf": "SELECT count(*) FROM srf(%d) AS t(v int8, s int4, p int4)" % ROWS,
                "fdw_serial": "SELECT count(value) FROM series_1",
                "fdw_2seg": "SELECT count(value) FROM series_2",
                "fdw_4seg": "SELECT count(value) FROM series_4",
            }
            results = {name: best_seconds(conn, sql) for name, sql in cases.items()}

    print("%-16s %12s %12s %14s" % ("case", "best s", "median s", "rows/s (best)"))
    for name, (best, median) in results.items():
        print("%-16s %12.3f %12.3f %14.0f" % (name, best, median, ROWS / best))
    best = {name: value[0] for name, value in results.items()}
    ratios = {
        "fdw_serial_vs_plpython_srf": round(best["plpython_srf"] / best["fdw_serial"], 3),
        "fdw_serial_vs_generate_series": round(best["generate_series"] / best["fdw_serial"], 3),
        "fdw_2seg_speedup": round(best["fdw_serial"] / best["fdw_2seg"], 3),
        "fdw_4seg_speedup": round(best["fdw_serial"] / best["fdw_4seg"], 3),
    }
    print("\nratios are throughput relative to the baseline (above 1: faster than it)")
    print(json.dumps({"bench": "fdw_rows", "rows": ROWS, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
