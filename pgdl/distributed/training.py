"""Training over a distributed packed table: the coordinator drives, the
workers train.

Every iteration is one segment task (pgdl.distributed.tasks): the
coordinator sends the weights (average: the merged weights; easgd: the
center; ensemble: the start, once), each segment trains its epochs on its
own buffers in a backend on its worker and answers with its local weights,
and the coordinator merges them with the same kernels as on one server.
A worker backend builds the model and reads its buffers on the first
iteration and keeps them for the job (worker.JOBS), so only weights travel.

Metrics are those of one server: for `average`, validation runs on the
merged weights, which a segment only has at its next call, so it reports
iteration t's validation with iteration t + 1 (and a last call validates
the final weights).
"""

import time
import uuid

import numpy as np

from pgdl import kernels, server
from pgdl.distributed import layout, tasks
from pgdl.engine import keras_loader, segment as segment_training
from pgdl.engine import weights as weight_vectors
from pgdl.errors import PgdlError
from pgdl.privilege import privileged


def _anchors(packed):
    """One buffer per segment, in segment order: where each segment's task runs."""
    rows = server.plpy.execute("SELECT segment, min(buffer_id) AS anchor FROM %s "
                               "WHERE buffer_id >= 0 GROUP BY segment ORDER BY segment"
                               % packed["qualified"])
    return {r["segment"]: r["anchor"] for r in rows}


def run(job, spec, start, packed, validation, segments):
    """Trains job `job` on the workers; returns the rows that
    pgdl_internal.training_segments returns on one server (history rows,
    then the final tensors) and the bytes the iterations moved (Traffic)."""
    ids = list(packed["segment_ids"])
    if segments != len(ids):
        raise PgdlError("%s is packed for %d segments on Citus workers, not %d"
                        % (packed["output"], len(ids), segments),
                        hint="Leave segments NULL, or pack again with segments => %d."
                        % segments, sqlstate="22023")
    with privileged():
        layout.check_nodes()
    column = layout.distribution_column(packed["output_oid"])
    if column != "segment":
        raise PgdlError("packed table %s is %s, not by segment as it was packed"
                        % (packed["output"], "distributed by column %s" % column if column
                           else "no longer distributed"),
                        hint="Pack it again with pgdl.preprocess.", sqlstate="55000")
    anchors = _anchors(packed)
    missing = [s for s in ids if s not in anchors]
    if missing:
        raise PgdlError("segment %d of %s has no buffers" % (ids.index(missing[0]),
                                                            packed["output"]),
                        sqlstate="22023")
    method, count = spec["method"], len(ids)
    header = {"token": "%s-%s" % (job, uuid.uuid4().hex), "spec": spec,
              "validation": validation["qualified"] if validation else None,
              "positions": {str(s): p for p, s in enumerate(ids)}, "count": count}
    table, every = packed["qualified"], [anchors[s] for s in ids]
    traffic = tasks.Traffic()
    weights = weight_vectors.flatten(start)
    center = weights.copy() if method == "easgd" else None
    names = ["loss"] + list(spec["metric_names"])
    steps = {}          # (iteration, position) -> answer header
    seconds = {}
    local = None

    def call(op, iteration, blob, where=None):
        answers = tasks.run(table, op, dict(header, iteration=iteration), blob,
                            where or every, traffic if op == "train" else None)
        expected = set(ids) if where is None else {ids[0]}
        if set(answers) != expected:
            lost = sorted(expected - set(answers))
            raise PgdlError("segment %d of %s did not answer" % (ids.index(lost[0]),
                                                               packed["output"]),
                            sqlstate="XX000")
        return {ids.index(s): a for s, a in answers.items()}

    for iteration in range(1, spec["iterations"] + 1):
        started = time.perf_counter()
        blob = weights if method == "average" else center if method == "easgd" else \
            (weights if iteration == 1 else np.empty(0, np.float32))
        answers = call("train", iteration, np.ascontiguousarray(blob, "<f4").tobytes())
        for position, (answer, _) in answers.items():
            steps[iteration, position] = answer
            if answer.get("validated") is not None:
                steps[iteration - 1, position]["validation"] = answer["validation"]
        local = [np.frombuffer(answers[p][1], "<f4").copy() for p in range(count)]
        if method == "average":
            weights = kernels.weighted_average(local, [steps[iteration, p]["rows"]
                                                       for p in range(count)])
        elif method == "easgd":
            kernels.easgd_step(center, [v.copy() for v in local], float(spec["moving_rate"]))
        seconds[iteration] = time.perf_counter() - started
        segment_training.report_iteration(
            iteration, spec["iterations"],
            _merged(iteration, steps, count, names, seconds[iteration], with_validation=False),
            seconds[iteration])

    last = spec["iterations"]
    if method == "average" and validation:
        for position, (answer, _) in call("validate", last + 1,
                                          weights.astype("<f4").tobytes()).items():
            steps[last, position]["validation"] = answer["validation"]

    rows = []
    for iteration in range(1, last + 1):
        for position in range(count):
            step = steps[iteration, position]
            rows.append(segment_training.segment_history_row(
                position, iteration, step["rows"], step["results"],
                step.get("validation") or {}, names, step["seconds"]))
        rows.append(_merged(iteration, steps, count, names, seconds[iteration]))

    shapes = spec["tensor_shapes"]
    ensemble_json = None
    if method == "ensemble":
        first = {ids[0]: anchors[ids[0]]}
        answer, blob = call("ensemble", last + 1, np.concatenate(local).tobytes(),
                            where=list(first.values()))[0]
        ensemble_json, shapes = answer["keras_json"], answer["tensor_shapes"]
        final = weight_vectors.unflatten(np.frombuffer(blob, "<f4"), shapes)
    elif method == "easgd":
        final = weight_vectors.unflatten(center, shapes)
    else:
        final = weight_vectors.unflatten(weights, shapes)
    call("end", last + 1, b"")
    for row in rows:
        row.update(tensor=None, data=None)
    rows.extend(segment_training.final_rows(final, ensemble_json))
    return rows, traffic


def _merged(iteration, steps, count, names, seconds, with_validation=True):
    totals = None
    for position in range(count):
        step = steps[iteration, position]
        validation = step.get("validation") if with_validation else None
        vector = np.asarray(
            segment_training.metrics_vector(step["rows"], step["results"], names)
            + segment_training.metrics_vector(step["validation_rows"] if validation else 0,
                                              validation or {}, names))
        totals = vector if totals is None else totals + vector
    return segment_training.merged_history_row(iteration, [float(v) for v in totals], names,
                                               seconds)


# --- on the worker -----------------------------------------------------------

class _Job:
    def __init__(self, model, iteration):
        self.model = model
        self.iteration = iteration


JOBS = {}       # (token, segment id) -> _Job, in the worker backend running the task


def _buffers(shard, validation_shard, segment):
    plpy = server.plpy
    parts = ["SELECT 0 AS part, features, labels FROM %s WHERE segment = %d AND buffer_id >= 0 "
             "ORDER BY buffer_id" % (shard, segment)]
    if validation_shard:
        parts.append("SELECT 1, features, labels FROM %s WHERE segment = %d AND buffer_id >= 0"
                     % (validation_shard, segment))
    found = plpy.execute(" UNION ALL ".join("(%s)" % p for p in parts))
    return {name: [r[name] for r in found] for name in ("part", "features", "labels")}


def train_step(place, segment, header, blob):
    """One iteration of one segment, on its worker: the answer header and the
    local weights after training."""
    spec, iteration = header["spec"], header["iteration"]
    position = header["positions"][str(segment)]
    key = (header["token"], segment)
    job = JOBS.get(key)
    answer = {}
    if job is None:
        if iteration != 1:
            raise PgdlError("segment %d on node %s lost its model after iteration %d"
                            % (position, place.node, iteration - 1),
                            hint="Citus ran the task in a new connection; train again.",
                            sqlstate="55000")
        for other in [k for k in JOBS if k[0] != header["token"]]:
            del JOBS[other]
        validation_shard = place.colocated(header["validation"], segment) \
            if header["validation"] else None
        rows = _buffers(place.shard, validation_shard, segment)
        x, y = segment_training.stack_buffers(rows, 0, spec)
        xv, yv = segment_training.stack_buffers(rows, 1, spec)
        keras_loader.choose_gpu(position)
        start = weight_vectors.unflatten(np.frombuffer(blob, "<f4"), spec["tensor_shapes"])
        job = JOBS[key] = _Job(segment_training.SegmentModel(
            spec, start, x, y, xv, yv, position, header["count"],
            where=" on node %s" % place.node), 0)
    elif job.iteration != iteration - 1:
        raise PgdlError("segment %d on node %s is at iteration %d, not %d"
                        % (position, place.node, job.iteration, iteration - 1), sqlstate="55000")
    model, method = job.model, spec["method"]
    if method == "average" and iteration > 1:
        model.set_weights(np.frombuffer(blob, "<f4"))
        if model.xv is not None:
            answer["validated"] = iteration - 1
            answer["validation"] = _plain(model.validate())
    started = time.perf_counter()
    results = model.fit(iteration)
    local = model.weights()
    if method == "easgd":
        moved = local.copy()
        kernels.easgd_step(np.frombuffer(blob, "<f4").copy(), [moved],
                           float(spec["moving_rate"]))
        model.set_weights(moved)
    answer.update(rows=len(model.x), results=_plain(results),
                  seconds=time.perf_counter() - started,
                  validation_rows=0 if model.xv is None else len(model.xv))
    if method != "average" and model.xv is not None:
        answer["validation"] = _plain(model.validate())
    job.iteration = iteration
    return answer, local.astype("<f4").tobytes()


def validate_step(place, segment, header, blob):
    job = JOBS.get((header["token"], segment))
    if job is None:
        raise PgdlError("segment on node %s lost its model" % place.node, sqlstate="55000")
    job.model.set_weights(np.frombuffer(blob, "<f4"))
    return {"validation": _plain(job.model.validate())}, b""


def ensemble_step(place, segment, header, blob):
    job = JOBS.get((header["token"], segment))
    if job is None:
        raise PgdlError("segment on node %s lost its model" % place.node, sqlstate="55000")
    spec = header["spec"]
    members = np.frombuffer(blob, "<f4").reshape(header["count"], -1)
    ensemble = job.model.ensemble([weight_vectors.unflatten(m, spec["tensor_shapes"])
                                   for m in members])
    final = ensemble.get_weights()
    return ({"keras_json": ensemble.to_json(), "tensor_shapes": [list(a.shape) for a in final]},
            weight_vectors.flatten(final).astype("<f4").tobytes())


def end_step(place, segment, header, blob):
    JOBS.pop((header["token"], segment), None)
    return {}, b""


def _plain(results):
    return {name: float(value) for name, value in results.items()}
