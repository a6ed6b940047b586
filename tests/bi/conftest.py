"""Fixtures of the BI-client suite: an imported model and its predictions,
queried the way dashboards, connection pools and backups do."""

import pytest

from helpers import import_digit_model


@pytest.fixture
def digits_model(db):
    """digits_train/digits_test, model m imported from ONNX, and the
    predictions table m_p over digits_test (key id)."""
    db.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits', test_fraction => 0.25)")
    import_digit_model(db, "m")
    db.execute("SELECT pgdl.create_predictions_table('m_p', 'm', 'digits_test')")
    db.commit()
    return db
