"""The main job, end to end, on a throwaway PostgreSQL cluster.

`make demo` runs this: it starts a cluster, installs pgdl, and shows a
foreign table served by Python, split across two segments that run as the
parallel participants of one scan.
"""

import sys

import psycopg

from pgdl.cluster import throwaway


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


def run(conn):
    conn.execute("CREATE EXTENSION IF NOT EXISTS pgdl CASCADE")
    conn.execute("""
        CREATE FOREIGN TABLE numbers (value int8, segment int4, pid int4) SERVER pgdl
        OPTIONS (kind 'series', start '1', stop '1000000', segments '2')""")
    show(conn, "EXPLAIN (VERBOSE, COSTS OFF) SELECT segment, count(*) FROM numbers "
               "WHERE value > 10 GROUP BY segment", "the plan: a parallel scan of 2 segments")
    rows = show(conn, """
        SELECT segment, pid, count(*) AS rows, min(value), max(value)
        FROM numbers WHERE value > 10 GROUP BY segment, pid ORDER BY segment""",
                "each segment made its share of the rows, in its own process")
    total = sum(row[2] for row in rows)
    assert total == 999990, total
    print("\n%d rows, each exactly once, from %d processes" % (total, len({r[1] for r in rows})))


def main():
    with throwaway() as cluster:
        print("pgdl demo: a throwaway cluster at %s" % cluster.uri())
        cluster.create_database("pgdl_demo")
        with psycopg.connect(cluster.uri("pgdl_demo"), autocommit=True) as conn:
            run(conn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
