"""pgdl_internal.segment_task on a Citus worker: the task a coordinator's
pushed-down query calls once per segment (pgdl.distributed.tasks).

`shard` is the tableoid of the packed table's shard that holds the
segment, so a task reads the buffers of its own node; the payload comes
from pgdl's own code on the coordinator (the function is executable by
no ordinary role), and is checked all the same.  Citus runs the task as
the superuser the coordinator's privileged section connected as; the task
itself acts as the role named in the payload, the one the coordinator
acts for, so a shard the role owns can run nothing as the superuser.
"""

from pgdl import server, sql
from pgdl.distributed import packing, scoring, tasks, training
from pgdl.errors import PgdlError
from pgdl.privilege import acting_as

STEPS = {
    "train": training.train_step,
    "validate": training.validate_step,
    "ensemble": training.ensemble_step,
    "end": training.end_step,
    "stats": packing.stats_step,
    "pack": packing.pack_step,
    "score": scoring.score_step,
    "evaluate": scoring.evaluate_step,
}


class Place:
    """Where a task runs: its shard (SQL name, and its table's name alone)
    and this node ('host:port')."""

    def __init__(self, shard):
        plpy = server.plpy
        found = plpy.execute("SELECT %d::regclass::text AS name, relname FROM pg_catalog.pg_class "
                             "WHERE oid = %d" % (int(shard), int(shard)))[0]
        self.shard, self.relname = found["name"], found["relname"]
        rows = plpy.execute(
            "SELECT nodename || ':' || nodeport AS node FROM pg_catalog.pg_dist_node "
            "WHERE groupid = (SELECT groupid FROM pg_catalog.pg_dist_local_group) "
            "AND noderole = 'primary'")
        self.node = rows[0]["node"] if rows else "port %s" % plpy.execute(
            "SELECT current_setting('port') AS port")[0]["port"]

    def colocated(self, table, segment):
        """The shard of distributed table `table` that holds `segment`."""
        shard = server.plpy.execute(
            "SELECT pg_catalog.get_shard_id_for_distribution_column(%s::regclass, %d) AS id"
            % (sql.literal(table), int(segment)))[0]["id"]
        return self.shard_of(table, shard)

    def shard_of(self, table, shard):
        """The SQL name of shard `shard` of `table`, which must be on this node."""
        plpy = server.plpy
        name = plpy.execute("SELECT pg_catalog.shard_name(%s::regclass, %d, false) AS name"
                            % (sql.literal(table), int(shard)))[0]["name"]
        if not plpy.execute("SELECT to_regclass(%s) IS NOT NULL AS here"
                            % sql.literal(name))[0]["here"]:
            raise PgdlError("shard %d of %s is not on node %s" % (shard, table, self.node),
                            hint="Pack validation data with validation_of, so that its "
                                 "segments go where the training segments are.",
                            sqlstate="55000")
        return name


def task(shard, segment, op, payload):
    step = STEPS.get(op)
    if step is None:
        raise PgdlError('unknown segment task "%s"' % op, sqlstate="22023")
    header, blob = tasks.decode(payload)
    with acting_as(header["role"]):
        answered = step(Place(shard), segment, header, blob)
    if answered is None:            # a call that is not this shard's task
        return None
    return tasks.encode(*answered)
