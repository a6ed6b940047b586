"""Training over a distributed packed table: the coordinator drives, the
workers train.

Every iteration is one segment task (pgdl.distributed.tasks): the
coordinator sends the weights (average: the merged weights; easgd: the
center; ensemble: the start, once), each segment trains its epochs on its
own buffers in a backend on its worker and answers with its local weights,
and the coordinator merges them with the same kernels as on one server.
A worker backend builds the model and reads its buffers on the first
iteration and keeps them for the job (JOBS), with the job's spec, so from
the second iteration on only weights travel.

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
    driver = _Driver(job, spec, packed, validation, ids, anchors)
    weights = weight_vectors.flatten(start)
    center = weights.copy() if spec["method"] == "easgd" else None
    for iteration in range(1, spec["iterations"] + 1):
        weights, center = driver.iterate(iteration, weights, center)
    if spec["method"] == "average" and validation:
        driver.validate_last(weights)
    rows = driver.history()
    rows.extend(segment_training.final_rows(*driver.final(weights, center)))
    driver.call("end", b"")
    return rows, driver.traffic


class _Driver:
    """The coordinator's side of one job: the calls, and what they answered."""

    def __init__(self, job, spec, packed, validation, ids, anchors):
        self.spec, self.ids, self.anchors = spec, ids, anchors
        self.table, self.output = packed["qualified"], packed["output"]
        self.header = {"token": "%s-%s" % (job, uuid.uuid4().hex), "spec": spec,
                       "validation": validation["qualified"] if validation else None,
                       "positions": {str(s): p for p, s in enumerate(ids)},
                       "count": len(ids)}
        self.names = ["loss"] + list(spec["metric_names"])
        self.traffic = tasks.Traffic()
        self.steps = {}         # (iteration, position) -> a segment's answer
        self.seconds = {}       # iteration -> seconds on the coordinator
        self.local = None       # the segments' weights after the last iteration
        self.iteration = 0

    def call(self, op, blob, only_first=False):
        """{position: (answer, bytes)} of every segment (or the first)."""
        ids = self.ids[:1] if only_first else self.ids
        header = dict(self.header, iteration=self.iteration)
        if op != "train" or self.iteration > 1:
            del header["spec"]      # the segments keep it from the first iteration
        answers = tasks.run(self.table, op, header, blob,
                            [self.anchors[s] for s in ids],
                            self.traffic if op == "train" else None)
        lost = [s for s in ids if s not in answers]
        if lost:
            raise PgdlError("segment %d of %s did not answer" % (self.ids.index(lost[0]),
                                                               self.output),
                            sqlstate="XX000")
        return {self.ids.index(s): a for s, a in answers.items()}

    def iterate(self, iteration, weights, center):
        """One iteration: (merged weights, EASGD center) after it."""
        method, count = self.spec["method"], len(self.ids)
        self.iteration = iteration
        started = time.perf_counter()
        sent = weights if method == "average" else center if method == "easgd" else \
            (weights if iteration == 1 else np.empty(0, np.float32))
        answers = self.call("train", np.ascontiguousarray(sent, "<f4").tobytes())
        for position, (answer, _) in answers.items():
            self.steps[iteration, position] = answer
            if answer.get("validated") is not None:
                self.steps[iteration - 1, position]["validation"] = answer["validation"]
        self.local = [np.frombuffer(answers[p][1], "<f4").copy() for p in range(count)]
        if method == "average":
            weights = kernels.weighted_average(
                self.local, [self.steps[iteration, p]["rows"] for p in range(count)])
        elif method == "easgd":
            kernels.easgd_step(center, [v.copy() for v in self.local],
                               float(self.spec["moving_rate"]))
        self.seconds[iteration] = time.perf_counter() - started
        segment_training.report_iteration(
            iteration, self.spec["iterations"],
            _merged(iteration, self.steps, count, self.names, self.seconds[iteration],
                    with_validation=False),
            self.seconds[iteration])
        return weights, center

    def validate_last(self, weights):
        """Validation of the final merged weights (average)."""
        self.iteration += 1
        last = self.spec["iterations"]
        for position, (answer, _) in self.call("validate",
                                               weights.astype("<f4").tobytes()).items():
            self.steps[last, position]["validation"] = answer["validation"]

    def history(self):
        rows = []
        for iteration in range(1, self.spec["iterations"] + 1):
            for position in range(len(self.ids)):
                step = self.steps[iteration, position]
                rows.append(segment_training.segment_history_row(
                    position, iteration, step["rows"], step["results"],
                    step.get("validation") or {}, self.names, step["seconds"]))
            rows.append(_merged(iteration, self.steps, len(self.ids), self.names,
                                self.seconds[iteration]))
        for row in rows:
            row.update(tensor=None, data=None)
        return rows

    def final(self, weights, center):
        """(final tensors, an ensemble's architecture or None)."""
        shapes = self.spec["tensor_shapes"]
        if self.spec["method"] == "ensemble":
            answer, blob = self.call("ensemble", np.concatenate(self.local).tobytes(),
                                     only_first=True)[0]
            return (weight_vectors.unflatten(np.frombuffer(blob, "<f4"),
                                             answer["tensor_shapes"]), answer["keras_json"])
        return weight_vectors.unflatten(center if self.spec["method"] == "easgd" else weights,
                                        shapes), None


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

class _Kept:
    """What a worker backend keeps of a job's segment between iterations."""

    def __init__(self, model, iteration):
        self.model = model
        self.iteration = iteration


JOBS = {}       # (token, segment id) -> _Kept, in the worker backend running the task


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
    iteration = header["iteration"]
    position = header["positions"][str(segment)]
    key = (header["token"], segment)
    job = JOBS.get(key)
    answer = {}
    if job is None:
        spec = header.get("spec")
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
        job = JOBS[key] = _Kept(segment_training.SegmentModel(
            spec, start, x, y, xv, yv, position, header["count"],
            where=" on node %s" % place.node), 0)
    elif job.iteration != iteration - 1:
        raise PgdlError("segment %d on node %s is at iteration %d, not %d"
                        % (position, place.node, job.iteration, iteration - 1), sqlstate="55000")
    spec = job.model.spec
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
    spec = job.model.spec
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
