"""multicorn2's writable API and transaction hooks on pgdl_fdw: UPDATE and
DELETE by the class's rowid column, bulk_insert, begin / pre_commit /
commit / rollback and the savepoint hooks, end_scan and end_modify, sort
and LIMIT pushdown and multicorn2's cost model
(tests/wrappers/writable_style.py)."""

from datetime import date

import psycopg
import pytest


def journal(db, table, columns, **options):
    """A JournalFDW table; its store is named after it unless options say."""
    options.setdefault("store", table)
    db.execute("CREATE SERVER IF NOT EXISTS journal FOREIGN DATA WRAPPER pgdl_fdw "
               "OPTIONS (wrapper 'writable_style.JournalFDW')")
    db.execute("CREATE FOREIGN TABLE %s (%s) SERVER journal OPTIONS (%s)" % (
        table, columns, ", ".join("%s '%s'" % item for item in options.items())))


@pytest.fixture
def people(db):
    journal(db, "people", "id int4, name text, born date, seen timestamp")
    db.commit()
    db.execute("""INSERT INTO people VALUES (1, 'one', '2001-01-01', '2020-05-01 10:00'),
                                            (2, 'two', '2002-02-02', '2020-05-02 11:30'),
                                            (3, 'three', '2003-03-03', NULL)""")
    db.commit()
    return db


def hooks(messages):
    return [text[len("hook: "):] for _, text, _ in messages if text.startswith("hook: ")]


def notices(messages, prefix):
    return [text[len(prefix):] for _, text, _ in messages if text.startswith(prefix)]


def names(db):
    return db.execute("SELECT id, name FROM people ORDER BY id").fetchall()


def test_update_and_delete_reach_the_class_by_its_rowid_column(people, messages):
    updated = people.execute("UPDATE people SET name = 'deux' WHERE id = 2 "
                             "RETURNING id, name").fetchall()
    # update(rowid, newvalues) gets the whole new row; RETURNING shows what it returned
    assert notices(messages, "update: ") == [
        "2 with [('born', datetime.date(2002, 2, 2)), ('id', 2), ('name', 'deux'), "
        "('seen', datetime.datetime(2020, 5, 2, 11, 30))]"]
    assert updated == [(2, "deux (updated)")]
    # DELETE ... RETURNING shows the row as it was (delete() returned nothing)
    deleted = people.execute("DELETE FROM people WHERE name = 'one' RETURNING id, name, born"
                             ).fetchall()
    assert notices(messages, "delete: ") == ["1"]
    assert deleted == [(1, "one", date(2001, 1, 1))]
    people.commit()
    assert names(people) == [(2, "deux"), (3, "three")]


def test_writes_commit_and_roll_back_with_the_transaction(people, messages):
    messages.clear()
    people.execute("INSERT INTO people (id, name) VALUES (4, 'four')")
    people.rollback()
    assert hooks(messages) == ["begin", "end_modify", "rollback"]
    assert names(people) == [(1, "one"), (2, "two"), (3, "three")]
    people.commit()

    messages.clear()
    people.execute("INSERT INTO people (id, name) VALUES (4, 'four')")
    people.execute("DELETE FROM people WHERE id = 1")
    people.commit()
    # a DELETE ends its write before the scan that found the rows
    assert hooks(messages) == ["begin", "end_modify", "end_modify", "end_scan",
                               "pre_commit", "commit"]
    assert names(people) == [(2, "two"), (3, "three"), (4, "four")]


def test_a_savepoint_rolled_back_drops_its_writes(people, messages):
    messages.clear()
    people.execute("INSERT INTO people (id, name) VALUES (4, 'four')")
    people.execute("SAVEPOINT s")
    people.execute("INSERT INTO people (id, name) VALUES (5, 'five')")
    people.execute("ROLLBACK TO SAVEPOINT s")
    people.execute("SAVEPOINT t")
    people.execute("INSERT INTO people (id, name) VALUES (6, 'six')")
    people.execute("RELEASE SAVEPOINT t")
    people.commit()
    # ROLLBACK TO keeps savepoint s, so t is level 3; COMMIT releases s
    assert [hook for hook in hooks(messages) if hook.startswith("sub_")] == [
        "sub_begin 2", "sub_rollback 2", "sub_begin 2", "sub_begin 3", "sub_commit 3",
        "sub_commit 2"]
    assert names(people)[-2:] == [(4, "four"), (6, "six")]


def test_a_failing_pre_commit_aborts_the_commit(db, messages):
    journal(db, "refusing", "id int4, name text", fail="pre_commit")
    db.commit()
    db.execute("INSERT INTO refusing VALUES (1, 'one')")
    with pytest.raises(psycopg.Error) as caught:
        db.commit()
    assert caught.value.diag.message_primary == "Error in python: ValueError"
    assert caught.value.diag.message_detail == "the store refuses this transaction"
    assert hooks(messages)[-2:] == ["pre_commit", "rollback"]
    assert db.execute("SELECT count(*) FROM refusing").fetchone() == (0,)


def test_a_class_without_a_rowid_column_takes_no_writes(db):
    db.execute("""
        CREATE SERVER readonly FOREIGN DATA WRAPPER pgdl_fdw
            OPTIONS (wrapper 'writable_style.ReadOnlyFDW');
        CREATE FOREIGN TABLE fixed (x text) SERVER readonly""")
    db.commit()
    for sql in ("INSERT INTO fixed VALUES ('a')", "UPDATE fixed SET x = 'b'",
                "DELETE FROM fixed"):
        with pytest.raises(psycopg.Error) as caught:
            db.execute(sql)
        assert caught.value.diag.message_primary == "Error in python: NotImplementedError"
        assert caught.value.diag.message_detail == "This FDW does not support the writable API"
        db.rollback()
    # pgdl's own kinds take INSERT only
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState,
                       match='foreign table "model_training" does not allow updates'):
        db.execute("UPDATE pgdl.model_training SET iterations = 1")


def test_a_rowid_column_the_table_lacks_is_an_error(db):
    journal(db, "keyless", "id int4", key="nothing")
    with pytest.raises(psycopg.errors.FdwColumnNameNotFound,
                       match='rowid column "nothing" of foreign table "keyless" does not exist'):
        db.execute("DELETE FROM keyless")


def test_inserts_go_to_bulk_insert_in_batches(db, messages):
    journal(db, "batched", "id int4, name text", batch="3")
    db.execute("INSERT INTO batched SELECT g, 'n' || g FROM generate_series(1, 7) g")
    assert notices(messages, "bulk_insert: ") == ["3 rows", "3 rows", "1 rows"]
    db.commit()
    assert db.execute("SELECT count(*), sum(id) FROM batched").fetchone() == (7, 28)
    # RETURNING needs each row's answer: one insert() per row
    messages.clear()
    assert db.execute("INSERT INTO batched VALUES (8, 'n8'), (9, 'n9') RETURNING id"
                      ).fetchall() == [(8,), (9,)]
    assert len(notices(messages, "insert: ")) == 2 and not notices(messages, "bulk_insert: ")


def test_dates_and_timestamps_reach_the_class_as_objects_whatever_the_datestyle(people,
                                                                                 messages):
    people.execute("SET DateStyle = 'SQL, DMY'")
    people.execute("INSERT INTO people VALUES (9, 'nine', '09/10/2009', '09/10/2009 08:07:06')")
    assert notices(messages, "insert: ") == [
        "[('born', 'date'), ('id', 'int'), ('name', 'str'), ('seen', 'datetime')]"]
    people.commit()
    rows = people.execute("SELECT id FROM people WHERE born > '01/01/2003' "
                          "AND seen < '2021-01-01'::timestamp ORDER BY id").fetchall()
    assert notices(messages, "execute: ")[-1].startswith(
        "quals ['born > 2003-01-01', 'seen < 2021-01-01 00:00:00'], "
        "qual types ['date', 'datetime']")
    assert rows == [(9,)]


def test_sort_pushdown_drops_the_sort_when_the_class_accepts_the_keys(db, messages):
    journal(db, "sorting", "id int4, name text", sort="yes")
    journal(db, "unsorted", "id int4, name text", store="sorting")
    db.execute("INSERT INTO sorting VALUES (1, 'b'), (2, 'c'), (3, 'a')")
    db.commit()
    sql = "SELECT id FROM %s ORDER BY name DESC"
    plan = [row[0] for row in db.execute("EXPLAIN " + sql % "sorting")]
    assert not any("Sort" in line for line in plan), plan
    messages.clear()
    assert db.execute(sql % "sorting").fetchall() == [(2,), (1,), (3,)]
    assert notices(messages, "execute: ")[0].endswith("sortkeys [('name', True)]")
    # a class that accepts no keys: PostgreSQL sorts
    plan = [row[0] for row in db.execute("EXPLAIN " + sql % "unsorted")]
    assert any("Sort" in line for line in plan), plan
    assert db.execute(sql % "unsorted").fetchall() == [(2,), (1,), (3,)]


def plan_of(db, sql, *params):
    return "\n".join(row[0] for row in db.execute("EXPLAIN " + sql, params))


@pytest.fixture
def limited(db):
    journal(db, "limited", "id int4, name text", sort="yes", limit="yes")
    journal(db, "unlimited", "id int4, name text", store="limited", sort="yes")
    db.execute("INSERT INTO limited VALUES (1, 'b'), (2, 'c'), (3, 'a'), (4, 'd')")
    db.commit()
    return db


def test_limit_pushdown_drops_the_limit_when_the_class_takes_it(limited, messages):
    sql = "SELECT id FROM limited ORDER BY name DESC LIMIT 2 OFFSET 1"
    plan = plan_of(limited, sql)
    assert plan.startswith("Foreign Scan on limited") and "Limit" not in plan \
        and "Sort" not in plan, plan
    assert "can_limit: 2 1" in notices(messages, "")
    messages.clear()
    assert limited.execute(sql).fetchall() == [(2,), (1,)]
    assert notices(messages, "execute: ")[0].endswith(
        "sortkeys [('name', True)], [('limit', 2), ('offset', 1)]")
    # no ORDER BY; an OFFSET alone; an expression of the columns
    messages.clear()
    assert limited.execute("SELECT id * 10 FROM limited LIMIT 1").fetchall() == [(10,)]
    assert notices(messages, "execute: ")[0].endswith("sortkeys [], [('limit', 1)]")
    messages.clear()
    assert limited.execute("SELECT id FROM limited OFFSET 3").fetchall() == [(4,)]
    assert notices(messages, "execute: ")[0].endswith("[('offset', 3)]")
    assert "Limit" not in plan_of(limited, "SELECT id FROM limited LIMIT 1")


def test_a_class_that_takes_the_limit_is_held_to_it(limited):
    journal(limited, "careless", "id int4, name text", store="limited", sort="yes",
            limit="ignored")
    sql = "SELECT id FROM careless ORDER BY name DESC LIMIT 2"
    assert "Limit" not in plan_of(limited, sql)
    assert limited.execute(sql).fetchall() == [(4,), (2,)]


@pytest.mark.parametrize("sql, params", [
    ("SELECT id FROM unlimited ORDER BY name DESC LIMIT 2 OFFSET 1", ()),  # class says no
    ("SELECT id FROM limited WHERE id > 0 ORDER BY name DESC LIMIT 2 OFFSET 1", ()),
    ("SELECT id FROM limited ORDER BY name || '' DESC LIMIT 2 OFFSET 1", ()),  # sorted here
    ("SELECT a.id FROM limited a JOIN limited b USING (id) ORDER BY a.name DESC LIMIT 2 "
     "OFFSET 1", ()),
])
def test_a_limit_the_class_cannot_take_whole_stays_with_postgresql(limited, sql, params):
    assert "Limit" in plan_of(limited, sql, *params)
    assert limited.execute(sql, params).fetchall() == [(2,), (1,)]


def test_a_limit_that_is_a_parameter_or_returns_more_rows_stays_with_postgresql(limited):
    limited.execute("SET plan_cache_mode = force_generic_plan")
    limited.execute("PREPARE top(int8) AS SELECT id FROM limited ORDER BY name LIMIT $1")
    assert "Limit" in plan_of(limited, "EXECUTE top(2)")
    assert limited.execute("EXECUTE top(2)").fetchall() == [(3,), (1,)]
    # a set-returning function in the select list makes more rows than the scan
    sql = "SELECT id, generate_series(1, 2) FROM limited ORDER BY name LIMIT 3"
    assert "Limit" in plan_of(limited, sql)
    assert limited.execute(sql).fetchall() == [(3, 1), (3, 2), (1, 1)]
    with pytest.raises(psycopg.errors.InvalidRowCountInLimitClause):
        limited.execute("SELECT id FROM limited LIMIT -1")


def test_a_plain_class_is_costed_as_multicorn2_costs_it(people):
    # get_rel_size's default: 100000000 rows, 100 bytes a column; _startup_cost 20
    line = people.execute("EXPLAIN SELECT id, name FROM people").fetchone()[0]
    assert "(cost=20.00..20000000000.00 rows=100000000 width=200)" in line, line


def test_values_pl_python_would_refuse_arrive_as_multicorn2_writes_them(db):
    db.execute("CREATE EXTENSION IF NOT EXISTS hstore")
    db.execute("""
        CREATE SERVER loose FOREIGN DATA WRAPPER pgdl_fdw
            OPTIONS (wrapper 'writable_style.LooseValuesFDW');
        CREATE FOREIGN TABLE loose (y bytea, t text, h hstore) SERVER loose""")
    assert db.execute("SELECT y, t, h -> 'a', h -> 'quote\"d', h -> 'none' IS NULL FROM loose"
                      ).fetchone() == ("caf\u00e9".encode("utf-8"), "caf\u00e9", "1",
                                       "back\\slash", True)


def test_the_transaction_hooks_see_a_read_only_transaction_too(people, messages):
    messages.clear()
    names(people)
    people.commit()
    assert hooks(messages) == ["begin", "end_scan", "pre_commit", "commit"]
