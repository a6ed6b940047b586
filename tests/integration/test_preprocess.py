"""pgdl.preprocess on the real cluster: each input kind, the round trip of
values and labels, balance over segments, and each bad input."""

import numpy as np
import psycopg
import pytest


def packed(db, table, labels_dtype="<i4"):
    """{key: (features float32, label)} and per-buffer (segment, rows)."""
    values, buffers = {}, []
    for segment, rows, features, labels, keys in db.execute(
            "SELECT segment, rows, features, labels, keys FROM %s ORDER BY buffer_id" % table):
        batch = np.frombuffer(features, "<f4").reshape(rows, -1)
        indices = np.frombuffer(labels, labels_dtype)
        for key, row, label in zip(keys, batch, indices):
            values[str(key)] = (row, label)
        buffers.append((segment, rows))
    return values, buffers


def summary(db, table):
    cur = db.execute("SELECT * FROM pgdl.packed WHERE output = %s::regclass", (table,))
    names = [c.name for c in cur.description]
    return dict(zip(names, cur.fetchone()))


def no_trace_of(db, output):
    db.rollback()
    assert db.execute("SELECT to_regclass(%s)", (output,)).fetchone() == (None,)
    assert db.execute("SELECT count(*) FROM pgdl.packed WHERE output::text = %s",
                      (output,)).fetchone() == (0,)


@pytest.fixture
def mnist(db):
    db.execute("SELECT * FROM pgdl.load_dataset('mnist', 'mnist', seed => 3)")
    db.commit()
    return db


def test_mnist_packs_into_balanced_segments_and_round_trips(mnist):
    row = mnist.execute("""SELECT segments, rows_per_segment, buffers_per_segment, class_values,
                                  feature_shape, total_rows
                           FROM pgdl.preprocess('mnist', 'mnist_packed', 'image', 'label',
                                normalizing_const => 255, feature_shape => '{28,28,1}',
                                segments => 2, buffer_size => 1000, seed => 11)""").fetchone()
    assert row == (2, [2500, 2500], [3, 3], [str(d) for d in range(10)], [28, 28, 1], 5000)
    values, buffers = packed(mnist, "mnist_packed")
    assert sorted(segment for segment, _ in buffers) == [0, 0, 0, 1, 1, 1]
    assert max(rows for _, rows in buffers) <= 1000
    source = {key: (np.frombuffer(image, np.uint8), label)
              for key, image, label in mnist.execute("SELECT id, image, label FROM mnist")}
    assert sorted(int(k) for k in values) == sorted(source)
    for key, (features, index) in values.items():
        image, label = source[int(key)]
        np.testing.assert_array_equal(np.rint(features * 255).astype(np.uint8), image)
        assert index == label        # classes 0..9 in order: index == digit
    # the seed decides the shuffle: packing again gives the same buffers
    mnist.execute("""SELECT * FROM pgdl.preprocess('mnist', 'again', 'image', 'label',
                     normalizing_const => 255, segments => 2, buffer_size => 1000, seed => 11)""")
    assert mnist.execute("SELECT keys FROM again ORDER BY buffer_id").fetchall() == \
        mnist.execute("SELECT keys FROM mnist_packed ORDER BY buffer_id").fetchall()


def test_validation_reuses_normalization_and_classes(db):
    db.execute("CREATE TABLE train (id int PRIMARY KEY, x real[], y text)")
    db.execute("""INSERT INTO train SELECT g, ARRAY[g, g * 2]::real[],
                  CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END FROM generate_series(1, 20) g""")
    db.execute("CREATE TABLE val (id int PRIMARY KEY, x real[], y text)")
    db.execute("INSERT INTO val VALUES (1, '{100, 50}', 'odd'), (2, '{0, 0}', 'even')")
    db.execute("SELECT * FROM pgdl.preprocess('train', 'train_p', 'x', 'y', "
               "normalization => 'standard', segments => 2)")
    training = summary(db, "train_p")
    assert training["class_values"] == ["even", "odd"] and training["normalization"] == "standard"
    xs = np.array([[g, 2 * g] for g in range(1, 21)], dtype=np.float64)
    np.testing.assert_allclose(training["feature_mean"], xs.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(training["feature_std"], xs.std(axis=0), rtol=1e-5)
    db.execute("SELECT * FROM pgdl.preprocess('val', 'val_p', 'x', 'y', "
               "validation_of => 'train_p', segments => 1)")
    values, _ = packed(db, "val_p")
    expected = (np.array([100, 50]) - xs.mean(axis=0)) / xs.std(axis=0)
    np.testing.assert_allclose(values["1"][0], expected, rtol=1e-5)
    assert values["1"][1] == 1 and values["2"][1] == 0
    assert summary(db, "val_p")["validation_of"] == "train_p"


@pytest.mark.parametrize("column_type, values, expected", [
    ("real[]", "ARRAY[1.5, 2.5]", [1.5, 2.5]),
    ("float8[]", "ARRAY[1.5, 2.5]", [1.5, 2.5]),
    ("smallint[]", "ARRAY[3, 4]", [3, 4]),
    ("int[]", "ARRAY[5, 6]", [5, 6]),
    ("numeric[]", "ARRAY[0.5, 7]", [0.5, 7]),
    ("int[][]", "ARRAY[[1, 2], [3, 4]]", [1, 2, 3, 4]),
])
def test_array_features(db, column_type, values, expected):
    db.execute("CREATE TABLE t (id int PRIMARY KEY, f %s, label int)" % column_type)
    db.execute("INSERT INTO t VALUES (1, %s, 7), (2, %s, 9)" % (values, values))
    row = db.execute("SELECT feature_kind, feature_shape, class_values FROM "
                     "pgdl.preprocess('t', 'p', 'f', 'label', segments => 1)").fetchone()
    assert row[2] == ["7", "9"]
    if column_type == "int[][]":
        assert row[1] == [2, 2]
    values_, _ = packed(db, "p")
    np.testing.assert_allclose(values_["1"][0], expected)


def test_numeric_columns_text_labels_and_regression(db):
    db.execute("CREATE TABLE tab (id int PRIMARY KEY, a int, b float8, c numeric, "
               "kind text, price float8)")
    db.execute("INSERT INTO tab VALUES (1, 1, 2.5, 3.25, 'b', 10.5), (2, 4, 5, 6, 'a', 20)")
    row = db.execute("SELECT feature_shape, class_values, task, class_type FROM "
                     "pgdl.preprocess('tab', 'p1', 'a, b, c', 'kind', segments => 1)").fetchone()
    assert row == ([3], ["a", "b"], "classification", "text")
    values, _ = packed(db, "p1")
    np.testing.assert_allclose(values["1"][0], [1, 2.5, 3.25])
    assert values["1"][1] == 1
    row = db.execute("SELECT task, class_values FROM "
                     "pgdl.preprocess('tab', 'p2', 'a,b', 'price', segments => 2)").fetchone()
    assert row == ("regression", None)
    values, buffers = packed(db, "p2", labels_dtype="<f4")
    assert values["2"][1] == pytest.approx(20.0) and len(buffers) == 2


def test_a_table_without_primary_key_names_rows_by_ctid(db):
    db.execute("CREATE TABLE loose (f real[], label int)")
    db.execute("INSERT INTO loose VALUES ('{1,2}', 1), ('{3}', 2)")
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        db.execute("SELECT * FROM pgdl.preprocess('loose', 'p', 'f', 'label')")
    assert caught.value.diag.message_primary == \
        'column "f" of table loose at ctid (0,2): the value has another number of values'


BAD_INPUTS = [
    # (setup SQL, preprocess arguments, SQLSTATE class, message)
    ("INSERT INTO src VALUES (3, NULL, 1)", "'src', 'out', 'image', 'label'",
     psycopg.errors.NullValueNotAllowed, 'NULL in column "image" of table src at id = 3'),
    ("INSERT INTO src VALUES (3, '\\x0102030405060708', NULL)", "'src', 'out', 'image', 'label'",
     psycopg.errors.NullValueNotAllowed, 'NULL in column "label" of table src at id = 3'),
    ("INSERT INTO src VALUES (3, '\\x01', 1)", "'src', 'out', 'image', 'label'",
     psycopg.errors.InvalidParameterValue,
     'column "image" of table src at id = 3: the value holds 1 bytes, not 8'),
    ("", "'missing', 'out', 'image', 'label'", psycopg.errors.UndefinedTable,
     'table "missing" does not exist'),
    ("", "'src', 'out', 'pixels', 'label'", psycopg.errors.UndefinedColumn,
     'column "pixels" does not exist in table src'),
    ("", "'src', 'out', 'image', 'digit'", psycopg.errors.UndefinedColumn,
     'column "digit" does not exist in table src'),
    ("", "'src', 'out', 'image', 'label', buffer_size => 0", psycopg.errors.InvalidParameterValue,
     "buffer_size must be at least 1, not 0"),
    ("", "'src', 'out', 'image', 'label', segments => 3", psycopg.errors.InvalidParameterValue,
     "cannot spread 2 rows over 3 segments"),
    ("", "'src', 'out', 'image', 'label', feature_shape => '{3,3}'",
     psycopg.errors.InvalidParameterValue,
     'feature_shape [3, 3] does not fit the 8 values of column "image" of table src at id = 1'),
    ("", "'src', 'out', 'note', 'label'", psycopg.errors.DatatypeMismatch,
     'column "note" of table src has type text'),
    ("", "'src', 'src', 'image', 'label'", psycopg.errors.DuplicateTable,
     'relation "src" already exists'),
]


@pytest.mark.parametrize("setup, arguments, error, message", BAD_INPUTS,
                         ids=[case[3] for case in BAD_INPUTS])
def test_bad_input_is_an_error_that_leaves_nothing_behind(db, setup, arguments, error, message):
    db.execute("CREATE TABLE src (id int PRIMARY KEY, image bytea, label int, note text)")
    db.execute("INSERT INTO src VALUES (1, '\\x0102030405060708', 1), "
               "(2, '\\x0807060504030201', 2)")
    if setup:
        db.execute(setup)
    db.commit()
    with pytest.raises(error) as caught:
        db.execute("SELECT * FROM pgdl.preprocess(%s)" % arguments)
    if message:
        assert caught.value.diag.message_primary == message
    no_trace_of(db, "out")


def test_a_validation_label_unseen_in_training(db):
    db.execute("CREATE TABLE a (id int PRIMARY KEY, f int[], label int)")
    db.execute("INSERT INTO a VALUES (1, '{1}', 0), (2, '{2}', 1)")
    db.execute("CREATE TABLE b (id int PRIMARY KEY, f int[], label int)")
    db.execute("INSERT INTO b VALUES (7, '{1}', 0), (8, '{2}', 5)")
    db.execute("SELECT * FROM pgdl.preprocess('a', 'a_p', 'f', 'label', segments => 1)")
    db.commit()
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        db.execute("SELECT * FROM pgdl.preprocess('b', 'b_p', 'f', 'label', "
                   "validation_of => 'a_p')")
    assert caught.value.diag.message_primary == \
        'label 5 in column "label" of table b at id = 8 is not one of packed table a_p'
    no_trace_of(db, "b_p")


def test_validation_of_something_not_packed(db):
    db.execute("CREATE TABLE a (id int PRIMARY KEY, f int[], label int)")
    db.execute("INSERT INTO a VALUES (1, '{1}', 0)")
    with pytest.raises(psycopg.errors.UndefinedTable, match='"a" is not a packed table'):
        db.execute("SELECT * FROM pgdl.preprocess('a', 'p', 'f', 'label', validation_of => 'a')")


def test_a_user_packs_what_it_may_read_and_nothing_else(db, plain):
    db.execute("CREATE TABLE secret (id int PRIMARY KEY, f int[], label int)")
    db.execute("INSERT INTO secret VALUES (1, '{1}', 0)")
    db.execute("GRANT CREATE ON SCHEMA public TO plain")
    db.commit()
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        plain.execute("SELECT * FROM pgdl.preprocess('secret', 'mine', 'f', 'label')")
    assert caught.value.diag.message_primary == "permission denied for table secret"
    db.execute("GRANT SELECT ON secret TO plain")
    db.commit()
    row = plain.execute("SELECT owner FROM pgdl.preprocess('secret', 'mine', 'f', 'label', "
                        "segments => 1)").fetchone()
    assert row == ("plain",)
