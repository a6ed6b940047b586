"""Model hopper parallelism: a segment's part of a selection job.

The configurations train S at a time, S being the number of segments.  In
each iteration a group of configurations makes S hops: in hop t, segment s
trains configuration (s + t) mod S of the group on its own buffers, then
hands it on.  So each configuration sees every segment's buffers once per
iteration, one after another, as plain Keras sees all the data in an
epoch, while no buffer leaves its segment: only a configuration's state
moves, its weights and its optimizer's variables, through the exchange.

The configuration a segment trains in hop t was trained in hop t - 1 by
segment s + 1 (mod S), whose slot holds its state.  After an iteration
every segment loads each configuration of the group to validate it on its
own validation buffers; the segments add up their metrics (row-weighted),
and segment 0, which then holds every configuration's final state, yields
it when the group is done: the weights, which become a version, and the
optimizer's variables, with which a later round (Hyperband) goes on.
"""

import json
import time

import numpy as np

from pgdl import exchange, server
from pgdl.engine import weights as weight_vectors
from pgdl.engine.keras_loader import keras
from pgdl.engine.segment import (SegmentModel, _Slots, final_rows, merged_history_row)


class ConfigModel(SegmentModel):
    """One configuration on one segment: its model built from the
    configuration's seed (the same start on every segment), its optimizer's
    variables built up front so that its state can move."""

    def __init__(self, config, x, y, xv, yv, index, count):
        k = keras()
        k.utils.set_random_seed(int(config["seed"]))
        start = k.models.model_from_json(config["keras_json"]).get_weights()
        super().__init__(dict(config, seed=None), start, x, y, xv, yv, index, count,
                         " (configuration %d)" % config["config"])
        self.model.optimizer.build(self.model.trainable_variables)

    def state(self):
        return weight_vectors.flatten(self.state_tensors())

    def set_state(self, flat, tensors=None):
        """Sets the state from a flat vector: the weights, then the optimizer's
        variables; a start of only `weight_count` tensors leaves the
        optimizer fresh."""
        shapes = self.spec["state_shapes"][:tensors]
        parts = weight_vectors.unflatten(flat, shapes)
        count = self.spec["weight_count"]
        self.model.set_weights(parts[:count])
        for variable, value in zip(self.model.optimizer.variables, parts[count:]):
            variable.assign(np.asarray(value).astype(variable.dtype))

    def state_tensors(self):
        """The state as arrays: the weights, then the optimizer's variables."""
        return self.model.get_weights() + [np.asarray(v.numpy(), np.float32)
                                           for v in self.model.optimizer.variables]


def state_shapes(keras_json, compile_params):
    """(shapes of the model's weights then its optimizer's variables, number
    of weight tensors): what ConfigModel.state holds."""
    model = keras().models.model_from_json(keras_json)
    model.compile(**compile_params)
    model.optimizer.build(model.trainable_variables)
    weights = [list(w.shape) for w in model.get_weights()]
    return weights + [list(v.shape) for v in model.optimizer.variables], len(weights)


def train(spec, starts, x, y, xv, yv, segment, hooks=None):
    """Yields each configuration's history rows, then (segment 0) its final
    state as tensor rows (the weights, then the optimizer's variables),
    every row with its configuration.  starts: {config: flat state} of the
    configurations that go on from an earlier run.  hooks (segment 0, in
    the job's process): progress(config, iteration, merged history row)
    after every iteration, finished(config, its rows here) as each
    configuration is done, while the others train on."""
    count, index = segment.count, segment.index
    slots = _Slots(count, spec["parameters"], index)
    configs = spec["configs"]
    for first in range(0, len(configs), count):
        group = configs[first:first + count]
        yield from _group(spec, group, starts, slots, x, y, xv, yv, segment, hooks)


def _group(spec, group, starts, slots, x, y, xv, yv, segment, hooks):
    count, index = segment.count, segment.index
    models = {}
    produced = {config["config"]: [] for config in group}     # segment 0's rows

    def model(j):
        if j not in models:
            config = group[j]
            models[j] = ConfigModel(config, x, y, xv, yv, index, count)
            if config["config"] in starts:
                models[j].set_state(starts[config["config"]], config["start_tensors"])
        return models[j]

    def load(j, holder):
        size = models[j].spec["state_size"]
        models[j].set_state(slots.weights(holder)[:size].copy())

    for iteration in range(1, spec["iterations"] + 1):
        started = time.perf_counter()
        results = {}
        for hop in range(count):
            j = (index + hop) % count
            training = j < len(group)
            if training:
                model(j)
                if iteration > 1 or hop > 0:
                    load(j, (index + 1) % count)
            exchange.wait()             # every segment has taken its configuration
            if training:
                results[j] = models[j].fit(iteration)
                state = models[j].state()
                slots.weights(index)[:len(state)] = state
            exchange.wait()             # every state is in its slot
        seconds = time.perf_counter() - started
        for j, config in enumerate(group):
            model(j)
            load(j, (j + 1) % count)    # the last segment that trained it
            validation = models[j].validate()
            totals = slots.share(models[j].totals(results[j], validation))
            row = dict(models[j].history_row(iteration, results[j], validation, seconds),
                       config=config["config"])
            yield row
            if index == 0:
                merged = dict(merged_history_row(iteration, totals, models[j].names, seconds),
                              config=config["config"])
                yield merged
                produced[config["config"]] += [row, merged]
                _report(config["config"], iteration, spec["iterations"], merged, seconds)
                if hooks:
                    hooks.progress(config["config"], iteration, merged)
    if index == 0:
        for j, config in enumerate(group):
            rows = [dict(row, config=config["config"])
                    for row in final_rows(models[j].state_tensors())]
            if hooks:
                hooks.finished(config["config"], produced[config["config"]] + rows)
            yield from rows
    models.clear()
    keras().backend.clear_session()


def _report(config, iteration, iterations, merged, seconds):
    server.report(server.NOTICE, "configuration %d, iteration %d of %d: loss %.4f%s (%.1f s)" % (
        config, iteration, iterations, merged["loss"],
        "".join(", %s %.4f" % (n, v) for n, v in json.loads(merged["metrics"]).items()),
        seconds))
