"""The per-process session cache is bounded by count and by bytes."""

from pgdl.engine import scoring


class Fake:
    def __init__(self, size):
        self.bytes = size


def test_the_cache_keeps_at_most_its_count_and_bytes(monkeypatch):
    monkeypatch.setattr(scoring, "_cache", scoring.OrderedDict())
    monkeypatch.setattr(scoring, "CACHE_BYTES", 100)
    for i in range(20):
        scoring.remember(("o", "m", i, "t", 1), Fake(10))
    assert len(scoring._cache) == scoring.CACHE_SIZE
    assert [k[2] for k in scoring._cache] == list(range(12, 20))
    scoring.remember(("o", "m", 99, "t", 1), Fake(95))
    assert list(scoring._cache) == [("o", "m", 99, "t", 1)]
    assert scoring.cached_versions("o", "m", 1) == [(99, "t")]
    scoring.forget("o", "m")
    assert not scoring._cache


def test_a_scorer_says_which_providers_run_not_which_were_asked_for(monkeypatch):
    import onnxruntime
    import pytest
    from helpers import digit_model
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA: the asked-for provider would run")
    # a machine that reports a GPU, with the CPU build of onnxruntime (or a
    # CUDA provider that cannot start): the session runs on the CPU
    monkeypatch.setattr(scoring, "providers", lambda segment=0: [
        ("CUDAExecutionProvider", {"device_id": segment}), "CPUExecutionProvider"])
    model = scoring.Model(model="m", version=1, owner="o", created="t",
                          task="classification", class_values=[str(i) for i in range(10)],
                          class_type="integer", feature_shape=[64], normalization="none")
    scorer = scoring.Scorer(model, digit_model()[0], threads=1)
    assert scorer.providers == ["CPUExecutionProvider"]
    monkeypatch.setattr(scoring, "_cache", scoring.OrderedDict())
    scoring.remember(model.key + (1,), scorer)
    assert scoring.cached_scorer("o", "m", 1, 1) is scorer
    assert scoring.cached_scorer("o", "m", 2, 1) is None
    assert scoring.cached_scorer("o", "m", 1, 2) is None
