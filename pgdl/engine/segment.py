"""One segment of a training job: train on local buffers, merge in lockstep.

Each segment runs in its own process (a parallel participant), reads its
own packed buffers once, builds the model once, and then for every
iteration trains `epochs` passes, writes its weights into its exchange
slot, waits for the others, and merges:

  average   the row-weighted mean of all segments' weights (model averaging)
  easgd     elastic averaging SGD: each segment moves moving_rate of the way
            to a center, which moves moving_rate * sum(local - center)
  ensemble  no merge: segments train apart from the same start; at the end
            segment 0 joins the segment models (frozen) under a small
            combiner network trained on their concatenated outputs, one model

The first float64 values of a slot carry counts and metric sums, so the
merged model's metrics are row-weighted means over all segments.
"""

import json
import math
import time
from dataclasses import dataclass

import numpy as np

from pgdl import exchange, interrupts, kernels, server
from pgdl.engine import weights as weight_vectors
from pgdl.engine import keras_loader, segment_process
from pgdl.engine.keras_loader import keras
from pgdl.errors import PgdlError

HEADER = 64                 # float64 values at the start of each slot
HEADER_BYTES = 8 * HEADER


# The inputs of the jobs this process runs, by job: only the process that
# runs a job (the INSERT's, which is segment 0) has them; the other segments
# receive them through the exchange (receive_inputs).
RUNNING = {}


@dataclass
class JobInputs:
    spec: bytes             # JSON
    weights: bytes          # little-endian float32, get_weights() order
    segments: int
    parameters: int
    train: str              # the packed tables, schema-qualified SQL names
    validation: str = None
    grouped: bool = False   # packed with group_by: the buffers' groups come too
    hooks: object = None    # a model hopper job's: told of progress by segment 0


def exchange_bytes(parameters, spec_bytes=0):
    """Bytes per segment: a header, then room for the weights (or the spec)."""
    return HEADER_BYTES + max(4 * parameters, spec_bytes)


def receive_inputs(job, segment):
    """(spec, starting weights): segment 0 has them and hands them to the
    others through its exchange slot, first the spec, then the weights."""
    inputs = RUNNING.get(job) if segment.index == 0 else None
    if segment.index == 0 and inputs is None:
        raise PgdlError("training job %s is not running in this process" % job,
                        sqlstate="55000")
    slot = exchange.slot(0)
    header = slot[:HEADER_BYTES].view("<f8")
    if inputs is not None:
        header[0] = len(inputs.spec)
        slot[HEADER_BYTES:HEADER_BYTES + len(inputs.spec)] = np.frombuffer(inputs.spec, np.uint8)
    exchange.wait()
    size = int(header[0])
    spec = json.loads(bytes(slot[HEADER_BYTES:HEADER_BYTES + size]))
    exchange.wait()
    if spec["method"] == "hopper":
        return spec, _receive_starts(spec, inputs, slot)
    weights_bytes = 4 * int(spec["parameters"])
    if inputs is not None:
        slot[HEADER_BYTES:HEADER_BYTES + weights_bytes] = np.frombuffer(inputs.weights, np.uint8)
    exchange.wait()
    start = np.frombuffer(bytes(slot[HEADER_BYTES:HEADER_BYTES + weights_bytes]), "<f4")
    exchange.wait()
    return spec, weight_vectors.unflatten(start, spec["tensor_shapes"])


def _receive_starts(spec, inputs, slot):
    """A model hopper job's starting states, {config: flat float32}, one at a
    time through segment 0's slot: those of the configurations that go on
    from an earlier round; the others start from their seed."""
    starts, offset = {}, 0
    for config in spec["configs"]:
        size = config.get("start_size")
        if not size:
            continue
        if inputs is not None:
            slot[HEADER_BYTES:HEADER_BYTES + 4 * size] = np.frombuffer(
                inputs.weights[4 * offset:4 * (offset + size)], np.uint8)
        exchange.wait()
        starts[config["config"]] = np.frombuffer(
            bytes(slot[HEADER_BYTES:HEADER_BYTES + 4 * size]), "<f4")
        exchange.wait()
        offset += size
    return starts


def stack_buffers(rows, part, spec, group=None):
    """(features, labels) of the buffers of one part (0 training, 1
    validation), of one group where given."""
    chosen = [i for i, p in enumerate(rows["part"]) if p == part and
              (group is None or rows["group_value"][i] == group)]
    if not chosen:
        return None, None
    shape = spec["feature_shape"]
    x = np.frombuffer(b"".join(rows["features"][i] for i in chosen), "<f4").reshape([-1] + shape)
    labels = b"".join(rows["labels"][i] for i in chosen)
    if spec["task"] == "classification":
        y = kernels.one_hot(np.frombuffer(labels, "<i4"), spec["num_classes"])
    else:
        y = np.frombuffer(labels, "<f4").reshape(-1, 1)
    return x, y


def _callbacks():
    k = keras()

    class Guard(k.callbacks.Callback):
        """Lets a cancel stop training between batches."""

        def on_train_batch_end(self, batch, logs=None):
            interrupts.check()

    return [Guard()]


class _Slots:
    """This job's exchange slots: header values and the weight vector."""

    def __init__(self, count, parameters, mine):
        self.count = count
        self.parameters = parameters
        self.mine = mine

    def header(self, segment):
        return exchange.slot(segment)[:HEADER_BYTES].view("<f8")

    def weights(self, segment):
        return exchange.slot(segment)[HEADER_BYTES:HEADER_BYTES + 4 * self.parameters].view("<f4")

    def share(self, values):
        """Row-weighted sums of every segment's values (values[0] = rows)."""
        mine = self.header(self.mine)
        mine[:] = 0
        mine[:len(values)] = values
        exchange.wait()
        total = sum(self.header(k)[:len(values)].copy() for k in range(self.count))
        exchange.wait()
        return total


def metrics_vector(rows, results, names):
    return [rows] + [rows * float(results.get(name, float("nan"))) for name in names]


class SegmentModel:
    """A segment's model and buffers for one job, built once and trained for
    every iteration (here in lockstep, or one call per iteration on a Citus
    worker: pgdl.distributed.worker)."""

    def __init__(self, spec, start, x, y, xv, yv, index, count, where=""):
        k = keras()
        if spec.get("seed") is not None:
            k.utils.set_random_seed(int(spec["seed"]) + index)
        if x is None:
            raise PgdlError("segment %d of %d%s has no training buffers" % (index, count, where),
                            hint="Use at most as many segments as the packed table has buffers.",
                            sqlstate="22023")
        self.spec, self.index, self.where = spec, index, where
        self.x, self.y, self.xv, self.yv = x, y, xv, yv
        self.model = k.models.model_from_json(spec["keras_json"])
        self.model.compile(**spec["compile_params"])
        self.model.set_weights(start)
        self.names = ["loss"] + list(spec["metric_names"])

    def fit(self, iteration):
        """Trains `epochs` passes over the local buffers: the last epoch's results."""
        try:
            history = self.model.fit(self.x, self.y, verbose=0, callbacks=_callbacks(),
                                     **self.spec["fit_params"])
        except Exception as exc:
            if not _out_of_memory(exc):
                raise
            gpu = keras_loader.visible_gpu()
            raise PgdlError("segment %d%s ran out of %s memory in iteration %d"
                            % (self.index, self.where, "GPU %s" % gpu if gpu else "device",
                               iteration),
                            detail=str(exc).splitlines()[0][:500] if str(exc) else None,
                            hint="Use a smaller batch_size, fewer segments per GPU, or a "
                                 "smaller model.", sqlstate="53200")
        results = {name: values[-1] for name, values in history.history.items()}
        loss = float(results.get("loss", float("nan")))
        if not math.isfinite(loss):
            raise PgdlError("loss of segment %d%s became %s in iteration %d"
                            % (self.index, self.where, loss, iteration),
                            hint="Lower the learning rate, or check the data for extreme values.",
                            sqlstate="22P01")
        return results

    def weights(self):
        return weight_vectors.flatten(self.model.get_weights())

    def set_weights(self, flat):
        self.model.set_weights(weight_vectors.unflatten(flat, self.spec["tensor_shapes"]))

    def validate(self):
        if self.xv is None:
            return {}
        return self.model.evaluate(self.xv, self.yv, verbose=0, return_dict=True,
                                   batch_size=1024)

    def totals(self, results, validation):
        """Row-weighted metric sums, training then validation: what segments add up."""
        return (metrics_vector(len(self.x), results, self.names)
                + metrics_vector(0 if self.xv is None else len(self.xv), validation,
                                  self.names))

    def history_row(self, iteration, results, validation, seconds):
        return segment_history_row(self.index, iteration, len(self.x), results, validation,
                            self.names, seconds)

    def ensemble(self, members):
        """The members under a combiner fitted on this segment's buffers."""
        model = _ensemble(self.spec, members)
        model.fit(self.x, self.y, verbose=0, callbacks=_callbacks(), **self.spec["fit_params"])
        return model

    def final_weights(self):
        return self.model.get_weights()

    def ensemble_parts(self, members):
        """(architecture JSON, weights) of the ensemble of the members."""
        ensemble = self.ensemble(members)
        return ensemble.to_json(), ensemble.get_weights()

    def close(self):
        pass


def _out_of_memory(exc):
    """TensorFlow's ResourceExhaustedError, or a CUDA out-of-memory of another backend."""
    return type(exc).__name__ == "ResourceExhaustedError" or "out of memory" in str(exc).lower()


def report_iteration(iteration, iterations, merged_row, seconds):
    server.report(server.NOTICE, "iteration %d of %d: loss %.4f%s (%.1f s)" % (
        iteration, iterations, merged_row["loss"],
        "".join(", %s %.4f" % (n, v) for n, v in json.loads(merged_row["metrics"]).items()),
        seconds))


def final_rows(weights, ensemble_json=None):
    """The stored model as (tensor, data) rows of segment 0; an ensemble's
    architecture comes first as tensor -1."""
    if ensemble_json is not None:
        yield {"segment": 0, "tensor": -1, "data": ensemble_json.encode()}
    for tensor, array in enumerate(weights):
        yield {"segment": 0, "tensor": tensor,
               "data": np.ascontiguousarray(array, "<f4").tobytes()}


def train(job, rows, segment):
    """Yields history rows, then (segment 0) the final weights as
    (tensor, data) rows (final_rows)."""
    spec, start = receive_inputs(job, segment)
    if spec.get("groups"):
        yield from _train_groups(spec, start, rows, segment)
        return
    x, y = stack_buffers(rows, 0, spec)
    xv, yv = stack_buffers(rows, 1, spec)
    if spec["method"] == "hopper":
        from pgdl.engine import hopper
        keras_loader.choose_gpu(segment.index)
        inputs = RUNNING.get(job) if segment.index == 0 else None
        yield from hopper.train(spec, start, x, y, xv, yv, segment,
                                inputs.hooks if inputs else None)
        return
    local = _segment_model(spec, start, x, y, xv, yv, segment)
    try:
        yield from _train(spec, start, x, local, segment)
    finally:
        local.close()


def _segment_model(spec, start, x, y, xv, yv, segment, where=""):
    if segment_process.wanted():        # a worker (the segment server) or a GPU leader
        return segment_process.ProcessSegmentModel(spec, start, x, y, xv, yv, segment.index,
                                                   segment.count, where)
    keras_loader.choose_gpu(segment.index)
    return SegmentModel(spec, start, x, y, xv, yv, segment.index, segment.count, where)


def _train_groups(spec, start, rows, segment):
    """A model per group: every group whose buffers this segment holds
    trains here, on its own rows only, from the job's start, with no merge
    (a group's rows are all on one segment).  Yields each group's history
    and its final weights, every row with its group."""
    groups = sorted({g for g, part in zip(rows["group_value"] or [], rows["part"])
                     if part == 0})
    for number, group in enumerate(groups, 1):
        x, y = stack_buffers(rows, 0, spec, group)
        xv, yv = stack_buffers(rows, 1, spec, group)
        local = _segment_model(spec, start, x, y, xv, yv, segment, " (group %s)" % group)
        try:
            for iteration in range(1, spec["iterations"] + 1):
                started = time.perf_counter()
                results = local.fit(iteration)
                seconds = time.perf_counter() - started
                validation = local.validate()
                yield dict(local.history_row(iteration, results, validation, seconds),
                           group_value=group)
                merged = merged_history_row(iteration, local.totals(results, validation),
                                            local.names, seconds)
                yield dict(merged, group_value=group)
            server.report(server.NOTICE, "group %s (%d of %d on segment %d): loss %.4f%s"
                          % (group, number, len(groups), segment.index, merged["loss"],
                             "".join(", %s %.4f" % (n, v) for n, v
                                     in json.loads(merged["metrics"]).items())))
            for row in final_rows(local.final_weights()):
                yield dict(row, group_value=group)
        finally:
            local.close()


def _train(spec, start, x, local, segment):
    slots = _Slots(segment.count, spec["parameters"], segment.index)
    center = weight_vectors.flatten(start) if spec["method"] == "easgd" else None

    for iteration in range(1, spec["iterations"] + 1):
        started = time.perf_counter()
        results = local.fit(iteration)
        if spec["method"] != "ensemble":
            slots.header(segment.index)[0] = len(x)
            slots.weights(segment.index)[:] = local.weights()
            exchange.wait()
            if spec["method"] == "average":
                counts = [float(slots.header(j)[0]) for j in range(segment.count)]
                merged = kernels.weighted_average(
                    [slots.weights(j) for j in range(segment.count)], counts)
            else:
                locals_ = [slots.weights(j).copy() for j in range(segment.count)]
                kernels.easgd_step(center, locals_, float(spec["moving_rate"]))
                merged = locals_[segment.index]
            exchange.wait()
            local.set_weights(merged)
        seconds = time.perf_counter() - started
        validation = local.validate()
        totals = slots.share(local.totals(results, validation))
        yield local.history_row(iteration, results, validation, seconds)
        if segment.index == 0:
            merged_row = merged_history_row(iteration, totals, local.names, seconds)
            yield merged_row
            report_iteration(iteration, spec["iterations"], merged_row, seconds)

    final = local.final_weights()
    if spec["method"] == "easgd":
        final = weight_vectors.unflatten(center, spec["tensor_shapes"])
    ensemble_json = None
    if spec["method"] == "ensemble":
        slots.weights(segment.index)[:] = weight_vectors.flatten(final)
        exchange.wait()
        members = [weight_vectors.unflatten(slots.weights(j).copy(), spec["tensor_shapes"])
                   for j in range(segment.count)] if segment.index == 0 else None
        exchange.wait()
        if segment.index != 0:
            return
        ensemble_json, final = local.ensemble_parts(members)
    if segment.index == 0:
        yield from final_rows(final, ensemble_json)


def _ensemble(spec, members):
    """The segment models, frozen, under a dense combiner of their outputs."""
    k = keras()
    inputs = k.Input(spec["feature_shape"])
    outputs = []
    for index, member_weights in enumerate(members):
        member = k.models.model_from_json(spec["keras_json"])
        member.set_weights(member_weights)
        member.name = "segment_%d" % index
        member.trainable = False
        outputs.append(member(inputs))
    classification = spec["task"] == "classification"
    width = spec["num_classes"] if classification else 1
    combiner = k.layers.Dense(width, activation="softmax" if classification else None,
                              name="combiner")
    ensemble = k.Model(inputs, combiner(k.layers.Concatenate()(outputs)), name="ensemble")
    # start as the mean of the members (sharpened for softmax), then learn
    scale = 10.0 if classification else 1.0
    combiner.set_weights([np.vstack([np.eye(width, dtype=np.float32) * scale / len(members)]
                                    * len(members)), np.zeros(width, dtype=np.float32)])
    ensemble.compile(**spec["compile_params"])
    return ensemble


def segment_history_row(segment, iteration, rows, results, validation, names, seconds):
    return {"segment": segment, "iteration": iteration, "rows": rows,
            "loss": float(results.get("loss", float("nan"))),
            "metrics": json.dumps({n: float(results[n]) for n in names[1:] if n in results}),
            "validation_loss": float(validation["loss"]) if "loss" in validation else None,
            "validation_metrics": json.dumps({n: float(validation[n]) for n in names[1:]
                                              if n in validation}) if validation else None,
            "seconds": seconds}


def merged_history_row(iteration, totals, names, seconds):
    width = len(names) + 1
    train, val = totals[:width], totals[width:]
    mean = {n: train[i + 1] / train[0] for i, n in enumerate(names)} if train[0] else {}
    vmean = {n: val[i + 1] / val[0] for i, n in enumerate(names)} if val[0] else {}
    return {"segment": None, "iteration": iteration, "rows": int(train[0]),
            "loss": mean.get("loss"),
            "metrics": json.dumps({n: mean[n] for n in names[1:] if n in mean}),
            "validation_loss": vmean.get("loss"),
            "validation_metrics": json.dumps({n: vmean[n] for n in names[1:]}) if vmean else None,
            "seconds": seconds}
