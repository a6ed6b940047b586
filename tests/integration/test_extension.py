"""CREATE EXTENSION pgdl: schema, foreign-data wrapper, server, internals."""

import psycopg
import pytest


def test_extension_creates_schema_wrapper_and_server(db):
    schema = db.execute("SELECT nspname FROM pg_namespace WHERE nspname = 'pgdl'").fetchone()
    assert schema == ("pgdl",)
    fdw = db.execute("""
        SELECT fdwhandler::regproc::text, fdwvalidator::regproc::text
        FROM pg_foreign_data_wrapper WHERE fdwname = 'pgdl_fdw'""").fetchone()
    assert fdw == ("pgdl.fdw_handler", "pgdl.fdw_validator")
    server = db.execute("""
        SELECT s.srvname FROM pg_foreign_server s
        JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
        WHERE w.fdwname = 'pgdl_fdw'""").fetchall()
    assert server == [("pgdl",)]


def test_extension_needs_plpython_and_cascade_installs_it(db):
    installed = db.execute("SELECT extname FROM pg_extension ORDER BY 1").fetchall()
    assert ("plpython3u",) in installed and ("pgdl",) in installed


def test_site_packages_follows_the_venv_setting(db):
    path = db.execute("SELECT pgdl.site_packages()").fetchone()[0]
    venv = db.execute("SHOW pgdl.venv").fetchone()[0]
    assert path == venv + "/lib/python3.11/site-packages"


def test_only_a_superuser_sets_the_venv(db, plain):
    db.execute("""CREATE FOREIGN TABLE few (value int8) SERVER pgdl
                  OPTIONS (kind 'series', start '1', stop '2')""")
    db.execute("GRANT SELECT ON few TO plain")
    db.commit()
    default = db.execute("SHOW pgdl.venv").fetchone()[0]
    # Before pgdl's library loads, the setting is a placeholder; loading it
    # throws away a value a non-superuser set.
    plain.execute("SET pgdl.venv = '/tmp/elsewhere'")
    assert plain.execute("SELECT * FROM few").fetchall() == [(1,), (2,)]
    assert plain.execute("SHOW pgdl.venv").fetchone()[0] == default
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        plain.execute("SET pgdl.venv = '/tmp/elsewhere'")


def test_internal_functions_refuse_other_users(plain):
    conn = plain
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("""SELECT * FROM pgdl_internal._fdw_scan(
            '{"wrapper": "os.system"}', '{}', '{}', 0, 1, NULL, NULL) AS t(x text)""")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("""SELECT * FROM pgdl_internal._fdw_scan_columns(
            '{"wrapper": "os.system"}', '{}', '{}', 0, 1, NULL, NULL)""")
    for call in ("pgdl_internal._import_onnx('m', '', NULL, NULL, NULL, NULL, NULL, NULL, false, NULL)",
                 "pgdl_internal._evaluate('m', 't', NULL, NULL, NULL)",
                 "pgdl_internal._create_predictions_table('p', 'm', 't', NULL, NULL, NULL, NULL, NULL, "
                 "NULL, NULL, NULL)"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT %s" % call)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT pgdl_internal._python_boot('/tmp')")
