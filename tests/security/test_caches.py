"""What a backend caches (plans, sessions, table instances) never widens a
role's access, and stays bounded however many versions and tables it sees."""

import psycopg
import pytest

from helpers import import_digit_model


@pytest.fixture
def bob_may_read_alices_table(alice_digits):
    """bob may read alice's predictions table and its source, not her model."""
    alice, bob = alice_digits
    alice.execute("GRANT USAGE ON SCHEMA alice TO bob")
    alice.execute("GRANT SELECT ON alice.m_predictions, alice.digits_test TO bob")
    return alice, bob


@pytest.mark.parametrize("sql", [
    "SELECT count(class) FROM alice.m_predictions",
    "SELECT count(class) FROM pgdl.predictions WHERE model = 'm' AND source = 'alice.digits_test'",
])
def test_set_role_never_widens_access(bob_may_read_alices_table, db, sql):
    assert db.execute(sql).fetchone() == (449,)         # the superuser caches plan and session
    db.execute("PREPARE cached AS " + sql)
    assert db.execute("EXECUTE cached").fetchone() == (449,)
    db.execute("SET ROLE bob")
    for statement in (sql, "EXECUTE cached"):
        with pytest.raises(psycopg.errors.UndefinedObject) as caught:
            db.execute(statement).fetchall()
        assert caught.value.diag.message_primary == 'model "m" does not exist'
        db.rollback()
        db.execute("SET ROLE bob")
    db.execute("RESET ROLE")
    db.execute("SET SESSION AUTHORIZATION bob")
    with pytest.raises(psycopg.errors.UndefinedObject):
        db.execute(sql).fetchall()
    db.rollback()


def test_a_shared_then_unshared_model_stops_serving_a_warm_backend(bob_may_read_alices_table):
    alice, bob = bob_may_read_alices_table
    alice.execute("SELECT pgdl.share_model('m', 'bob')")
    assert bob.execute("SELECT count(class) FROM alice.m_predictions").fetchone() == (449,)
    alice.execute("SELECT pgdl.unshare_model('m', 'bob')")
    with pytest.raises(psycopg.errors.UndefinedObject):
        bob.execute("SELECT count(class) FROM alice.m_predictions").fetchall()


def cache_state(conn):
    """(sessions cached, Scorer objects alive, wrapper instances) of the backend."""
    conn.execute("""DO LANGUAGE plpython3u $$
import gc
from pgdl import dispatch
from pgdl.engine import scoring
alive = sum(isinstance(o, scoring.Scorer) for o in gc.get_objects())
plpy.notice("%d %d %d" % (len(scoring._cache), alive, len(dispatch._instances)))
$$""")


def test_caches_stay_bounded(alice_digits, db, messages):
    alice, bob = alice_digits
    for seed in range(1, 12):
        import_digit_model(alice, "m", seed=seed)                 # versions 2 to 12
    db.commit()
    for version in range(1, 13):
        db.execute("ALTER FOREIGN TABLE alice.m_predictions OPTIONS (ADD version '%d')" % version)
        assert db.execute("SELECT DISTINCT version FROM alice.m_predictions").fetchall() \
            == [(version,)]
        db.execute("ALTER FOREIGN TABLE alice.m_predictions OPTIONS (DROP version)")
    cache_state(db)
    sessions, alive, instances = map(int, messages[-1][1].split())
    assert sessions <= 8 and alive <= 8 and instances <= 64
    db.execute("ALTER FOREIGN TABLE alice.m_predictions OPTIONS (ADD version '3')")
    assert db.execute("SELECT DISTINCT version FROM alice.m_predictions").fetchall() == [(3,)]
