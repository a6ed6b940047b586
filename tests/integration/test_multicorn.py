"""Classes written for multicorn2 (tests/wrappers/multicorn_style.py) run
unchanged on pgdl_fdw: `import multicorn` resolves to pgdl's API."""

import psycopg
import pytest


@pytest.fixture
def constant(db):
    db.execute("""CREATE SERVER constant FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.ConstantFDW')""")
    db.execute("""CREATE FOREIGN TABLE constants (test text, test2 text) SERVER constant
                  OPTIONS (rows '20')""")
    return db


def test_the_multicorn_tutorial_wrapper_runs_unchanged(constant):
    rows = constant.execute("SELECT * FROM constants ORDER BY test2 LIMIT 3").fetchall()
    assert rows[0] == ("test 0", "test2 0")
    assert constant.execute("SELECT count(*) FROM constants").fetchone() == (20,)
    assert constant.execute(
        "SELECT test FROM constants WHERE test2 = 'test2 7'").fetchall() == [("test 7",)]


def test_multicorn_resolves_to_pgdl_inside_the_server(constant):
    constant.execute("SELECT count(*) FROM constants")
    constant.execute("""
        DO $$
        import multicorn, multicorn.utils
        assert multicorn.__name__ == "pgdl.multicorn", multicorn.__name__
        assert multicorn.utils.__name__ == "pgdl.multicorn.utils"
        $$ LANGUAGE plpython3u""")


def test_get_rel_size_gives_the_row_estimate(constant):
    plan = constant.execute("EXPLAIN SELECT * FROM constants").fetchone()[0]
    assert "rows=20 " in plan and "width=40" in plan


def test_explain_shows_the_wrapper_lines(constant):
    text = "\n".join(r[0] for r in constant.execute("EXPLAIN SELECT * FROM constants"))
    assert "Constant rows: 20" in text
    as_json = constant.execute("EXPLAIN (FORMAT JSON) SELECT * FROM constants").fetchone()[0]
    assert as_json[0]["Plan"]["Constant rows"] == "20"


def test_limit_stops_the_generator_early(constant):
    constant.execute("ALTER FOREIGN TABLE constants OPTIONS (SET rows '100000000')")
    assert constant.execute("SELECT test FROM constants LIMIT 2").fetchall() == \
        [("test 0",), ("test 1",)]


def test_new_options_make_a_new_instance(constant):
    constant.execute("ALTER FOREIGN TABLE constants OPTIONS (SET rows '3')")
    assert constant.execute("SELECT count(*) FROM constants").fetchone() == (3,)


def test_log_to_postgres_error_arrives_with_detail_and_hint(db):
    db.execute("""CREATE SERVER failing FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.FailingFDW')""")
    db.execute("CREATE FOREIGN TABLE broken (x text) SERVER failing")
    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT * FROM broken").fetchall()
    diag = caught.value.diag
    assert diag.message_primary == "the source is unreachable"
    assert diag.message_hint == "Check the source option."
    assert diag.message_detail == "tried 3 times"
    db.rollback()
    assert db.execute("SELECT 1").fetchone() == (1,)   # the session goes on


def test_a_python_exception_names_its_class_as_multicorn2_does(db):
    db.execute("""CREATE SERVER failing FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.FailingFDW')""")
    db.execute("CREATE FOREIGN TABLE broken (x text) SERVER failing OPTIONS (mode 'exception')")
    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT * FROM broken").fetchall()
    assert caught.value.diag.message_primary == "Error in python: ValueError"
    assert caught.value.diag.message_detail == "no rows here"


def test_log_to_postgres_warning_reaches_the_client(db, messages):
    db.execute("""CREATE SERVER failing FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.FailingFDW')""")
    db.execute("CREATE FOREIGN TABLE soft (x text) SERVER failing OPTIONS (mode 'warning')")
    assert db.execute("SELECT * FROM soft").fetchall() == [("made up",)]
    assert ("WARNING", "the rows are made up", "trust them anyway") in messages


def test_log_to_postgres_info_arrives_as_a_notice_as_multicorn2_sends_it(db, messages):
    db.execute("""CREATE SERVER recording FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.RecordingFDW');
                  CREATE FOREIGN TABLE typed (i int4, b int8, f float8, t text, y bytea,
                                              ia int4[], ta text[], flag bool, n numeric)
                      SERVER recording""")
    db.execute("SELECT i FROM typed").fetchall()
    assert ("NOTICE", "columns: ['i']", None) in messages
    messages.clear()
    db.execute("SET client_min_messages = warning")
    db.execute("SELECT i FROM typed").fetchall()
    assert messages == []


def test_a_wrapper_class_that_does_not_load_is_a_clear_error(db):
    db.execute("""CREATE SERVER missing FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'no_such_module.Wrapper')""")
    db.execute("CREATE FOREIGN TABLE nothing (x text) SERVER missing")
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as caught:
        db.execute("SELECT * FROM nothing")
    assert 'wrapper class "no_such_module.Wrapper" of foreign table public.nothing' in \
        caught.value.diag.message_primary
    assert caught.value.diag.message_hint.startswith("Name a class as module.Class")


def test_import_foreign_schema(constant):
    constant.execute("CREATE SCHEMA imported")
    constant.execute("""IMPORT FOREIGN SCHEMA remote LIMIT TO (alpha, gamma)
                        FROM SERVER constant INTO imported OPTIONS (rows '4')""")
    tables = constant.execute("""
        SELECT c.relname, ft.ftoptions FROM pg_foreign_table ft
        JOIN pg_class c ON c.oid = ft.ftrelid
        WHERE c.relnamespace = 'imported'::regnamespace ORDER BY 1""").fetchall()
    assert tables == [("alpha", ["rows=4", "source=remote.alpha"]),
                      ("gamma", ["rows=4", "source=remote.gamma"])]
    assert constant.execute("SELECT label FROM imported.alpha LIMIT 1").fetchone() == \
        ("label 0",)


def test_execute_may_return_none_and_yield_none(db):
    db.execute("""CREATE SERVER sparse FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.SparseFDW')""")
    db.execute("CREATE FOREIGN TABLE none_at_all (id int) SERVER sparse OPTIONS (rows '0')")
    db.execute("CREATE FOREIGN TABLE some_none (id int) SERVER sparse OPTIONS (rows '3')")
    assert db.execute("SELECT count(*) FROM none_at_all").fetchone() == (0,)
    assert db.execute("SELECT id FROM some_none ORDER BY id").fetchall() == [(0,), (1,), (2,)]


def test_user_mapping_options_reach_the_wrapper_as_its_role_maps(db, plain):
    """As multicorn2 does, a wrapper class receives the options of the user
    mapping of the role that queries (its own, else PUBLIC's); they add to
    the server's and the table's, which they never replace."""
    db.execute("""CREATE SERVER mapped FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.OptionsFDW', host 'db1')""")
    db.execute("CREATE FOREIGN TABLE mapped_options (name text, value text) SERVER mapped "
               "OPTIONS (tbl 'sales')")
    db.execute("GRANT SELECT ON mapped_options TO plain")
    db.execute("CREATE USER MAPPING FOR postgres SERVER mapped "
               "OPTIONS (user 'admin', password 'secret', tbl 'elsewhere')")
    db.execute("CREATE USER MAPPING FOR PUBLIC SERVER mapped OPTIONS (user 'guest')")
    db.commit()
    query = "SELECT name, value FROM mapped_options"
    assert db.execute(query).fetchall() == [
        ("host", "db1"), ("password", "secret"), ("tbl", "sales"), ("user", "admin")]
    assert plain.execute(query).fetchall() == [
        ("host", "db1"), ("tbl", "sales"), ("user", "guest")]
    db.execute("DROP USER MAPPING FOR PUBLIC SERVER mapped")
    db.commit()
    assert plain.execute(query).fetchall() == [("host", "db1"), ("tbl", "sales")]

    # pgdl's own table kinds read no user mapping: a role cannot re-point one
    db.execute("CREATE USER MAPPING FOR postgres SERVER pgdl OPTIONS (kind 'training_segments')")
    assert db.execute("SELECT count(*) FROM pgdl.model_training").fetchone() == (0,)
