"""Relations pgdl names are resolved once, when a table is created, and
pinned: no role's search_path can redirect them later."""

import psycopg
import pytest

from helpers import import_digit_model


def options(conn, table):
    return dict(o.split("=", 1) for o in conn.execute(
        "SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = %s::regclass",
        (table,)).fetchone()[0])


def test_the_source_is_pinned_and_depended_on(alice_digits):
    alice, bob = alice_digits
    assert options(alice, "m_predictions")["source"] == "alice.digits_test"
    assert options(alice, "m_predictions")["owner"] == "alice"
    alice.execute("GRANT USAGE ON SCHEMA alice TO bob")
    alice.execute("GRANT SELECT ON alice.m_predictions, alice.digits_test TO bob")
    alice.execute("SELECT pgdl.share_model('m', 'bob')")
    # a table of the same name earlier in bob's search_path changes nothing
    bob.execute("CREATE TABLE bob.digits_test AS SELECT * FROM alice.digits_test LIMIT 5")
    bob.execute("SET search_path = bob, alice")
    assert bob.execute("SELECT count(*) FROM m_predictions").fetchone() == (449,)
    bob.execute("SET search_path = pg_catalog")
    assert bob.execute("SELECT count(*) FROM alice.m_predictions").fetchone() == (449,)
    alice.execute("SET search_path = pg_catalog")
    assert alice.execute("SELECT count(class) FROM alice.m_predictions").fetchone() == (449,)
    alice.execute("RESET search_path")
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        alice.execute("DROP TABLE digits_test")


def test_a_table_made_by_hand_is_pinned_too(alice_digits):
    alice, bob = alice_digits
    alice.execute("CREATE FOREIGN TABLE by_hand (id int, class int) SERVER pgdl "
                  "OPTIONS (kind 'predictions', model 'm', source 'digits_test', key 'id')")
    assert options(alice, "by_hand")["source"] == "alice.digits_test"
    assert options(alice, "by_hand")["owner"] == "alice"        # the model it means, pinned
    alice.execute("CREATE TABLE other_test AS SELECT * FROM digits_test LIMIT 3")
    alice.execute("ALTER TABLE other_test ADD PRIMARY KEY (id)")
    alice.execute("ALTER FOREIGN TABLE by_hand OPTIONS (SET source 'other_test')")
    assert options(alice, "by_hand")["source"] == "alice.other_test"
    assert alice.execute("SELECT count(class) FROM by_hand").fetchone() == (3,)
    alice.execute("DROP TABLE digits_test CASCADE")     # m_predictions goes with it
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        alice.execute("DROP TABLE other_test")
    with pytest.raises(psycopg.errors.UndefinedTable):
        alice.execute("CREATE FOREIGN TABLE nowhere (id int) SERVER pgdl "
                      "OPTIONS (kind 'predictions', model 'm', source 'missing', key 'id')")


def test_a_table_made_by_hand_scores_the_model_its_creator_meant(alice_digits):
    alice, bob = alice_digits
    alice.execute("SELECT pgdl.share_model('m', NULL)")
    alice.execute("GRANT USAGE ON SCHEMA alice TO bob")
    alice.execute("GRANT SELECT ON alice.digits_test TO bob")
    bob.execute("CREATE FOREIGN TABLE bob.theirs (id int, version int) SERVER pgdl "
                "OPTIONS (kind 'predictions', model 'm', source 'alice.digits_test', key 'id')")
    assert options(bob, "bob.theirs")["owner"] == "alice"
    import_digit_model(bob, "m")            # bob's own m: his table still scores alice's
    import_digit_model(alice, "m", seed=4)
    assert bob.execute("SELECT DISTINCT version FROM bob.theirs").fetchall() == [(2,)]
    bob.execute("CREATE FOREIGN TABLE bob.mine (id int, version int) SERVER pgdl "
                "OPTIONS (kind 'predictions', model 'm', source 'alice.digits_test', key 'id')")
    assert options(bob, "bob.mine")["owner"] == "bob"


def test_naming_a_table_takes_the_right_to_read_it(alice_digits):
    alice, bob = alice_digits
    alice.execute("GRANT USAGE ON SCHEMA alice TO bob")
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        bob.execute("CREATE FOREIGN TABLE bob.pinning (id int) SERVER pgdl "
                    "OPTIONS (kind 'predictions', model 'm', source 'alice.digits_test', "
                    "key 'id')")
    assert caught.value.diag.message_primary == "permission denied for table digits_test"
