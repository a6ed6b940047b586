"""Where a distributed table's rows live, and where a packed table's
segments go: Citus's catalogs, read on the coordinator.

Citus places a row by the hash of its distribution column, so segment ids
are chosen, not numbered: for each node that holds source rows, the first
integers whose shards lie on that node (in distinct shards where there
are enough), as evenly over the nodes as the segment count allows.
"""

from pgdl import server, sql
from pgdl.errors import PgdlError

SEARCH = 8192       # segment ids tried when placing segments


def citus_present():
    return bool(server.plpy.execute(
        "SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL AS citus")[0]["citus"])


def distribution(oid):
    """Citus's partition method of a table ('h' hash, 'n' reference, ...) or None."""
    if not citus_present():
        return None
    rows = server.plpy.execute("SELECT partmethod::text AS method FROM pg_catalog.pg_dist_partition "
                               "WHERE logicalrelid = %d" % int(oid))
    return rows[0]["method"] if rows else None


def distribution_column(oid):
    rows = server.plpy.execute(
        "SELECT column_to_column_name(logicalrelid, partkey) AS name "
        "FROM pg_catalog.pg_dist_partition WHERE logicalrelid = %d" % int(oid))
    return rows[0]["name"] if rows else None


def shards(oid):
    """[(shard id, node 'host:port')] of a distributed table, in shard order."""
    rows = server.plpy.execute(
        """SELECT s.shardid, n.nodename || ':' || n.nodeport AS node
           FROM pg_catalog.pg_dist_shard s
           JOIN pg_catalog.pg_dist_placement p USING (shardid)
           JOIN pg_catalog.pg_dist_node n ON n.groupid = p.groupid AND n.noderole = 'primary'
           WHERE s.logicalrelid = %d ORDER BY s.shardid""" % int(oid))
    return [(r["shardid"], r["node"]) for r in rows]


def check_nodes():
    """Every active node has this version of pgdl; else an error naming the node."""
    plpy = server.plpy
    mine = plpy.execute("SELECT extversion FROM pg_catalog.pg_extension "
                        "WHERE extname = 'pgdl'")[0]["extversion"]
    rows = plpy.execute(
        "SELECT nodename || ':' || nodeport AS node, success, result FROM "
        "pg_catalog.run_command_on_workers($$SELECT coalesce((SELECT extversion "
        "FROM pg_catalog.pg_extension WHERE extname = 'pgdl'), 'none')$$)")
    for row in rows:
        if not row["success"]:
            raise PgdlError("Citus node %s did not answer: %s" % (row["node"], row["result"]),
                            sqlstate="08006")
        if row["result"] != mine:
            raise PgdlError("Citus node %s has %s" % (
                row["node"], "no pgdl" if row["result"] == "none" else
                "pgdl %s, the coordinator %s" % (row["result"], mine)),
                hint="Install pgdl on every node: CREATE EXTENSION pgdl there, or "
                     "ALTER EXTENSION pgdl UPDATE.", sqlstate="55000")


def spread(segments, nodes):
    """How many segments each node gets: as even as possible, in node order."""
    if segments < len(nodes):
        raise PgdlError("%d segments for source rows on %d nodes" % (segments, len(nodes)),
                        hint="Use at least %d segments: one per node that holds rows."
                        % len(nodes), sqlstate="22023")
    return {node: segments // len(nodes) + (1 if i < segments % len(nodes) else 0)
            for i, node in enumerate(nodes)}


def place_segments(table, wanted):
    """Segment ids for distributed table `table` (by `segment`), `wanted[node]`
    on each node, as [(segment id, node)] in node order."""
    rows = server.plpy.execute(
        """SELECT v AS id, s.shardid, n.nodename || ':' || n.nodeport AS node
           FROM generate_series(0, %d) v,
                LATERAL (SELECT pg_catalog.get_shard_id_for_distribution_column(%s::regclass, v)
                         AS shardid) s
           JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid
           JOIN pg_catalog.pg_dist_node n ON n.groupid = p.groupid AND n.noderole = 'primary'
           ORDER BY v""" % (SEARCH - 1, sql.literal(table)))
    chosen = {node: [] for node in wanted}
    used = set()
    for distinct in (True, False):      # distinct shards first, then any
        for row in rows:
            node = row["node"]
            if node not in chosen or len(chosen[node]) >= wanted[node] or row["id"] in \
                    {i for i, _ in chosen[node]}:
                continue
            if distinct and row["shardid"] in used:
                continue
            chosen[node].append((row["id"], row["shardid"]))
            used.add(row["shardid"])
    placed = []
    for node in wanted:
        if len(chosen[node]) < wanted[node]:
            raise PgdlError("no room for %d segments on node %s" % (wanted[node], node),
                            hint="Give the packed table's colocation group shards on that "
                                 "node (citus.shard_count).", sqlstate="53000")
        placed.extend((segment, node) for segment, _ in sorted(chosen[node]))
    return placed
