"""Fixtures for pgdl's tests.

One throwaway PostgreSQL 15 cluster per test run, started by the harness
itself (as the postgres OS user when run as root), with the test wrappers of
tests/wrappers on the server's PYTHONPATH.  pytest-postgresql makes a
template database with pgdl installed and gives each test a fresh copy.
"""

import os
import shutil

import psycopg
import pytest
from pytest_postgresql import factories

from pgdl_tools.cluster import throwaway

WRAPPERS = os.path.join(os.path.dirname(__file__), "wrappers")


def _copy_wrappers(directory):
    target = os.path.join(directory, "wrappers")
    shutil.copytree(WRAPPERS, target, ignore=shutil.ignore_patterns("__pycache__"))
    for root, dirs, files in os.walk(target):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return {"PYTHONPATH": target}


def pytest_configure(config):
    config._pgdl_cluster = throwaway(before_start=_copy_wrappers)
    cluster = config._pgdl_cluster.__enter__()
    config.option.postgresql_host = cluster.host
    config.option.postgresql_port = str(cluster.port)
    config.option.postgresql_user = "postgres"
    config.pgdl_cluster = cluster


def pytest_unconfigure(config):
    if getattr(config, "_pgdl_cluster", None):
        config._pgdl_cluster.__exit__(None, None, None)


def install_pgdl(host, port, user, dbname, password=None, **_):
    with psycopg.connect(host=host, port=port, user=user, dbname=dbname) as conn:
        conn.execute("CREATE EXTENSION pgdl CASCADE")


pgdl_template = factories.postgresql_noproc(dbname="pgdl_test", load=[install_pgdl])
db = factories.postgresql("pgdl_template")


@pytest.fixture
def cluster(request):
    return request.config.pgdl_cluster


@pytest.fixture
def connect(db, cluster):
    """Opens more connections to the test's database, as any role."""
    opened = []

    def open_connection(user="postgres", autocommit=True):
        conn = psycopg.connect(host=cluster.host, port=cluster.port, user=user,
                               dbname=db.info.dbname, autocommit=autocommit)
        opened.append(conn)
        return conn

    yield open_connection
    for conn in opened:
        conn.close()


@pytest.fixture
def plain(db, connect):
    """A connection as `plain`, a role with no privileges beyond LOGIN."""
    db.execute("""DO $$ BEGIN CREATE ROLE plain LOGIN;
                  EXCEPTION WHEN duplicate_object THEN NULL; END $$""")
    db.commit()
    return connect("plain")


@pytest.fixture
def messages(db):
    """INFO/NOTICE/WARNING messages the server sends to the test's connection."""
    received = []
    db.add_notice_handler(lambda diag: received.append((diag.severity_nonlocalized,
                                                        diag.message_primary, diag.message_hint)))
    return received
