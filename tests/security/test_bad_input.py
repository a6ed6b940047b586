"""Out-of-range and NULL arguments are clear PostgreSQL errors naming what is wrong."""

import psycopg
import pytest


@pytest.mark.parametrize("call, error, message", [
    ("pgdl.load_dataset('digits', NULL)", psycopg.errors.NullValueNotAllowed,
     "pgdl.load_dataset needs a target table, not NULL"),
    ("pgdl.preprocess(NULL, 'out', 'image', 'label')", psycopg.errors.NullValueNotAllowed,
     "pgdl.preprocess needs a source table, not NULL"),
    ("pgdl.preprocess('digits', 'out', NULL, 'label')", psycopg.errors.NullValueNotAllowed,
     "pgdl.preprocess needs features, not NULL"),
    ("pgdl.evaluate(NULL, 'digits')", psycopg.errors.NullValueNotAllowed,
     "pgdl.evaluate needs a model, not NULL"),
    ("pgdl.evaluate('m', NULL)", psycopg.errors.NullValueNotAllowed,
     "pgdl.evaluate needs a source table, not NULL"),
    ("pgdl.import_onnx('m', NULL)", psycopg.errors.NullValueNotAllowed,
     "pgdl.import_onnx needs the ONNX bytes, not NULL"),
    ("pgdl.create_predictions_table(NULL, 'm', 'digits')", psycopg.errors.NullValueNotAllowed,
     "pgdl.create_predictions_table needs a table name, not NULL"),
    ("pgdl.share_model(NULL)", psycopg.errors.NullValueNotAllowed,
     "pgdl.share_model needs a model, not NULL"),
    ("pgdl.preprocess('digits', 'out', 'image', 'label', feature_shape => '{8,-8,1}')",
     psycopg.errors.InvalidParameterValue,
     "feature_shape [8, -8, 1] must have dimensions of at least 1"),
    ("pgdl.preprocess('digits', 'out', 'image', 'label', feature_shape => '{0}')",
     psycopg.errors.InvalidParameterValue, "feature_shape [0] must have dimensions of at least 1"),
])
def test_bad_arguments(db, call, error, message):
    db.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits')")
    with pytest.raises(error) as caught:
        db.execute("SELECT * FROM %s" % call)
    assert caught.value.diag.message_primary == message
