"""Search spaces expanded into configurations (pgdl.engine.search)."""

import pytest

from pgdl.engine.search import expand
from pgdl.errors import PgdlError

COMPILE = {"loss": "categorical_crossentropy", "metrics": ["accuracy"],
           "optimizer": {"class_name": "Adam",
                         "config": {"learning_rate": {"choice": [0.001, 0.01]}}}}


def test_a_grid_takes_every_combination_and_keeps_fixed_values():
    configs = expand(["a", "b"], COMPILE, {"batch_size": {"choice": [16, 64]}, "epochs": 1})
    assert len(configs) == 8
    assert {(a, c["optimizer"]["config"]["learning_rate"], f["batch_size"])
            for a, c, f in configs} == {(a, lr, b) for a in "ab" for lr in (0.001, 0.01)
                                        for b in (16, 64)}
    assert all(c["metrics"] == ["accuracy"] and f["epochs"] == 1 for _, c, f in configs)
    assert COMPILE["optimizer"]["config"]["learning_rate"] == {"choice": [0.001, 0.01]}


def test_random_draws_from_every_distribution_repeatably():
    fit = {"batch_size": {"int_uniform": [8, 64]}}
    compile_params = dict(COMPILE, optimizer={"class_name": "SGD", "config": {
        "learning_rate": {"log_uniform": [1e-4, 1e-1]}, "momentum": {"uniform": [0, 0.9]}}})
    first = expand(["a", "b"], compile_params, fit, "random", samples=50, seed=3)
    assert first == expand(["a", "b"], compile_params, fit, "random", samples=50, seed=3)
    assert first != expand(["a", "b"], compile_params, fit, "random", samples=50, seed=4)
    rates = [c["optimizer"]["config"]["learning_rate"] for _, c, _ in first]
    assert all(1e-4 <= r <= 1e-1 for r in rates) and min(rates) < 1e-3 < max(rates)
    assert all(0 <= c["optimizer"]["config"]["momentum"] <= 0.9 for _, c, _ in first)
    sizes = [f["batch_size"] for _, _, f in first]
    assert all(isinstance(b, int) and 8 <= b <= 64 for b in sizes)
    assert {a for a, _, _ in first} == {"a", "b"}


@pytest.mark.parametrize("architectures, compile_params, fit_params, options, message", [
    ([], COMPILE, {}, {}, "a search space needs at least one architecture"),
    (["a", None], COMPILE, {}, {}, "a search space needs at least one architecture"),
    (["a"], COMPILE, {"batch_size": {"choice": []}}, {},
     "fit_params.batch_size: choice needs a non-empty list"),
    (["a"], dict(COMPILE, optimizer={"class_name": "Adam", "config": {
        "learning_rate": {"log_uniform": [-1, 0.1]}}}), {}, {"method": "random", "samples": 2},
     "compile_params.optimizer.config.learning_rate: log_uniform needs bounds above 0"),
    (["a"], COMPILE, {"batch_size": {"int_uniform": [64, 8]}}, {"method": "random",
                                                                  "samples": 2},
     "fit_params.batch_size: int_uniform has low 64 above high 8"),
    (["a"], COMPILE, {"batch_size": {"int_uniform": [8.5, 9]}}, {"method": "random",
                                                                   "samples": 2},
     "fit_params.batch_size: int_uniform needs whole-number bounds"),
    (["a"], COMPILE, {"batch_size": {"uniform": ["x", 9]}}, {"method": "random", "samples": 2},
     "fit_params.batch_size: uniform needs [low, high], two finite numbers"),
    (["a"], COMPILE, {"batch_size": {"uniform": [1, 9]}}, {},
     "batch_size is uniform, which a grid cannot enumerate"),
    (["a"], COMPILE, {}, {"method": "random"}, "method random needs samples between 1 and"),
    (["a"], COMPILE, {}, {"method": "random", "samples": 0}, "method random needs samples"),
    (["a"], COMPILE, {}, {"samples": 3}, "samples is for method random"),
    (["a"], COMPILE, {}, {"method": "bayes"}, 'unknown search method "bayes"'),
    (["a"], COMPILE, {"x%d" % i: {"choice": list(range(10))} for i in range(5)}, {},
     "the grid has 200000 configurations; at most 10000"),
    (["a"], {"choice": [COMPILE]}, {}, {}, "compile_params must be a JSON object of parameters"),
    (["a"], COMPILE, [1], {}, "fit_params must be a JSON object"),
])
def test_a_search_space_that_cannot_be_expanded_says_why(architectures, compile_params,
                                                         fit_params, options, message):
    with pytest.raises(PgdlError) as caught:
        expand(architectures, compile_params, fit_params, **options)
    assert message in caught.value.message
    assert caught.value.sqlstate == "22023"
