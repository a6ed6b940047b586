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


def test_a_segment_out_of_gpu_memory_names_itself_and_its_gpu(monkeypatch):
    import pytest
    from pgdl.engine.segment import SegmentModel
    from pgdl.errors import PgdlError
    k = keras_loader.keras()
    model = k.Sequential([k.Input([4]), k.layers.Dense(2, activation="softmax")])
    spec = {"keras_json": model.to_json(), "compile_params": {"loss": "mse"},
            "fit_params": {"epochs": 1}, "metric_names": [],
            "tensor_shapes": [list(w.shape) for w in model.get_weights()]}
    x, y = np.zeros((8, 4), np.float32), np.zeros((8, 2), np.float32)
    segment = SegmentModel(spec, model.get_weights(), x, y, None, None, 3, 4,
                           where=" on node 10.0.0.2:5432")

    class ResourceExhaustedError(Exception):
        pass

    def exhausted(*args, **kwargs):
        raise ResourceExhaustedError("OOM when allocating tensor with shape [8192, 8192]")

    monkeypatch.setattr(segment.model, "fit", exhausted)
    monkeypatch.setattr(keras_loader, "visible_gpu", lambda: "1")
    with pytest.raises(PgdlError) as error:
        segment.fit(2)
    assert str(error.value) == "segment 3 on node 10.0.0.2:5432 ran out of GPU 1 memory in " \
                               "iteration 2"
    assert error.value.sqlstate == "53200" and "OOM when allocating" in error.value.detail
    assert "batch_size" in error.value.hint


def test_memory_growth_is_on_before_keras_loads(monkeypatch):
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)
    monkeypatch.setattr(keras_loader, "_keras", None)
    keras_loader.keras()
    assert os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"


def test_the_leader_trains_in_a_child_where_it_would_hold_a_gpu(monkeypatch):
    from pgdl import interrupts
    from pgdl.engine import segment_process
    monkeypatch.setattr(interrupts, "in_parallel_worker", lambda: False)
    for mode, gpus, wanted in (("auto", 2, True), ("auto", 0, False), ("on", 0, True),
                               ("off", 2, False)):
        monkeypatch.setattr(segment_process, "mode", lambda: mode)
        monkeypatch.setattr(keras_loader, "gpu_count", lambda: gpus)
        assert segment_process.wanted() is wanted, (mode, gpus)
    # a parallel worker's segment is its own process already, which ends with the job
    monkeypatch.setattr(interrupts, "in_parallel_worker", lambda: True)
    monkeypatch.setattr(segment_process, "mode", lambda: "on")
    assert not segment_process.wanted()
    # outside a backend there is no setting: off
    monkeypatch.undo()
    assert segment_process.mode() == "off"
