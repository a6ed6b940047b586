"""A throwaway Citus cluster (a coordinator and two workers) for the tests
of pgdl on Citus.  `make test` installs Citus first (scripts/citus.sh)."""

import psycopg
import pytest

from pgdl_tools.citus import citus_installed, throwaway_citus

DBNAME = "pgdl_citus"


@pytest.fixture(scope="session")
def citus_cluster():
    if not citus_installed():
        pytest.fail("Citus is not installed: run scripts/citus.sh (make test does)")
    with throwaway_citus() as cluster:
        cluster.create_database(DBNAME)
        yield cluster


@pytest.fixture
def coordinator_uri(citus_cluster):
    return citus_cluster.uri(DBNAME)


@pytest.fixture
def coordinator(citus_cluster):
    """A connection to the coordinator; what a test makes there is dropped after it."""
    conn = psycopg.connect(citus_cluster.uri(DBNAME), autocommit=True)
    yield conn
    conn.close()
    # cleaned up in a session of its own: a test may leave Citus's connections
    # to a restarted worker broken in the first
    conn = psycopg.connect(citus_cluster.uri(DBNAME), autocommit=True)
    conn.execute("SELECT pgdl.drop_model(model, cascade => true) "
                 "FROM (SELECT DISTINCT model FROM pgdl.models) m")
    for name, kind in conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'f') "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid "
            "AND d.deptype = 'e')").fetchall():
        conn.execute('DROP %s IF EXISTS "%s" CASCADE'
                     % ("FOREIGN TABLE" if kind == "f" else "TABLE", name))
    conn.close()
