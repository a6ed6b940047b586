"""pg_dump and pg_restore (serial, -j 4, plain SQL) give back every model,
identical predictions, and a registry whose next job works."""

import subprocess

import psycopg
import pytest

from helpers import architecture, import_digit_model, train
from pgdl.engine.keras_loader import keras

BIN = "/usr/lib/postgresql/15/bin"
CATALOG = {
    "models": "owner, model, version, origin, task, class_values, feature_shape, parameters, "
              "created, metrics",
    "model_weights": "owner, model, version, tensor, chunk, md5(data)",
    "model_onnx": "owner, model, version, chunk, md5(data)",
    "training_history": "owner, model, version, iteration, segment, rows, loss",
    "training_jobs": "job, owner, model, version, status",
    "model_access": "owner, model, grantee",
    "packed": "output::text, total_rows, segments",
}


def fingerprint(conn):
    found = {}
    for table, columns in CATALOG.items():
        found[table] = conn.execute(
            "SELECT count(*), md5(string_agg(r::text, '|' ORDER BY r::text)) "
            "FROM (SELECT %s FROM pgdl.%s) r" % (columns, table)).fetchone()
    for table in ("m_p", "d_p"):
        found[table] = conn.execute(
            "SELECT count(*), md5(string_agg(concat_ws(',', id, version, class, probability), "
            "'|' ORDER BY id)) FROM %s" % table).fetchone()
    return found


@pytest.fixture
def source_db(db, cluster, connect):
    """A database with an imported model (2 versions), a trained one, their
    predictions tables, packed data and a model shared with a role."""
    db.execute("DO $$ BEGIN CREATE ROLE reader LOGIN; "
               "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    db.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits', test_fraction => 0.25)")
    import_digit_model(db, "m")
    import_digit_model(db, "m", seed=1)
    db.execute("SELECT pgdl.create_predictions_table('m_p', 'm', 'digits_test')")
    db.execute("SELECT * FROM pgdl.preprocess('digits_train', 'digits_packed', 'image', "
               "'label', normalizing_const => 16, feature_shape => '{8,8,1}', segments => 1)")
    k = keras()
    architecture(db, "dense", [k.layers.Flatten(), k.layers.Dense(10, activation="softmax")],
                 (8, 8, 1))
    train(db, "d", "dense", "digits_packed", iterations=1, segments=1)
    db.execute("SELECT pgdl.create_predictions_table('d_p', 'd', 'digits_test')")
    db.execute("SELECT pgdl.share_model('m', 'reader')")
    db.execute("SELECT pgdl.share_model('d')")
    db.commit()
    return db


def run(*command):
    done = subprocess.run(command, capture_output=True, text=True)
    return done.returncode, done.stderr


def restored(cluster, connect, name):
    admin = connect()
    admin.execute("DROP DATABASE IF EXISTS %s" % name)
    admin.execute("CREATE DATABASE %s" % name)
    return psycopg.connect(host=cluster.host, port=cluster.port, user="postgres", dbname=name,
                           autocommit=True)


@pytest.mark.parametrize("form, restore", [
    ("-Fc", ["pg_restore"]),
    ("-Fc", ["pg_restore", "-j", "4"]),
    ("-Fp", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"]),
])
def test_a_restore_gives_back_every_model_and_identical_predictions(source_db, cluster, connect,
                                                                   tmp_path, form, restore):
    where = ["-h", cluster.host, "-p", str(cluster.port), "-U", "postgres"]
    dump = str(tmp_path / "dump")
    code, errors = run(BIN + "/pg_dump", form, "-f", dump, *where, source_db.info.dbname)
    assert code == 0, errors
    before = fingerprint(source_db)
    target = restored(cluster, connect, "pgdl_restored")
    try:
        if restore[0] == "psql":
            code, errors = run(BIN + "/psql", *restore[1:], dump, *where, "pgdl_restored")
        else:
            code, errors = run(BIN + "/" + restore[0], *restore[1:], "-d", "pgdl_restored",
                               *where, dump)
        assert code == 0, errors
        assert fingerprint(target) == before
        # the next job gets the next job number and a new version
        last_job = target.execute("SELECT max(job) FROM pgdl.training_jobs").fetchone()[0]
        job = train(target, "d", "dense", "digits_packed", iterations=1, segments=1)
        assert (job["job"], job["version"]) == (last_job + 1, 2)
        reader = psycopg.connect(host=cluster.host, port=cluster.port, user="reader",
                                 dbname="pgdl_restored", autocommit=True)
        assert reader.execute("SELECT DISTINCT model FROM pgdl.model_versions ORDER BY 1"
                              ).fetchall() == [("d",), ("m",)]
        reader.close()
    finally:
        target.close()
        connect().execute("DROP DATABASE IF EXISTS pgdl_restored")


def test_a_restore_without_one_grantee_keeps_every_model_and_every_other_grant(
        db, cluster, connect, tmp_path):
    for role in ("owner_a", "gone_b", "kept_c"):
        db.execute("DO $$ BEGIN CREATE ROLE %s LOGIN; "
                   "EXCEPTION WHEN duplicate_object THEN NULL; END $$" % role)
    db.commit()
    owner = connect("owner_a")
    import_digit_model(owner, "a")
    owner.execute("SELECT pgdl.share_model('a', 'gone_b')")
    owner.execute("SELECT pgdl.share_model('a', 'kept_c')")
    owner.close()
    where = ["-h", cluster.host, "-p", str(cluster.port), "-U", "postgres"]
    dump = str(tmp_path / "dump")
    code, errors = run(BIN + "/pg_dump", "-Fc", "-f", dump, *where, db.info.dbname)
    assert code == 0, errors
    db.execute("DROP OWNED BY gone_b")
    db.commit()
    connect().execute("DROP ROLE gone_b")
    target = restored(cluster, connect, "pgdl_restored")
    try:
        code, errors = run(BIN + "/pg_restore", "-d", "pgdl_restored", *where, dump)
        assert code != 0 and 'role "gone_b" does not exist' in errors    # reported
        assert target.execute("SELECT owner, model, version FROM pgdl.models").fetchall() == \
            [("owner_a", "a", 1)]
        assert sorted(target.execute("SELECT grantee FROM pgdl.model_access").fetchall()) == \
            [("gone_b",), ("kept_c",)]
        with psycopg.connect(host=cluster.host, port=cluster.port, user="kept_c",
                             dbname="pgdl_restored", autocommit=True) as kept:
            assert kept.execute("SELECT model FROM pgdl.model_versions").fetchall() == \
                [("a",)]
    finally:
        target.close()
        admin = connect()
        admin.execute("DROP DATABASE IF EXISTS pgdl_restored")
        admin.execute("DO $$ BEGIN CREATE ROLE gone_b LOGIN; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
