"""Scoring a hash-distributed source on the Citus workers that hold it.

A predictions scan, or pgdl.evaluate, over a table distributed by hash has
each worker score the shards it holds; only the answers travel (the
predicted columns, or for evaluate the model's outputs and the labels), not
the features.  Two queries do it:

1. anchors, as the querying role: a row of each shard that holds rows
   passing the scan's conditions,

       SELECT tableoid::regclass::text, min(ctid) FROM source WHERE ... GROUP BY 1

   which Citus runs on every shard at once, or on the shards that a
   condition on the distribution column picks.  Without conditions, a
   probe of each shard's first page comes first, and is enough when it
   finds a row in every shard.
2. tasks, in pgdl's privileged section: the anchor rows call the task,

       SELECT pgdl_internal.segment_task(tableoid, array_position($2, ctid), op, $1)
       FROM source WHERE ctid = ANY ($2) [AND the conditions on the distribution column]

   A ctid may be another shard's anchor too; a task runs only for its own
   shard's anchor and answers NULL otherwise.

The task acts as the querying role on the worker (pgdl.distributed.worker),
reads its shard with the scan's conditions and scores it with an ONNX
session that the backend keeps between queries: a backend without one
answers that it needs the model, and gets its ONNX bytes in a second
query.  The tasks run on one connection per worker
(citus.max_adaptive_executor_pool_size = 1), which Citus keeps between
statements, so that session stays warm; a worker scores its shards one
after the other, each with all of the worker's cores, and the coordinator
asks for one shard per worker at a time.
"""

import dataclasses
import json
import struct
import tempfile
from collections import OrderedDict

import numpy as np

from pgdl import server
from pgdl.data.source import Source
from pgdl.distributed import layout, tasks
from pgdl.engine import catalog, scored, scoring
from pgdl.errors import PgdlError
from pgdl.privilege import acting_role, privileged
from pgdl.sql import ident, literal

PROBE = "ctid < '(1,0)'::tid"
ANSWER_LIMIT = 512 << 20        # bytes of one shard's answer
SPOOL = 64 << 20               # bytes of answers a scan keeps in memory
_SIZE = struct.Struct("<Q")
MISSING = ("3F000", "42883")    # no schema pgdl_internal, no function: no pgdl there
_nodes_checked = None
_plans = OrderedDict()          # the task queries' prepared plans
TRIES = 3                       # anchor queries for shards whose anchor row went away


# -- the coordinator ------------------------------------------------------------

def scored_on_workers(oid):
    """Whether the rows of table `oid` are scored on the Citus workers: it is
    distributed by hash, and has no row security (the tasks read its shards,
    where no policy applies; the coordinator reads it through Citus then)."""
    if layout.distribution(oid) != "h":
        return False
    return not server.plpy.execute("SELECT relrowsecurity FROM pg_catalog.pg_class "
                                   "WHERE oid = %d" % int(oid))[0]["relrowsecurity"]


def shard_count(oid):
    return server.plpy.execute("SELECT count(*) AS n FROM pg_catalog.pg_dist_shard "
                               "WHERE logicalrelid = %d" % int(oid))[0]["n"]


def nodes_of(names):
    """{shard's table name: node 'host:port'}: Citus names a shard's table
    <name>_<shard id> (the name cut short and hashed when it is long)."""
    ids = {name: int(name.rsplit("_", 1)[-1]) for name in names}
    rows = server.plpy.execute(server.plpy.prepare(
        """SELECT p.shardid, n.nodename || ':' || n.nodeport AS node
           FROM pg_catalog.pg_dist_placement p
           JOIN pg_catalog.pg_dist_node n ON n.groupid = p.groupid AND n.noderole = 'primary'
           WHERE p.shardid = ANY ($1)""", ["int8[]"]), [list(ids.values())])
    found = {r["shardid"]: r["node"] for r in rows}
    return {name: found.get(shard, "?") for name, shard in ids.items()}


def routed(oid, values):
    """[(shard id, node)] of the shards that hold the distribution column values."""
    rows = server.plpy.execute(server.plpy.prepare(
        """SELECT DISTINCT s.id AS shardid, n.nodename || ':' || n.nodeport AS node
           FROM unnest($1::text[]) v,
           LATERAL (SELECT pg_catalog.get_shard_id_for_distribution_column(
               $2::oid::regclass, v) AS id) s
           JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.id
           JOIN pg_catalog.pg_dist_node n ON n.groupid = p.groupid AND n.noderole = 'primary'
           ORDER BY 1""", ["text[]", "oid"]), [[str(v) for v in values], int(oid)])
    return [(r["shardid"], r["node"]) for r in rows]


def _check_nodes():
    """Every node has this pgdl (layout.check_nodes), checked again when the
    nodes change."""
    global _nodes_checked
    nodes = server.plpy.execute(
        "SELECT string_agg(nodeid || ' ' || nodename || ':' || nodeport, ',' ORDER BY nodeid) "
        "AS nodes FROM pg_catalog.pg_dist_node WHERE isactive AND noderole = 'primary'"
    )[0]["nodes"]
    if nodes != _nodes_checked:
        with privileged():
            layout.check_nodes()
        _nodes_checked = nodes


def _anchor_rows(source, conditions):
    plpy = server.plpy
    rows = plpy.execute(
        "SELECT tableoid::regclass::text AS shard, pg_catalog.min(ctid)::text AS anchor "
        "FROM %s%s "
        "GROUP BY 1" % (source, (" WHERE " + " AND ".join(conditions)) if conditions else ""))
    return {relname(r["shard"]): r["anchor"] for r in rows}


def relname(qualified):
    """The table's name in a regclass's text ([schema.]name, quoted as needed)."""
    if not qualified.endswith('"'):
        return qualified.rsplit(".", 1)[-1]
    start = qualified.rfind('"', 0, len(qualified) - 1)
    while start > 0 and qualified[start - 1] == '"':      # a doubled quote inside
        start = qualified.rfind('"', 0, start - 1)
    return qualified[start + 1:-1].replace('""', '"')


def anchors(source, conditions, oid=None):
    """{shard's table name: ctid of a row of it that passes the conditions};
    oid: the table's, to probe first pages first (without conditions)."""
    if not conditions and oid is not None:
        found = _anchor_rows(source, [PROBE])
        if len(found) == shard_count(oid):
            return found
    return _anchor_rows(source, conditions)


def _rounds(found, where):
    """The anchored shards in rounds of at most one per node (where: their nodes)."""
    by_node = {}
    for relname in sorted(found):
        by_node.setdefault(where.get(relname, "?"), []).append(relname)
    rounds = []
    while any(by_node.values()):
        rounds.append({relname: found[relname] for relname in
                       (shards.pop(0) for shards in by_node.values() if shards)})
    return rounds


def _prepared(source, routing):
    """The task query's plan, prepared once per backend (each SQL statement
    run while Citus has a transaction open on the workers costs a savepoint
    there)."""
    plpy = server.plpy
    text = ("SELECT pgdl_internal.segment_task(tableoid, pg_catalog.array_position($2::tid[], "
            "ctid), $3, $1) AS result FROM %s WHERE %s"
            % (source, " AND ".join(["ctid = ANY ($2::tid[])"] + routing)))
    plan = _plans.get(text)
    if plan is None:
        with privileged():
            plan = plpy.prepare(text, ["bytea", "text[]", "text"])
        _plans[text] = plan
        while len(_plans) > 32:
            _plans.popitem(last=False)
    return plan


def _query(source, op, header, anchored, routing, blob):
    """{shard's table name: (answer header, blob)} of one query's tasks."""
    plpy = server.plpy
    ctids = sorted(set(anchored.values()))
    payload = tasks.encode(dict(header, anchors=anchored, ctids=ctids), blob)
    plan = _prepared(source, routing)
    # one connection per worker, which Citus keeps between statements (a
    # single task needs no setting)
    single = len(anchored) == 1
    with privileged():
        if not single:
            pool = plpy.execute(
                "SELECT pg_catalog.current_setting('citus.max_adaptive_executor_pool_size') "
                "AS size, pg_catalog.set_config('citus.max_adaptive_executor_pool_size', '1', "
                "true)")[0]["size"]
        try:
            try:
                rows = plpy.execute(plan, [payload, ctids, op])
            except plpy.SPIError as error:
                if getattr(error, "sqlstate", None) in MISSING:
                    raise PgdlError("a Citus worker cannot run pgdl's task: %s" % error,
                                    hint="Install pgdl on every node: CREATE EXTENSION pgdl "
                                         "there.", sqlstate="55000")
                if "modified in this transaction by a different user" in str(error):
                    # Citus runs the tasks on its connections as the superuser,
                    # which cannot see what the user's connections changed
                    raise PgdlError("%s changed in this transaction: pgdl cannot score it "
                                    "on the Citus workers before the change commits"
                                    % source, detail=str(error),
                                    hint="Commit the change first.", sqlstate="0A000")
                raise
        finally:
            if not single:
                plpy.execute("SELECT pg_catalog.set_config("
                             "'citus.max_adaptive_executor_pool_size', %s, true)"
                             % literal(pool))
    answers = {}
    for row in rows:
        if row["result"] is not None:
            answer, data = tasks.decode(row["result"])
            answers[answer["shard"]] = (answer, data)
    return answers


class Answers:
    """What the workers answered a scan: shards, their nodes, rows and bytes."""

    def __init__(self):
        self.shards, self.rows, self.bytes = 0, 0, 0
        self.nodes = set()

    def __str__(self):
        return "%d shard%s from %d worker%s, %d rows in %d bytes" % (
            self.shards, "" if self.shards == 1 else "s", len(self.nodes),
            "" if len(self.nodes) == 1 else "s", self.rows, self.bytes)


def run(plan, op, header, conditions, routing, onnx, counted=None):
    """Yields (shard's table name, answer header, blob) of every shard holding
    rows that pass the conditions, one round of shards at a time.  onnx():
    the model's ONNX bytes, for workers that have no session for it;
    counted: an Answers that counts them."""
    header = dict(header, role=acting_role())
    _check_nodes()
    found = anchors(plan["source"], conditions, plan["source_oid"])
    answered = set()
    for _ in range(TRIES):
        where = nodes_of(found)
        for anchored in _rounds(found, where):
            answers = _query(plan["source"], op, header, anchored, routing, b"")
            need = {name: anchored[name] for name, (answer, _) in answers.items()
                    if answer.get("need")}
            if need:
                answers.update(_query(plan["source"], op, header, need, routing, onnx()))
            for name, (answer, data) in answers.items():
                if answer.get("need"):
                    raise PgdlError("the task of shard %s did not keep the model" % name,
                                    sqlstate="XX000")
                answered.add(name)
                if counted is not None:
                    counted.shards += 1
                    counted.bytes += len(data)
                    counted.nodes.add(where.get(name, "?"))
                yield name, answer, data
        # a shard whose anchor row was deleted meanwhile: anchor it again
        missing = set(found) - answered
        if not missing:
            return
        found = {name: ctid for name, ctid in anchors(plan["source"], conditions).items()
                 if name in missing}
        if not found:
            return
    raise PgdlError("the rows of %s kept moving while pgdl scored them on the workers"
                    % plan["source_name"], hint="Run the query again.", sqlstate="40001")


def predictions(plan, meta, wanted, conditions, routing, options, answers=None):
    """Yields (rows, {column: values}) batches of the predictions of the
    source's rows, scored on the workers (answers: an Answers that counts
    what they answered)."""
    model = scoring.Model.from_row(meta)
    header = {"plan": _task_plan(plan), "meta": meta, "wanted": sorted(wanted),
              "options": options, "conditions": conditions}
    # Every task runs before the first row goes up: Citus may be sending
    # the rows on to the workers (a subplan's intermediate result) over
    # the very connections the tasks would use.  Answers wait in memory,
    # and in a temporary file past SPOOL bytes.
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
        for _, answer, data in run(plan, "score", header, conditions, routing,
                                   lambda: catalog.onnx_bytes(model.owner, model.model,
                                                              model.version), answers):
            if answers is not None:
                answers.rows += sum(rows for rows, _ in answer["batches"])
            blob = tasks.encode(answer, data)
            spool.write(_SIZE.pack(len(blob)))
            spool.write(blob)
        spool.seek(0)
        while True:
            size = spool.read(_SIZE.size)
            if not size:
                break
            yield from decode_batches(*tasks.decode(spool.read(_SIZE.unpack(size)[0])))


def _task_plan(plan):
    return {name: plan[name] for name in ("key", "features", "kind", "feature_names",
                                          "passed", "source", "source_name", "model")}


def outputs(plan, model, label, conditions=()):
    """(model outputs, labels: class indices or values) of every row of the
    source (scoring.Model `model`), scored on the workers; the rows of one
    shard in a row."""
    header = {"plan": _task_plan(plan), "meta": dataclasses.asdict(model), "label": label}
    found, labels = [], []
    for _, answer, data in run(plan, "evaluate", header, list(conditions), [],
                               lambda: catalog.onnx_bytes(model.owner, model.model,
                                                          model.version)):
        columns = decode_columns(answer["columns"], data)
        found.append(columns["outputs"])
        labels.append(columns["labels"])
    if not found:
        return np.zeros((0, 0), np.float32), np.zeros(0)
    return np.concatenate(found), np.concatenate(labels)


# -- the answer's format ----------------------------------------------------------

def encode_columns(columns):
    """({column: description}, bytes) of a batch's columns: numpy arrays as
    their bytes, coded columns as their codes' bytes and their values in
    JSON, any other list as JSON (values JSON cannot hold in their
    PostgreSQL text form, which C reads back with the column type's input)."""
    from pgdl.batches import Coded, text
    described, parts = [], []
    for name, values in columns.items():
        if isinstance(values, Coded):
            data = np.ascontiguousarray(values.codes, "<i4").tobytes()
            described.append([name, "coded", list(values.codes.shape), len(data),
                              json.loads(json.dumps(values.values, default=text))])
        elif isinstance(values, np.ndarray):
            data = np.ascontiguousarray(values).tobytes()
            described.append([name, values.dtype.str, list(values.shape), len(data)])
        else:
            data = json.dumps(list(values), default=text).encode()
            described.append([name, "json", None, len(data)])
        parts.append(data)
    return described, b"".join(parts)


def decode_columns(described, data):
    from pgdl.batches import Coded
    columns, at = {}, 0
    data = memoryview(data)
    for entry in described:
        name, form, shape, size = entry[:4]
        part = data[at:at + size]
        at += size
        if form == "json":
            columns[name] = json.loads(bytes(part))
        elif form == "coded":
            columns[name] = Coded(entry[4], np.frombuffer(part, "<i4").reshape(shape))
        else:
            columns[name] = np.frombuffer(part, dtype=form).reshape(shape)
    return columns


def decode_batches(answer, data):
    at = 0
    for rows, described in answer["batches"]:
        size = sum(column[3] for column in described)
        yield rows, decode_columns(described, memoryview(data)[at:at + size])
        at += size


# -- the worker ---------------------------------------------------------------------

def _mine(place, index, header):
    """Whether this call is the task of its shard: called for the shard's anchor row."""
    ctids = header["ctids"]
    return index is not None and 1 <= index <= len(ctids) and \
        header["anchors"].get(place.relname) == ctids[index - 1]


def _scorer(header, blob):
    """The backend's session of the model, built from blob if it came; None:
    the coordinator must send the model."""
    model = scoring.Model.from_row(header["meta"])
    key = model.key + (scoring.default_threads(1),)
    found = scoring.cached(key)
    if found is None and len(blob):
        found = scoring.remember(key, scoring.Scorer(model, bytes(blob), key[-1]))
    return found


def _shard_task(work):
    """A worker step from work(place, header, scorer) -> (answer, bytes):
    run for its shard's anchor only; without a session of the model and no
    model sent, it asks for the model."""
    def step(place, index, header, blob):
        if not _mine(place, index, header):
            return None
        scorer = _scorer(header, blob)
        if scorer is None:
            return {"shard": place.relname, "need": True}, b""
        answer, data = work(place, header, scorer)
        return dict(answer, shard=place.relname), data
    step.__doc__ = work.__doc__
    return step


@_shard_task
def score_step(place, header, scorer):
    """The predictions of this shard's rows that pass the conditions."""
    plan, wanted, options = header["plan"], set(header["wanted"]), header["options"]
    passed = "".join(", %s AS pass_%d" % (ident(name), i)
                     for i, name in enumerate(plan["passed"]))
    conditions = header["conditions"]
    cursor = server.plpy.cursor("SELECT %s AS key, %s AS features%s FROM %s%s" % (
        ident(plan["key"]), plan["features"], passed, place.shard,
        (" WHERE " + " AND ".join(conditions)) if conditions else ""))
    batches, parts, size = [], [], 0
    while True:
        rows = cursor.fetch(4096)
        if not rows:
            break
        keys = [r["key"] for r in rows]
        features = [r["features"] for r in rows]
        values = {name: [r["pass_%d" % i] for r in rows]
                  for i, name in enumerate(plan["passed"])}
        count, columns = scored.score(scorer, keys, features, values, plan, wanted,
                                      options).columns()
        described, data = encode_columns(columns)
        size += len(data)
        if size > ANSWER_LIMIT:
            raise PgdlError("the predictions of shard %s on node %s pass %d MB"
                            % (place.relname, place.node, ANSWER_LIMIT >> 20),
                            hint="Spread the source over more shards, or read fewer "
                                 "columns of the predictions.", sqlstate="54000")
        batches.append([count, described])
        parts.append(data)
    return {"batches": batches}, b"".join(parts)


@_shard_task
def evaluate_step(place, header, scorer):
    """The model's outputs on this shard's rows and their labels."""
    from pgdl.engine.evaluation import labelled_outputs
    plan = header["plan"]
    table = Source(plan["source"], None)
    y_pred, labels = labelled_outputs(table, scorer, plan["features"], plan["kind"],
                                      plan["feature_names"], header["label"], plan["model"],
                                      relation=place.shard)
    described, data = encode_columns({"outputs": y_pred, "labels": labels})
    return {"columns": described}, data
