"""What pgdl makes depends on what it is made from: DROP refuses, or
cascades, as PostgreSQL users expect."""

import psycopg
import pytest

from helpers import import_digit_model


def test_drop_model_refuses_while_predictions_tables_need_it(digits_model):
    db = digits_model
    import_digit_model(db, "m", seed=1)                      # version 2
    db.execute("SELECT pgdl.create_predictions_table('m_p1', 'm', 'digits_test', version => 1)")
    db.commit()
    with pytest.raises(psycopg.errors.DependentObjectsStillExist) as error:
        db.execute("SELECT pgdl.drop_model('m', 1)")
    assert "predictions table public.m_p1 scores it" in error.value.diag.message_detail
    db.rollback()
    # m_p scores the latest version: dropping version 2 leaves it version 1
    assert db.execute("SELECT pgdl.drop_model('m', 2)").fetchone() == (1,)
    assert db.execute("SELECT DISTINCT version FROM m_p").fetchall() == [(1,)]
    db.commit()
    with pytest.raises(psycopg.errors.DependentObjectsStillExist, match="predictions tables"):
        db.execute("SELECT pgdl.drop_model('m')")
    db.rollback()
    assert db.execute("SELECT pgdl.drop_model('m', cascade => true)").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM pg_class WHERE relname IN ('m_p', 'm_p1')"
                      ).fetchone() == (0,)


def test_drop_extension_refuses_while_packed_tables_exist_and_cascade_drops_them(db, messages):
    db.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits', test_fraction => 0.25)")
    db.execute("SELECT * FROM pgdl.preprocess('digits_train', 'digits_packed', 'image', "
               "'label', normalizing_const => 16, segments => 1)")
    db.commit()
    with pytest.raises(psycopg.errors.DependentObjectsStillExist) as error:
        db.execute("DROP EXTENSION pgdl")
    assert "table digits_packed depends on extension pgdl" in error.value.diag.message_detail
    db.rollback()
    db.execute("DROP EXTENSION pgdl CASCADE")
    assert db.execute("SELECT to_regclass('digits_packed'), to_regclass('digits_train') IS NULL"
                      ).fetchone() == (None, False)
    assert any("schema pgdl stays" in message for _, message, _ in messages)
