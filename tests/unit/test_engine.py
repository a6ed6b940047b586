"""Engine pieces outside the server: weights as vectors and rows, GPU choice."""

import os

import numpy as np

from pgdl.engine import keras_loader, weights


def test_weights_flatten_and_back():
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([7.5], dtype=np.float32)]
    vector = weights.flatten(arrays)
    assert vector.dtype == np.dtype("<f4") and vector.size == 7
    back = weights.unflatten(vector, weights.shapes(arrays))
    for a, b in zip(arrays, back):
        np.testing.assert_array_equal(a, b)


def test_weights_as_rows_in_chunks_and_back():
    arrays = [np.random.default_rng(0).standard_normal((10, 7)).astype(np.float32),
              np.zeros(3, dtype=np.float32)]
    rows = weights.to_rows(arrays, ["dense/kernel", "dense/bias"], chunk_bytes=64)
    assert [(t, c) for t, c, *_ in rows][:3] == [(0, 0), (0, 1), (0, 2)]
    assert all(len(data) <= 64 for *_, data in rows)
    shuffled = [(t, c, shape, data) for t, c, _, shape, data in reversed(rows)]
    for a, b in zip(arrays, weights.from_rows(shuffled)):
        np.testing.assert_array_equal(a, b)


def test_segment_k_takes_gpu_k_mod_g(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(keras_loader, "_keras", None)
    assert keras_loader.choose_gpu(5, gpus=2) == 1
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "1"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert keras_loader.choose_gpu(3, gpus=0) is None
    assert "CUDA_VISIBLE_DEVICES" not in os.environ
