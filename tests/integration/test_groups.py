"""A model per group: pgdl.preprocess(..., group_by => column) keeps each
group's rows on one segment, a training job over that table trains one
model per group (each a version with its group value), and a predictions
table scores each row with its group's model.  All of it as an ordinary
role."""

import json

import numpy as np
import psycopg
import pytest

from helpers import COMPILE
from pgdl.engine.keras_loader import keras
from pgdl_tools.client import stored_model

GROUPS = ("east", "north", "west")


@pytest.fixture
def stores(db, plain):
    """Sales of three stores whose labels follow another feature in each
    store, owned by the ordinary role `plain` in its own schema, and a tiny
    architecture."""
    db.execute("CREATE SCHEMA shop AUTHORIZATION plain")
    db.commit()
    plain.execute("SET search_path = shop, public")
    plain.execute("""
        CREATE TABLE sales AS
        SELECT i AS id, ARRAY[(i * 7 % 11) / 11.0, (i * 5 % 13) / 13.0, (i * 3 % 17) / 17.0,
                              (i % 2)::float8] AS x,
               (CASE i % 3 WHEN 0 THEN (i * 7 % 11) > 5 WHEN 1 THEN (i * 5 % 13) > 6
                ELSE (i * 3 % 17) > 8 END)::int AS y,
               (ARRAY['east', 'north', 'west'])[i % 3 + 1] AS store
        FROM generate_series(1, 360) i""")
    plain.execute("ALTER TABLE sales ADD PRIMARY KEY (id)")
    k = keras()
    model = k.Sequential([k.Input((4,)), k.layers.Dense(6, activation="relu"),
                          k.layers.Dense(2, activation="softmax")])
    db.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('small', %s)",
               (model.to_json(),))
    db.commit()
    return plain


def pack(conn, source="sales", output="sales_packed", **options):
    named = "".join(", %s => %%s" % key for key in options)
    cur = conn.execute("SELECT * FROM pgdl.preprocess(%%s, %%s, 'x', 'y'%s)" % named,
                       [source, output] + list(options.values()))
    return dict(zip([c.name for c in cur.description], cur.fetchone()))


def train(conn, model, source="sales_packed", **extra):
    columns = dict({"model": model, "architecture": "small", "source": source,
                    "compile_params": json.dumps(COMPILE),
                    "fit_params": json.dumps({"batch_size": 16, "epochs": 1,
                                              "shuffle": False}),
                    "iterations": 2, "seed": 7}, **extra)
    cur = conn.execute("INSERT INTO pgdl.model_training (%s) VALUES (%s) RETURNING *"
                       % (", ".join(columns), ", ".join(["%s"] * len(columns))),
                       list(columns.values()))
    return dict(zip([c.name for c in cur.description], cur.fetchone()))


def test_packing_keeps_each_group_on_one_segment(stores):
    packed = pack(stores, group_by="store", segments=2, buffer_size=50)
    assert (packed["group_by"], packed["group_values"], packed["group_rows"]) == (
        "store", list(GROUPS), [120, 120, 120])
    assert sorted(packed["group_segments"]) == [0, 0, 1]     # the largest first, balanced
    buffers = stores.execute("SELECT group_value, segment, rows, keys FROM sales_packed "
                             "ORDER BY buffer_id").fetchall()
    stores_of = dict(stores.execute("SELECT id, store FROM sales").fetchall())
    for group, segment, rows, keys in buffers:
        assert {stores_of[k] for k in keys} == {group} and rows <= 50
        assert segment == packed["group_segments"][GROUPS.index(group)]
    assert sum(rows for _, _, rows, _ in buffers) == 360

    stores.execute("CREATE TABLE later AS SELECT * FROM sales WHERE id <= 60")
    validation = pack(stores, "later", "later_packed", validation_of="sales_packed")
    assert validation["group_by"] == "store"
    assert dict(stores.execute("SELECT DISTINCT group_value, segment FROM later_packed")
                .fetchall()) == dict(zip(GROUPS, packed["group_segments"]))


def test_a_model_per_group_trains_on_its_rows_and_scores_its_rows(stores):
    messages = []
    stores.add_notice_handler(lambda diag: messages.append(diag.message_primary))
    pack(stores, group_by="store", segments=2, buffer_size=50)
    job = train(stores, "per_store")
    assert (job["method"], job["groups"], job["group_by"], job["status"]) == (
        "group", 3, "store", "finished")
    versions = stores.execute("SELECT group_value, version, group_by, group_job, method "
                              "FROM pgdl.models WHERE model = 'per_store' ORDER BY version"
                              ).fetchall()
    assert [(g, v) for g, v, *_ in versions] == [("east", 1), ("north", 2), ("west", 3)]
    assert {(b, j, m) for _, _, b, j, m in versions} == {("store", job["job"], "group")}
    assert sum(m.startswith("group ") for m in messages) == 3

    # each group's model is plain Keras trained on that group's rows alone
    k = keras()
    keras_json, = stores.execute("SELECT keras_json FROM pgdl.architectures "
                                 "WHERE name = 'small'").fetchone()
    rows = stores.execute("SELECT id, x, y, store FROM sales ORDER BY id").fetchall()
    for group, version, *_ in versions:
        mine = [r for r in rows if r[3] == group]
        x = np.array([r[1] for r in mine], np.float32)
        y = k.utils.to_categorical([r[2] for r in mine], 2)
        k.utils.set_random_seed(7)
        expected = k.models.model_from_json(keras_json)
        expected.compile(**COMPILE)
        for _ in range(2):
            expected.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        stored = stored_model(stores, "per_store", version)
        for got, want in zip(stored.get_weights(), expected.get_weights()):
            np.testing.assert_allclose(got, want, atol=1e-5)

        # and the predictions table scores the group's rows with it
        stores.execute("SELECT pgdl.create_predictions_table('sales_predicted', 'per_store', "
                       "'sales')") if group == "east" else None
        scored = stores.execute(
            "SELECT p.version, p.probabilities FROM sales_predicted p JOIN sales s USING (id) "
            "WHERE s.store = %s ORDER BY id", (group,)).fetchall()
        assert {v for v, _ in scored} == {version}
        np.testing.assert_allclose(np.array([p for _, p in scored]),
                                   stored.predict(x, verbose=0), atol=1e-5)

    plan = "\n".join(r for r, in stores.execute("EXPLAIN SELECT * FROM sales_predicted"))
    assert "Model Per Group: store (3 groups, versions 1 to 3)" in plan
    assert stores.execute("SELECT count(*), count(DISTINCT version) FROM pgdl.predictions "
                          "WHERE model = 'per_store' AND source = 'sales'").fetchone() == (360, 3)

    # a row of a group no model was trained for
    stores.execute("INSERT INTO sales VALUES (1000, '{0, 0, 0, 0}', 0, 'south')")
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        stores.execute("SELECT count(class) FROM sales_predicted")
    assert caught.value.diag.message_primary == (
        'model "per_store" has no version for store = south, the group of the row of sales '
        'at id = 1000')
    stores.execute("ALTER FOREIGN TABLE sales_predicted OPTIONS (ADD on_error 'null')")
    assert stores.execute("SELECT class, version FROM sales_predicted WHERE id IN (999, 1000) "
                          "ORDER BY id").fetchall() == [(None, None)]
    stores.execute("CREATE VIEW ungrouped AS SELECT id, x FROM sales")
    with pytest.raises(psycopg.errors.UndefinedColumn, match="model per group of column"):
        stores.execute("SELECT pgdl.create_predictions_table('ungrouped_predicted', "
                       "'per_store', 'ungrouped', key => 'id')")
        stores.execute("SELECT count(*) FROM ungrouped_predicted")


@pytest.mark.parametrize("sql, error, message", [
    ("UPDATE sales SET store = NULL WHERE id = 7", psycopg.errors.NullValueNotAllowed,
     'NULL in group_by column "store" of table sales at id = 7'),
    ("UPDATE sales SET store = id::text", psycopg.errors.ProgramLimitExceeded,
     'column "store" of table sales has 360 distinct values; a model per group takes at most'),
])
def test_bad_groups_are_refused_when_packing(stores, sql, error, message, monkeypatch):
    stores.execute(sql)
    if error is psycopg.errors.ProgramLimitExceeded:       # past the limit, cheaply
        stores.execute("INSERT INTO sales SELECT i, x, y, i::text FROM sales, "
                       "generate_series(1000, 1700) i WHERE id = 1")
        message = message.replace("360", "1061")
    with pytest.raises(error) as caught:
        pack(stores, group_by="store")
    assert caught.value.diag.message_primary.startswith(message), \
        caught.value.diag.message_primary


def test_jobs_that_do_not_fit_their_grouping_are_refused(stores):
    pack(stores, group_by="store", segments=2)
    pack(stores, output="plain_packed", segments=2)
    with pytest.raises(psycopg.errors.UndefinedColumn):
        pack(stores, output="nowhere", group_by="region")
    stores.execute("CREATE TABLE other AS SELECT * FROM sales WHERE id < 50")
    stores.execute("UPDATE other SET store = 'south' WHERE id = 4")
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match="store = south of table other at ctid .* is not a group"):
        pack(stores, "other", "other_packed", validation_of="sales_packed")
    cases = [({"method": "easgd"}, "its job trains a model per group (method group)"),
             ({"source": "plain_packed", "method": "group"}, "method group needs a packed"),
             ({"group_by": "region"}, "group_by region: sales_packed is grouped by store"),
             ({"source": "plain_packed", "group_by": "store"},
              "group_by store: plain_packed is not grouped"),
             ({"validation_source": "plain_packed"}, "validation source plain_packed is grouped otherwise")]
    for extra, message in cases:
        with pytest.raises(psycopg.Error) as caught:
            train(stores, "refused", **extra)
        assert message in caught.value.diag.message_primary
    train(stores, "per_store", iterations=1)
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        train(stores, "per_store", warm_start=True)
    stores.execute("SELECT * FROM pgdl.generate_model_configs('g', '{small}', %s)",
                   (json.dumps(COMPILE),))
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="grouped by store"):
        stores.execute("INSERT INTO pgdl.model_selection (model, search, source) "
                       "VALUES ('sel', 'g', 'sales_packed')")
