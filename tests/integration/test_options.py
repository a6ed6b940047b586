"""Option validation and who may name Python code."""

import psycopg
import pytest


def test_unknown_server_option_lists_the_valid_ones(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as caught:
        db.execute("CREATE SERVER s FOREIGN DATA WRAPPER pgdl_fdw OPTIONS (colour 'red')")
    assert caught.value.diag.message_primary == \
        'invalid option "colour" for a server of pgdl_fdw'
    assert caught.value.diag.message_hint == "Valid options in this context are: wrapper, segments."


def test_wrapper_options_are_not_valid_on_the_wrapper_itself(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as caught:
        db.execute("ALTER FOREIGN DATA WRAPPER pgdl_fdw OPTIONS (ADD segments '2')")
    assert caught.value.diag.message_hint == "There are no valid options in this context."


def test_wrapper_is_a_server_option_only(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as caught:
        db.execute("""CREATE FOREIGN TABLE t (x text) SERVER pgdl
                      OPTIONS (wrapper 'os.system')""")
    # multicorn2's words
    assert (caught.value.diag.message_primary, caught.value.diag.message_hint) == (
        "Cannot set the wrapper class on the table", "Set it on the server")
    db.rollback()
    with pytest.raises(psycopg.errors.FdwInvalidOptionName,
                       match='option "wrapper" is only valid for a server, not a user mapping'):
        db.execute("CREATE USER MAPPING FOR current_user SERVER pgdl "
                   "OPTIONS (wrapper 'os.system')")


@pytest.mark.parametrize("statement", [
    "CREATE SERVER bare FOREIGN DATA WRAPPER pgdl_fdw",
    "CREATE SERVER bare FOREIGN DATA WRAPPER pgdl_fdw OPTIONS (segments '2')",
    "ALTER SERVER pgdl OPTIONS (DROP wrapper)",
])
def test_a_server_must_name_what_serves_it(db, statement):
    with pytest.raises(psycopg.errors.FdwDynamicParameterValueNeeded) as caught:
        db.execute(statement)
    assert caught.value.diag.message_primary == \
        "The wrapper parameter is mandatory, specify a valid class name"
    assert caught.value.diag.message_hint == \
        "A server for pgdl's own table kinds says OPTIONS (wrapper 'pgdl')."


def test_the_server_pgdl_names_pgdl_as_its_wrapper(db):
    assert db.execute("SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'pgdl'"
                      ).fetchone() == (["wrapper=pgdl"],)
    db.execute("ALTER SERVER pgdl OPTIONS (ADD segments '2')")
    db.execute("ALTER SERVER pgdl OPTIONS (DROP segments)")


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "100000"])
def test_segments_must_be_a_sensible_whole_number(db, value):
    with pytest.raises(psycopg.errors.FdwInvalidAttributeValue,
                       match='invalid value for option "segments"'):
        db.execute("CREATE FOREIGN TABLE t (x int8) SERVER pgdl "
                   "OPTIONS (kind 'series', segments '%s')" % value)


def test_unknown_kind_lists_the_kinds(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as caught:
        db.execute("CREATE FOREIGN TABLE t (x int8) SERVER pgdl OPTIONS (kind 'mystery')")
    assert caught.value.diag.message_primary == \
        'unknown kind "mystery" for foreign table being defined'
    assert caught.value.diag.message_hint.startswith("Valid kinds are: ")
    assert "series" in caught.value.diag.message_hint


def test_unknown_option_of_a_kind_lists_its_options(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as caught:
        db.execute("""CREATE FOREIGN TABLE t (x int8) SERVER pgdl
                      OPTIONS (kind 'series', begin '1')""")
    assert caught.value.diag.message_primary == \
        'invalid option "begin" for a table of kind "series"'
    assert caught.value.diag.message_hint == \
        "Valid options are: kind, segments, start, step, stop."


def test_bad_value_of_a_kind_option(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName,
                       match='invalid value for option "start": "one"'):
        db.execute("""CREATE FOREIGN TABLE t (x int8) SERVER pgdl
                      OPTIONS (kind 'series', start 'one')""")


def test_a_table_without_kind_on_server_pgdl_is_refused_when_used(db):
    db.execute("CREATE FOREIGN TABLE t (x int8) SERVER pgdl")
    with pytest.raises(psycopg.errors.FdwInvalidOptionName) as caught:
        db.execute("SELECT * FROM t")
    assert caught.value.diag.message_primary == 'foreign table public.t has no option "kind"'


@pytest.fixture
def user(db, plain):
    """plain, allowed to use pgdl_fdw and server pgdl, but no superuser."""
    db.execute("GRANT USAGE ON FOREIGN DATA WRAPPER pgdl_fdw TO plain")
    db.execute("GRANT USAGE ON FOREIGN SERVER pgdl TO plain")
    db.execute("GRANT CREATE ON SCHEMA public TO plain")
    db.commit()
    return plain


def test_a_non_superuser_cannot_name_a_wrapper_class(user):
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        user.execute("""CREATE SERVER mine FOREIGN DATA WRAPPER pgdl_fdw
                         OPTIONS (wrapper 'os.system')""")
    assert caught.value.diag.message_primary == 'only a superuser can set option "wrapper"'


def test_a_non_superuser_cannot_add_a_wrapper_to_a_server_it_owns(user):
    user.execute("CREATE SERVER mine FOREIGN DATA WRAPPER pgdl_fdw "
                 "OPTIONS (wrapper 'pgdl', segments '2')")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        user.execute("ALTER SERVER mine OPTIONS (SET wrapper 'os.system')")
    # its own server serves pgdl's kinds
    user.execute("""CREATE FOREIGN TABLE halves (value int8, segment int4) SERVER mine
                     OPTIONS (kind 'series', start '1', stop '4')""")
    assert user.execute("SELECT segment, sum(value) FROM halves GROUP BY 1 ORDER BY 1"
                        ).fetchall() == [(0, 3), (1, 7)]


def test_a_non_superuser_uses_pgdl_kinds(user):
    user.execute("""CREATE FOREIGN TABLE mine (value int8) SERVER pgdl
                     OPTIONS (kind 'series', start '1', stop '3')""")
    assert user.execute("SELECT * FROM mine").fetchall() == [(1,), (2,), (3,)]
