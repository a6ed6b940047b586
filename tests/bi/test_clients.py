"""The clients BI tools are built on, against predictions tables: what each
lists, and prepared statements past the switch to generic plans.  They
connect over TCP to 127.0.0.1, as BI tools do."""

import os
import subprocess

import pandas
import pytest
import sqlalchemy

CLIENTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "clients")


@pytest.fixture
def with_view(digits_model):
    digits_model.execute("SELECT pgdl.create_predictions_table('m_pv', 'm', 'digits_test', "
                         "pass_through => '{label}', view => 'm_v')")
    digits_model.commit()
    return digits_model


@pytest.fixture
def engine(with_view, cluster):
    engine = sqlalchemy.create_engine("postgresql+psycopg://postgres@127.0.0.1:%d/%s" % (
        cluster.port, with_view.info.dbname))
    yield engine
    engine.dispose()


def test_sqlalchemy_lists_the_view_and_names_the_foreign_tables_apart(engine):
    inspector = sqlalchemy.inspect(engine)
    assert [n for n in inspector.get_table_names() if n.startswith("m_")] == []
    assert sorted(n for n in inspector.get_foreign_table_names() if n.startswith("m_")) == \
        ["m_p", "m_pv"]
    assert inspector.get_view_names() == ["m_v"]
    assert [c["name"] for c in inspector.get_columns("m_v")][:3] == ["id", "version", "class"]
    metadata = sqlalchemy.MetaData()
    metadata.reflect(engine, views=True)
    assert "m_v" in metadata.tables and "m_p" not in metadata.tables


def test_pandas_reads_the_view_as_a_table_and_any_predictions_by_query(engine, with_view):
    frame = pandas.read_sql_table("m_v", engine)
    assert len(frame) == 449 and set(frame.columns) >= {"id", "class", "probability", "label"}
    with pytest.raises(sqlalchemy.exc.InvalidRequestError, match="m_p"):
        pandas.read_sql_table("m_p", engine)            # a foreign table: query it instead
    queried = pandas.read_sql_query("SELECT id, class FROM m_p ORDER BY id", engine)
    assert queried["class"].tolist() == frame.sort_values("id")["class"].tolist()


def test_sqlalchemy_bound_statements_past_the_generic_plan(engine, with_view):
    expected = with_view.execute("SELECT class FROM m_p WHERE id = 7").fetchone()[0]
    statement = sqlalchemy.text("SELECT class FROM pgdl.predictions WHERE model = :model "
                                "AND source = :source AND key = :key")
    with engine.connect() as conn:
        for _ in range(15):
            got = conn.execute(statement, {"model": "m", "source": "digits_test", "key": "7"})
            assert got.scalar_one() == str(expected)


def test_node_postgres_named_statements_past_the_generic_plan(with_view, cluster):
    expected = with_view.execute("SELECT class FROM m_p WHERE id = 9").fetchone()[0]
    url = "postgresql://postgres@127.0.0.1:%d/%s" % (cluster.port, with_view.info.dbname)
    done = subprocess.run(["node", "dashboard.js", url, "9"], cwd=CLIENTS, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["execution %d: %s" % (i, expected) for i in range(1, 13)]


def test_jdbc_prepared_statements_and_metadata(with_view, cluster):
    expected = with_view.execute("SELECT class FROM m_p WHERE id = 11").fetchone()[0]
    url = "jdbc:postgresql://127.0.0.1:%d/%s" % (cluster.port, with_view.info.dbname)
    done = subprocess.run(["java", "-cp", "/usr/share/java/postgresql.jar", "Dashboard.java",
                           url, "11"], cwd=CLIENTS, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:12] == ["execution %d: %s" % (i, expected) for i in range(1, 13)]
    assert lines[12:] == ["TABLE+VIEW: m_v", "FOREIGN TABLE: m_p,m_pv"]
