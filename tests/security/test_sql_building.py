"""No value a user stores or passes is pasted into SQL: types must be types,
and literals are quoted as the server quotes them, whatever
standard_conforming_strings says."""

import psycopg
import pytest

from helpers import digit_model

CRAFTED = "integer) SERVER pgdl; CREATE ROLE intruder SUPERUSER; CREATE TABLE x (y int"


def test_a_class_type_must_be_a_type(alice_digits, db):
    alice, bob = alice_digits
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        alice.execute("SELECT pgdl.import_onnx('crafted', %s, class_values => "
                      "'{0,1,2,3,4,5,6,7,8,9}', features => '{image}', class_type => %s)",
                      (digit_model()[0], CRAFTED))
    assert caught.value.diag.message_primary == 'class_type "%s" is not a type' % CRAFTED
    alice.execute("SELECT pgdl.import_onnx('typed', %s, class_values => '{0,1,2,3,4,5,6,7,8,9}', "
                  "features => '{image}', class_type => 'int2')", (digit_model()[0],))
    assert alice.execute("SELECT class_type FROM pgdl.models WHERE model = 'typed'"
                         ).fetchone() == ("smallint",)
    # a stored row that an older pgdl let through is refused, not run
    db.execute("UPDATE pgdl.models SET class_type = %s WHERE owner = 'alice' AND model = 'm'",
               (CRAFTED,))
    db.execute("SELECT pgdl.share_model('m', NULL)")
    db.commit()
    with pytest.raises(psycopg.errors.UndefinedObject) as caught:
        db.execute("SELECT pgdl.create_predictions_table('as_superuser', 'm', "
                   "'alice.digits_test')")
    assert caught.value.diag.message_primary == \
        'model "m" has class type "%s", which is not a type' % CRAFTED
    db.rollback()
    assert db.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'intruder'"
                      ).fetchone() == (0,)


def test_literals_hold_whatever_standard_conforming_strings_says(roles):
    alice, bob = roles
    alice.execute("CREATE TABLE tagged (tag text PRIMARY KEY, image bytea, label int)")
    tags = ["plain", "a\\", "b\\' OR true --", "c'; SELECT 1; --"]
    alice.execute("INSERT INTO tagged SELECT t, decode(repeat('01', 64), 'hex'), 1 "
                  "FROM unnest(%s::text[]) t", (tags,))
    alice.execute("SELECT pgdl.import_onnx('m', %s, class_values => '{0,1,2,3,4,5,6,7,8,9}', "
                  "features => '{image}')", (digit_model()[0],))
    alice.execute("SELECT pgdl.create_predictions_table('tagged_predictions', 'm', 'tagged')")
    for setting in ("on", "off"):
        alice.execute("SET standard_conforming_strings = %s" % setting)
        for tag in tags:
            got = alice.execute("SELECT tag FROM tagged_predictions WHERE tag = %s",
                                (tag,)).fetchall()
            assert got == [(tag,)], (setting, tag)
            got = alice.execute("SELECT tag FROM tagged_predictions WHERE tag IN (%s, 'none')",
                                (tag,)).fetchall()
            assert got == [(tag,)], (setting, tag)
        assert alice.execute("SELECT count(*) FROM tagged_predictions WHERE tag > %s",
                             ("b\\",)).fetchone() == (3,)
