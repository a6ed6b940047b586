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
