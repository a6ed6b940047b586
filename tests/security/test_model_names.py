"""A model name belongs to the role that created it; another role's private
model looks exactly like a model that does not exist."""

import psycopg
import pytest

from helpers import import_digit_model

CATALOG = ("models", "model_weights", "model_onnx", "training_history", "training_jobs",
           "model_access", "packed")


def error_of(conn, sql, *args):
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(sql, args).fetchall()
    conn.rollback() if not conn.autocommit else None
    diag = caught.value.diag
    return type(caught.value), diag.message_primary, diag.message_hint


def test_a_private_model_looks_like_no_model(alice_digits):
    alice, bob = alice_digits
    bob.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits')")
    for sql in ("SELECT * FROM pgdl.evaluate(%s, 'digits', label => 'label')",
                "SELECT pgdl.create_predictions_table('p', %s, 'digits')",
                "SELECT count(*) FROM pgdl.predictions WHERE model = %s AND source = 'digits'",
                "SELECT pgdl.share_model(%s)", "SELECT pgdl.drop_model(%s)"):
        private = error_of(bob, sql, "m")
        missing = error_of(bob, sql, "nothing")
        assert private[0] == missing[0] == psycopg.errors.UndefinedObject, sql
        assert private[1:] == tuple(None if t is None else t.replace("nothing", "m")
                                    for t in missing[1:]), sql
    assert bob.execute("SELECT count(*) FROM pgdl.models").fetchone() == (0,)
    assert bob.execute("SELECT count(*) FROM pgdl.model_versions").fetchone() == (0,)
    alice.execute("SELECT pgdl.share_model('m', 'alice')")          # a share with herself
    assert bob.execute("SELECT count(*) FROM pgdl.model_access").fetchone() == (0,)
    assert bob.execute("SELECT count(*) FROM pgdl.packed").fetchone() == (0,)
    # nothing answers for another role any more
    assert bob.execute("SELECT count(*) FROM pg_proc WHERE proname = '_owns_model'"
                       ).fetchone() == (0,)
    # bob trains or imports under the same name: his own model, at version 1
    assert import_digit_model(bob, "m")[0] == 1
    assert alice.execute("SELECT owner, version FROM pgdl.models").fetchall() == [("alice", 1)]


def test_no_role_writes_the_catalog_directly(alice_digits, db):
    alice, bob = alice_digits
    import_digit_model(bob, "theirs")
    statements = [
        "INSERT INTO pgdl.models (model, version, task, feature_shape, normalization, "
        "parameters, owner) VALUES ('m', 2, 'regression', '{1}', 'none', 1, 'alice')",
        "INSERT INTO pgdl.models (model, version, task, feature_shape, normalization, "
        "parameters) VALUES ('m', 2, 'regression', '{1}', 'none', 1)",
        "INSERT INTO pgdl.model_access (model, grantee, owner) VALUES ('m', NULL, 'alice')",
        "INSERT INTO pgdl.model_access (model, grantee) VALUES ('theirs', NULL)",
        "INSERT INTO pgdl.model_onnx (model, version, chunk, data, owner) "
        "VALUES ('theirs', 1, 7, '\\x00', 'bob')",
        "UPDATE pgdl.models SET owner = 'bob'", "DELETE FROM pgdl.models",
        "DELETE FROM pgdl.model_access", "UPDATE pgdl.packed SET owner = 'bob'",
        "DELETE FROM pgdl.training_jobs", "TRUNCATE pgdl.model_onnx",
        "SELECT nextval('pgdl.training_jobs_job_seq')",
    ]
    for conn in (alice, bob):
        for sql in statements:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
    for table in CATALOG:
        privileges = db.execute(
            "SELECT array_agg(p) FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p "
            "WHERE has_table_privilege('bob', %s, p)", ("pgdl." + table,)).fetchone()[0]
        assert privileges is None, table
    assert alice.execute("SELECT count(*) FROM pgdl.model_access").fetchone() == (0,)
    assert db.execute("SELECT owner, model, version FROM pgdl.models ORDER BY 1"
                      ).fetchall() == [("alice", "m", 1), ("bob", "theirs", 1)]


def test_owners_that_are_gone_break_nothing(alice_digits, db):
    alice, bob = alice_digits
    import_digit_model(bob, "theirs")
    bob.close()
    db.execute("DROP OWNED BY bob CASCADE")
    db.execute("DROP ROLE bob")
    db.commit()
    try:
        assert alice.execute("SELECT model FROM pgdl.models").fetchall() == [("m",)]
        assert alice.execute("SELECT count(*) FROM pgdl.model_versions").fetchone() == (1,)
    finally:
        db.execute("CREATE ROLE bob LOGIN")
        db.commit()
