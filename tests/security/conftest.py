"""Fixtures of the security suite: ordinary roles against each other and a superuser.

alice and bob log in and own a schema each (their search_path, "$user",
public, puts what they create there), and have nothing else: no grants
beyond what pgdl gives PUBLIC.  The test's own connection is the superuser.
"""

import pytest

from helpers import import_digit_model


@pytest.fixture
def roles(db, connect):
    """Connections as alice and as bob."""
    for name in ("alice", "bob"):
        db.execute("DO $$ BEGIN CREATE ROLE %s LOGIN; "
                   "EXCEPTION WHEN duplicate_object THEN NULL; END $$" % name)
        db.execute("CREATE SCHEMA %s AUTHORIZATION %s" % (name, name))
    db.commit()
    return connect("alice"), connect("bob")


@pytest.fixture
def alice_digits(roles):
    """alice's own digits (alice.digits_train, alice.digits_test) and her model
    m imported from ONNX, scored by her predictions table alice.m_predictions."""
    alice, bob = roles
    alice.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits', test_fraction => 0.25)")
    import_digit_model(alice, "m")
    alice.execute("SELECT pgdl.create_predictions_table('m_predictions', 'm', 'digits_test')")
    return alice, bob
