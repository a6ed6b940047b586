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
    with pytest.raises(psycopg.errors.FdwInvalidOptionName,
                       match='option "wrapper" is only valid for a server, not a foreign table'):
        db.execute("""CREATE FOREIGN TABLE t (x text) SERVER pgdl
                      OPTIONS (wrapper 'os.system')""")


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
    user.execute("CREATE SERVER mine FOREIGN DATA WRAPPER pgdl_fdw")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        user.execute("ALTER SERVER mine OPTIONS (ADD wrapper 'os.system')")


def test_a_non_superuser_uses_pgdl_kinds(user):
    user.execute("""CREATE FOREIGN TABLE mine (value int8) SERVER pgdl
                     OPTIONS (kind 'series', start '1', stop '3')""")
    assert user.execute("SELECT * FROM mine").fetchall() == [(1,), (2,), (3,)]
