"""pgdl.preprocess of a distributed source: packed where the rows are.

The coordinator checks the request and reads what must be known before
packing (a first row for the shape, the row count, the distinct labels),
as the user.  It then creates the packed table distributed by `segment`,
places the segments on the nodes that hold source rows (layout), gives
each segment the source shards of its node, and runs two segment tasks:
`stats` (only for normalization standard: feature sums to merge) and
`pack`, in which every segment reads its own node's shards and writes its
buffers into its own shard of the packed table.  No source row leaves its
node.  Until the tasks have run, each segment is held by a placeholder
row (buffer_id < 0) that the tasks are addressed through.
"""

import numpy as np

from pgdl import server, sql
from pgdl.data import packing
from pgdl.data import preprocess as local
from pgdl.data.source import Source, feature_expression
from pgdl.distributed import layout, tasks
from pgdl.errors import PgdlError
from pgdl.kernels import PackError
from pgdl.privilege import privileged


def _first_and_counts(request):
    plpy = server.plpy
    table = request.table
    key = sql.ident(table.key) if table.key else "ctid::text"
    first = plpy.execute("SELECT %s AS key, %s AS features FROM %s WHERE %s IS NOT NULL LIMIT 1"
                         % (key, request.expression, table.qualified, request.expression))
    if not first:
        raise PgdlError("table %s has no rows to pack" % table.name, sqlstate="22023")
    total = plpy.execute("SELECT count(*) AS n FROM %s" % table.qualified)[0]["n"]
    labels = [r["label"] for r in plpy.execute("SELECT DISTINCT %s AS label FROM %s"
                                               % (sql.ident(request.label), table.qualified))]
    if None in labels:
        where = plpy.execute("SELECT %s AS key FROM %s WHERE %s IS NULL LIMIT 1"
                             % (key, table.qualified, sql.ident(request.label)))[0]["key"]
        raise PgdlError('NULL in column "%s" of table %s %s'
                        % (request.label, table.name, table.where(where)), sqlstate="22004")
    return first[0], total, labels


def _segments(request, target, shards):
    """[(segment id, node, [source shard ids])] in segment order."""
    nodes = list(dict.fromkeys(node for _, node in shards))
    training = request.training
    if training:
        if not training.get("segment_ids"):
            raise PgdlError("packed table %s is not on the Citus workers; %s is"
                            % (request.validation_of, request.table.name),
                            hint="Pack both from distributed tables, or both from local ones.",
                            sqlstate="22023")
        placed = list(zip(training["segment_ids"], training["segment_nodes"]))
        away = [n for n in nodes if n not in training["segment_nodes"]]
        if away:
            raise PgdlError("node %s holds rows of %s but no segment of %s"
                            % (away[0], request.table.name, request.validation_of),
                            sqlstate="22023")
    else:
        wanted = layout.spread(request.segments or len(nodes), nodes)
        placed = layout.place_segments(target, wanted)
    given = {segment: [] for segment, _ in placed}
    for node in nodes:
        mine = [segment for segment, where in placed if where == node]
        for i, shard in enumerate(s for s, where in shards if where == node):
            given[mine[i % len(mine)]].append(shard)
    return [(segment, node, given[segment]) for segment, node in placed]


def preprocess(request):
    plpy = server.plpy
    table = request.table
    with privileged():
        layout.check_nodes()
    if plpy.execute("SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = %d"
                    % table.oid)[0]["relrowsecurity"]:
        raise PgdlError("table %s has row security; pgdl packs distributed tables on the "
                        "workers, where it does not apply" % table.name, sqlstate="0A000")
    first, total, labels = _first_and_counts(request)
    shape, size = request.shape_of(first["features"], table.where(first["key"]))
    classes = request.classes(labels)
    if classes is not None:
        _, unknown = classes.indices(labels)
        if unknown is not None:
            raise request.unknown_label(labels[unknown])

    key_type = request.key_type()
    plpy.execute(local.create_table_sql(request.target, key_type, distributed=True))
    # pgdl.packed.output, read with pg_catalog alone on the path: qualified
    colocate = request.training and request.training.get("segment_ids") and \
        str(request.training["output"])
    with privileged():
        plpy.execute("SELECT pg_catalog.create_distributed_table(%s, 'segment', "
                     "colocate_with => %s)" % (sql.literal(request.target),
                                               sql.literal(colocate or "none")))
        segments = _segments(request, request.target, layout.shards(table.oid))
        count = len(segments)
        for position, (segment, _, _) in enumerate(segments):
            plpy.execute("INSERT INTO %s VALUES (%d, %d, 0, '', '', '{}')"
                         % (request.target, -1 - position, segment))
    header = {"source": table.qualified, "key": table.key, "features": request.features,
              "features_text": request.features_text, "label": request.label,
              "kind": request.kind, "shape": shape, "size": size, "task": request.task,
              "count": count, "key_type": key_type,
              "segments": {str(segment): {"position": position, "shards": shards}
                           for position, (segment, _, shards) in enumerate(segments)}}

    def standardize():
        sums = tasks.run(request.target, "stats", header)
        return packing.standardization_of(
            sum(a["rows"] for a, _ in sums.values()),
            np.sum([a["total"] for a, _ in sums.values()], axis=0),
            np.sum([a["squares"] for a, _ in sums.values()], axis=0))

    scaling = request.scaling(standardize)
    buffer_size = request.buffer_size or packing.default_buffer_size(total, count, size)
    header.update(
        classes=None if classes is None else [str(v) for v in classes.values],
        scaling={"kind": scaling.kind, "constant": scaling.constant,
                 "mean": None if scaling.mean is None else scaling.mean.tolist(),
                 "std": None if scaling.std is None else scaling.std.tolist()},
        buffer_size=buffer_size, seed=request.seed)
    packed = tasks.run(request.target, "pack", header)
    with privileged():
        plpy.execute("DELETE FROM %s WHERE buffer_id < 0" % request.target)
    by_position = [packed[segment][0] for segment, _, _ in segments]
    summary = local.summary_of(request, shape, scaling, classes, buffer_size, count,
                               [a["rows"] for a in by_position],
                               [a["buffers"] for a in by_position],
                               sum(a["rows"] for a in by_position))
    summary["segment_ids"] = [segment for segment, _, _ in segments]
    summary["segment_nodes"] = [node for _, node, _ in segments]
    return summary


# --- on the worker -----------------------------------------------------------

def _rows(place, header, segment):
    """(request, keys, features, labels) of this segment's source shards."""
    mine = header["segments"].get(str(segment))
    if mine is None:
        raise PgdlError("segment %d is not one of this packing's" % segment, sqlstate="22023")
    table = Source(header["source"], header["key"])
    expression, kind, _ = feature_expression(table, header["features"], header["shape"])
    request = local.Request(
        table, place.shard, header["features"], expression, kind, header["shape"],
        header["label"], table.column(header["label"], "label"), header["task"], None, None,
        None, None, header.get("classes"), None, header["count"], None, None,
        header["features_text"])
    keys, rows, labels = [], [], []
    for shard in mine["shards"]:
        name = place.shard_of(header["source"], shard)
        k, r, l = table.read(expression, header["label"], name)
        keys += k
        rows += r
        labels += l
    local.check_not_null(request, keys, rows, labels)
    if not rows:
        raise PgdlError("segment %d on node %s has no rows to pack"
                        % (mine["position"], place.node),
                        hint="Use fewer segments: at most as many per node as the source has "
                             "shards there.", sqlstate="22023")
    return request, mine["position"], keys, rows, labels


def stats_step(place, segment, header, blob):
    request, _, keys, rows, _ = _rows(place, header, segment)
    try:
        count, total, squares = packing.feature_sums(rows, request.kind, header["size"])
    except PackError as error:
        raise local.row_error(error, request.table, request.features_text, keys)
    return {"rows": count, "total": total.tolist(), "squares": squares.tolist()}, b""


def pack_step(place, segment, header, blob):
    request, position, keys, rows, labels = _rows(place, header, segment)
    scaling = header["scaling"]
    scaling = packing.Normalization(
        scaling["kind"], scaling["constant"],
        None if scaling["mean"] is None else np.asarray(scaling["mean"], np.float32),
        None if scaling["std"] is None else np.asarray(scaling["std"], np.float32))
    classes = request.classes(labels)
    label_values = local.label_array(request, classes, keys, labels)
    seed = header["seed"]
    buffers = packing.layout(len(rows), 1, header["buffer_size"],
                             None if seed is None else seed + position)
    insert = local.insert_plan(place.shard, header["key_type"])
    for index, (_, positions) in enumerate(buffers):
        local.write_buffer(insert, index * header["count"] + position, segment, request,
                           [rows[p] for p in positions], label_values[positions],
                           [keys[p] for p in positions], header["size"], scaling, classes)
    return {"rows": len(rows), "buffers": len(buffers)}, b""
