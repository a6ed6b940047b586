"""The segment server (pgdl/engine/segment_server.py): one process per
cluster with Keras loaded, which forks every parallel worker's segment, so
a job does not load Keras again in each worker."""

import os
import subprocess
import sys

import numpy as np
import psycopg
import pytest

from helpers import (architecture, children, eventually, images, parent, segment_server,
                     train)
from pgdl.engine.keras_loader import keras
from pgdl_tools.client import stored_model
from pgdl_tools.cluster import throwaway


def history(db, model):
    return db.execute("SELECT segment, iteration, rows, metrics FROM pgdl.training_history "
                      "WHERE model = %s ORDER BY iteration, segment NULLS LAST",
                      (model,)).fetchall()


def test_jobs_share_one_server_and_train_as_without_it(digits):
    digits.execute("SET pgdl.segment_server_timeout = 0")
    train(digits, "alone", "dense", "digits_packed", iterations=3)
    digits.execute("SET pgdl.segment_server_timeout = 600")
    train(digits, "served", "dense", "digits_packed", iterations=3)
    server = segment_server(digits.info.backend_pid)
    assert server is not None
    assert children(server) == []               # each child ended with its job
    train(digits, "again", "dense", "digits_packed", iterations=3)
    assert segment_server(digits.info.backend_pid) == server
    digits.commit()
    assert history(digits, "served") == history(digits, "alone") == history(digits, "again")
    x, _ = images(digits, "digits_test", [8, 8, 1])
    alone, served = (stored_model(digits, m, 1).predict(x / 16, verbose=0)
                     for m in ("alone", "served"))
    np.testing.assert_array_equal(served, alone)


def test_all_methods_train_through_the_server(digits):
    for method in ("easgd", "ensemble"):
        job = train(digits, method, "dense", "digits_packed", iterations=2, method=method)
        assert job["status"] == "finished"
    assert segment_server(digits.info.backend_pid) is not None


def _connect_as(user, name):
    """What a process of OS user `user` gets from the server's socket."""
    script = ("import socket, sys; s = socket.socket(socket.AF_UNIX); "
              "s.connect(bytes.fromhex(sys.argv[1]).decode()); s.settimeout(30); "
              "print('answered' if s.recv(1) else 'closed')")
    return subprocess.run(["runuser", "-u", user, "--", sys.executable, "-c", script,
                           name.encode().hex()], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_server_serves_only_its_own_os_user(digits):
    if os.getuid() != 0:
        pytest.skip("needs root to connect as other OS users")
    train(digits, "m", "dense", "digits_packed", iterations=1)
    server = segment_server(digits.info.backend_pid)
    with open("/proc/%d/cmdline" % server) as cmdline:
        name = bytes.fromhex(cmdline.read().split("\0")[-4]).decode()
    assert _connect_as("nobody", name) == "closed"
    assert children(server) == []
    assert _connect_as("postgres", name) == "answered"
    # the child it forked sees its segment go away and ends
    assert eventually(lambda: children(server) == [])


def test_only_a_superuser_sets_the_timeout(plain):
    plain.execute("SELECT pgdl.site_packages()")               # loads pgdl
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        plain.execute("SET pgdl.segment_server_timeout = 0")


def test_the_server_ends_after_its_timeout_and_with_its_cluster():
    with throwaway() as cluster:
        cluster.create_database("s")
        with psycopg.connect(cluster.uri("s"), autocommit=True) as db:
            db.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits', "
                       "test_fraction => 0.25)")
            db.execute("SELECT * FROM pgdl.preprocess('digits_train', 'digits_packed', "
                       "'image', 'label', normalizing_const => 16, "
                       "feature_shape => '{8,8,1}', segments => 2, seed => 3)")
            k = keras()
            architecture(db, "dense", [k.layers.Flatten(),
                                       k.layers.Dense(10, activation="softmax")], (8, 8, 1))
            backend = db.info.backend_pid
            postmaster = parent(backend)

            db.execute("SET pgdl.segment_server_timeout = 8")
            train(db, "m", "dense", "digits_packed", iterations=1)
            first = segment_server(backend)
            assert first is not None
            assert eventually(lambda: segment_server(backend) is None, seconds=30)

            db.execute("SET pgdl.segment_server_timeout = 600")
            train(db, "m", "dense", "digits_packed", iterations=1)
            second = segment_server(backend)
            assert second not in (None, first)
        cluster.stop()

        def gone():
            try:
                with open("/proc/%d/cmdline" % second) as cmdline:
                    return str(postmaster) not in cmdline.read().split("\0")
            except OSError:
                return True
        assert eventually(gone)
