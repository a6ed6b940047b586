"""Search spaces: architectures x compile params x fit params, as configurations.

A value anywhere inside compile_params or fit_params (nested objects
included, as in an optimizer's config) is either fixed or a distribution,
an object with exactly one of these keys:

  {"choice": [v1, v2, ...]}       one of the values (a grid axis)
  {"uniform": [low, high]}        a float drawn uniformly
  {"log_uniform": [low, high]}    a float whose logarithm is uniform (low > 0)
  {"int_uniform": [low, high]}    a whole number, both ends included

A grid takes every combination of architectures and choices (a continuous
distribution has no grid: it needs method random).  Random draws `samples`
configurations from a seeded generator: an architecture, then a value from
every distribution.
"""

import itertools
import json
import math

import numpy as np

from pgdl.errors import PgdlError

DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int_uniform")
METHODS = ("grid", "random")
MAX_CONFIGS = 10_000


def _error(message, hint=None):
    return PgdlError(message, hint=hint, sqlstate="22023")


def _distribution(value):
    """(kind, arguments) when value is a distribution, else None."""
    if isinstance(value, dict) and len(value) == 1:
        kind, arguments = next(iter(value.items()))
        if kind in DISTRIBUTIONS:
            return kind, arguments
    return None


def _check(kind, arguments, where):
    if kind == "choice":
        if not isinstance(arguments, list) or not arguments:
            raise _error("%s: choice needs a non-empty list of values, not %s"
                         % (where, json.dumps(arguments)))
        return
    if (not isinstance(arguments, list) or len(arguments) != 2
            or not all(isinstance(a, (int, float)) and not isinstance(a, bool)
                       and math.isfinite(a) for a in arguments)):
        raise _error("%s: %s needs [low, high], two finite numbers, not %s"
                     % (where, kind, json.dumps(arguments)))
    low, high = arguments
    if low > high:
        raise _error("%s: %s has low %s above high %s" % (where, kind, low, high))
    if kind == "log_uniform" and low <= 0:
        raise _error("%s: log_uniform needs bounds above 0, not %s"
                     % (where, json.dumps(arguments)),
                     hint="Its logarithm is drawn uniformly; use uniform for bounds at or "
                          "below 0.")
    if kind == "int_uniform" and not all(float(a).is_integer() for a in arguments):
        raise _error("%s: int_uniform needs whole-number bounds, not %s"
                     % (where, json.dumps(arguments)))


def axes(params, name):
    """[(path, kind, arguments)] of every distribution in params, checked."""
    if params is None:
        return []
    if not isinstance(params, dict) or _distribution(params) is not None:
        raise _error("%s must be a JSON object of parameters" % name)
    found = []

    def walk(value, path):
        distribution = _distribution(value)
        if distribution is not None:
            _check(distribution[0], distribution[1], "%s.%s" % (name, ".".join(path)))
            found.append((path, distribution[0], distribution[1]))
        elif isinstance(value, dict):
            for key in value:
                walk(value[key], path + (key,))
    walk(params, ())
    return found


def _with(params, values):
    """params with the value at each path replaced."""
    params = json.loads(json.dumps(params))
    for path, value in values:
        target = params
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return params


def _draw(kind, arguments, rng):
    if kind == "choice":
        return arguments[int(rng.integers(len(arguments)))]
    low, high = arguments
    if kind == "uniform":
        return float(rng.uniform(low, high))
    if kind == "log_uniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return int(rng.integers(int(low), int(high) + 1))


def expand(architectures, compile_params, fit_params, method="grid", samples=None, seed=None):
    """[(architecture, compile_params, fit_params)]: the configurations of a
    search space."""
    if not architectures or any(a is None for a in architectures):
        raise _error("a search space needs at least one architecture, and no NULL among them")
    method = method or "grid"
    if method not in METHODS:
        raise _error('unknown search method "%s"' % method, hint="Methods: grid, random.")
    compile_axes = axes(compile_params or {}, "compile_params")
    fit_axes = axes(fit_params or {}, "fit_params")
    every = [("compile",) + a for a in compile_axes] + [("fit",) + a for a in fit_axes]

    if method == "grid":
        if samples is not None:
            raise _error("samples is for method random", hint="A grid takes every combination.")
        continuous = [a for a in every if a[2] != "choice"]
        if continuous:
            raise _error("%s is %s, which a grid cannot enumerate" % (
                ".".join(continuous[0][1]), continuous[0][2]),
                hint="Use method => 'random' with samples, or a choice.")
        count = len(architectures) * math.prod(len(a[3]) for a in every)
        if count > MAX_CONFIGS:
            raise _error("the grid has %d configurations; at most %d" % (count, MAX_CONFIGS),
                         hint="Use fewer values, or method => 'random' with samples.")
        configs = []
        for architecture in architectures:
            for values in itertools.product(*(a[3] for a in every)):
                configs.append(_config(architecture, compile_params, fit_params, every, values))
        return configs

    if samples is None or samples < 1 or samples > MAX_CONFIGS:
        raise _error("method random needs samples between 1 and %d, not %s"
                     % (MAX_CONFIGS, samples))
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(samples):
        architecture = architectures[int(rng.integers(len(architectures)))]
        values = [_draw(a[2], a[3], rng) for a in every]
        configs.append(_config(architecture, compile_params, fit_params, every, values))
    return configs


def _config(architecture, compile_params, fit_params, every, values):
    chosen = list(zip(every, values))
    return (architecture,
            _with(compile_params or {}, [(a[1], v) for a, v in chosen if a[0] == "compile"]),
            _with(fit_params or {}, [(a[1], v) for a, v in chosen if a[0] == "fit"]))
