"""Roles that own or use models follow PostgreSQL's rules for roles: DROP
ROLE refuses while they do, DROP OWNED and REASSIGN OWNED handle their
models, and a role that is gone breaks nothing for the others."""

import psycopg
import pytest

from helpers import import_digit_model


@pytest.fixture
def carol(db, connect, roles):
    """carol, a role that owns model c (shared with bob and with everyone)."""
    db.execute("DO $$ BEGIN CREATE ROLE carol LOGIN; "
               "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    db.commit()
    conn = connect("carol")
    import_digit_model(conn, "c")
    conn.execute("SELECT pgdl.share_model('c', 'bob')")
    yield conn
    conn.close()
    db.execute("DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'carol') THEN "
               "DROP OWNED BY carol; DROP ROLE carol; END IF; END $$")
    db.commit()


def test_drop_role_refuses_while_the_role_owns_models(db, carol):
    with pytest.raises(psycopg.errors.DependentObjectsStillExist,
                       match='role "carol" cannot be dropped') as error:
        db.execute("DROP ROLE carol")
    assert "owner of sequence pgdl_model_owners.carol" in error.value.diag.message_detail
    db.rollback()


def test_drop_role_refuses_while_a_model_is_shared_with_the_role(db, carol, roles):
    with pytest.raises(psycopg.errors.DependentObjectsStillExist) as error:
        db.execute("DROP ROLE bob")
    assert "privileges for sequence pgdl_model_owners.carol" in error.value.diag.message_detail
    db.rollback()


def test_drop_owned_drops_the_role_s_models_and_grants(db, carol, roles):
    alice, bob = roles
    import_digit_model(alice, "a")
    alice.execute("SELECT pgdl.share_model('a', 'carol')")
    carol.close()
    db.execute("DROP OWNED BY carol")
    db.execute("DROP ROLE carol")
    db.commit()
    for table in ("models", "model_onnx", "model_access"):
        assert db.execute("SELECT count(*) FROM pgdl.%s WHERE owner = 'carol' "
                          "OR %s" % (table, "grantee = 'carol'" if table == "model_access"
                                     else "false")).fetchone()[0] == 0
    assert bob.execute("SELECT model FROM pgdl.model_versions").fetchall() == []
    assert alice.execute("SELECT model FROM pgdl.model_versions").fetchall() == [("a",)]


def test_reassign_owned_hands_the_models_over(db, carol, roles):
    alice, bob = roles
    db.execute("REASSIGN OWNED BY carol TO alice")
    db.commit()
    versions = alice.execute("SELECT model, owner FROM pgdl.model_versions").fetchall()
    assert versions == [("c", "carol")]
    assert carol.execute("SELECT count(*) FROM pgdl.model_versions").fetchone()[0] == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="belong to role alice"):
        import_digit_model(carol, "c2")
    carol.close()
    db.execute("DROP ROLE carol")
    db.commit()
    # alice controls them now: she may drop them, and bob still sees the shared one
    assert bob.execute("SELECT model FROM pgdl.model_versions").fetchall() == [("c",)]
    assert alice.execute("SELECT pgdl.drop_model('c')").fetchone()[0] == 1


def test_a_dropped_grantee_breaks_nothing_for_the_others(db, carol, roles, connect):
    alice, bob = roles
    db.execute("DO $$ BEGIN CREATE ROLE dave LOGIN; "
               "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    db.commit()
    carol.execute("SELECT pgdl.share_model('c', 'dave')")
    db.execute("DROP OWNED BY dave")
    db.execute("DROP ROLE dave")
    db.commit()
    assert db.execute("SELECT grantee FROM pgdl.model_access ORDER BY 1").fetchall() == \
        [("bob",)]
    assert bob.execute("SELECT model FROM pgdl.model_versions").fetchall() == [("c",)]
    assert alice.execute("SELECT model FROM pgdl.model_versions").fetchall() == []


def test_an_owner_that_is_gone_hides_its_models_and_breaks_no_query(db, connect, roles):
    alice, bob = roles
    import_digit_model(alice, "a")
    # a model row whose owner role is gone (as a restore without that role leaves it)
    db.execute("UPDATE pgdl.models SET owner = 'nobody' WHERE model = 'a'")
    db.commit()
    assert alice.execute("SELECT count(*) FROM pgdl.model_versions").fetchone()[0] == 0
    assert bob.execute("SELECT count(*) FROM pgdl.model_access").fetchone()[0] == 0
