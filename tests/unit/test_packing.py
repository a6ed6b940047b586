"""Packing logic outside the server: classes, layout, normalization, CIFAR files."""

import numpy as np
import pytest

from pgdl.data import datasets, packing
from pgdl.errors import PgdlError


def test_classes_in_a_stable_order():
    assert packing.Classes.from_labels([3, 1, 2, 1]).values == [1, 2, 3]
    assert packing.Classes.from_labels(["b", "a", "c"]).values == ["a", "b", "c"]
    indices, unknown = packing.Classes([1, 2, 3]).indices([3, 1, 5])
    assert list(indices[:2]) == [2, 0] and unknown == 2


@pytest.mark.parametrize("rows, segments, buffer_size", [(10, 3, 2), (7, 2, 100), (100, 4, 7)])
def test_layout_is_balanced_and_covers_every_row_once(rows, segments, buffer_size):
    buffers = packing.layout(rows, segments, buffer_size, seed=1)
    positions = np.concatenate([part for _, part in buffers])
    assert sorted(positions) == list(range(rows))
    per_segment = [sum(len(p) for s, p in buffers if s == k) for k in range(segments)]
    assert max(per_segment) - min(per_segment) <= 1
    assert all(len(part) <= buffer_size for _, part in buffers)


def test_grouped_layout_keeps_each_group_whole_on_one_segment():
    groups = ["a"] * 7 + ["b"] * 3 + ["c"] * 4 + ["d"] * 2
    buffers = packing.grouped_layout(groups, 2, 3, seed=5)
    positions = np.concatenate([part for _, _, part in buffers])
    assert sorted(positions) == list(range(len(groups)))
    segment_of = {}
    for segment, group, part in buffers:
        assert {groups[p] for p in part} == {group} and len(part) <= 3
        assert segment_of.setdefault(group, segment) == segment
    # the largest first, each to the segment with the fewest rows: a | c, b, d
    assert segment_of == {"a": 0, "c": 1, "b": 1, "d": 0}
    placed = packing.grouped_layout(["c", "a"], 2, 3, placed=segment_of)
    assert [(s, g) for s, g, _ in placed] == [(0, "a"), (1, "c")]


def test_layout_refuses_more_segments_than_rows():
    with pytest.raises(PgdlError, match="cannot spread 2 rows over 3 segments"):
        packing.layout(2, 3, 1)


def test_standardization_matches_numpy():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (100, 12), dtype=np.uint8)
    norm = packing.standardization([row.tobytes() for row in images], "uint8", 12, chunk=7)
    np.testing.assert_allclose(norm.mean, images.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(norm.std, images.std(axis=0), rtol=1e-5)
    packed = packing.pack([images[0].tobytes()], "uint8", 12, norm)
    np.testing.assert_allclose(packed[0], (images[0] - norm.mean) / norm.std, rtol=1e-5, atol=1e-5)


def test_cifar_batch_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    datasets.write_cifar_batch(tmp_path / "data_batch_1", images, [1, 2, 3, 4, 5])
    loaded, labels = datasets.read_cifar_batch(tmp_path / "data_batch_1")
    np.testing.assert_array_equal(loaded, images)
    assert list(labels) == [1, 2, 3, 4, 5]
    # the format itself: red plane first, row by row
    import pickle
    with open(tmp_path / "data_batch_1", "rb") as handle:
        raw = pickle.load(handle, encoding="bytes")
    np.testing.assert_array_equal(raw[b"data"][0][:32], images[0, 0, :, 0])


def test_split_is_seeded():
    images, labels = np.arange(20).reshape(20, 1), np.arange(20)
    (a, _), (b, _) = datasets.split(images, labels, 0.25, seed=1)
    (c, _), _ = datasets.split(images, labels, 0.25, seed=1)
    assert len(a) == 15 and len(b) == 5 and (a == c).all()
