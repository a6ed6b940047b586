"""An ordinary role trains, imports, scores and evaluates its own models end to
end with only what pgdl grants PUBLIC, and shares them for use, never for
write (SECURITY.md)."""

import json

import numpy as np
import psycopg
import pytest

from helpers import COMPILE, import_digit_model
from pgdl.engine.keras_loader import keras


def test_an_ordinary_role_trains_scores_evaluates_and_imports(alice_digits):
    alice, bob = alice_digits
    alice.execute("SELECT * FROM pgdl.preprocess('digits_train', 'digits_packed', 'image', "
                  "'label', normalizing_const => 16, feature_shape => '{8,8,1}', segments => 2, "
                  "buffer_size => 200, seed => 3)")
    k = keras()
    net = k.Sequential([k.Input((8, 8, 1)), k.layers.Flatten(),
                        k.layers.Dense(10, activation="softmax")])
    alice.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('alice_dense', %s)",
                  (net.to_json(),))
    job = alice.execute(
        "INSERT INTO pgdl.model_training (model, architecture, source, compile_params, "
        "fit_params, iterations, segments, seed) VALUES ('digits', 'alice_dense', "
        "'digits_packed', %s, '{\"batch_size\": 16, \"epochs\": 4}', 2, 2, 1) "
        "RETURNING version, status, owner", (json.dumps(COMPILE),)).fetchone()
    assert job == (1, "finished", "alice")
    assert alice.execute("SELECT owner, model, version, segments FROM pgdl.models "
                         "WHERE model = 'digits'").fetchall() == [("alice", "digits", 1, 2)]
    assert alice.execute("SELECT count(*) FROM pgdl.training_history WHERE model = 'digits' "
                         "AND segment IS NULL").fetchone() == (2,)
    alice.execute("SELECT pgdl.create_predictions_table('digit_predictions', 'digits', "
                  "'digits_test', pass_through => '{label}')")
    accuracy, = alice.execute("SELECT avg((class = label)::int) FROM digit_predictions"
                              ).fetchone()
    evaluated = dict((m, v) for m, v, _, _ in alice.execute(
        "SELECT * FROM pgdl.evaluate('digits', 'digits_test')").fetchall() if m != "confusion")
    assert float(accuracy) == pytest.approx(evaluated["accuracy"], abs=1e-9)
    assert evaluated["accuracy"] > 0.5
    # a second version, imported, of alice's own model m
    version, _, _ = import_digit_model(alice, "m", seed=1)
    assert version == 2
    assert alice.execute("SELECT DISTINCT version FROM m_predictions").fetchall() == [(2,)]


def test_a_shared_model_is_used_not_changed(alice_digits, db):
    alice, bob = alice_digits
    _, weights, bias = import_digit_model(alice, "m", seed=2)      # version 2
    bob.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits')")
    with pytest.raises(psycopg.errors.UndefinedObject):
        bob.execute("SELECT pgdl.create_predictions_table('theirs', 'm', 'digits')")
    alice.execute("SELECT pgdl.share_model('m', 'bob')")
    bob.execute("SELECT pgdl.create_predictions_table('theirs', 'm', 'digits')")
    scored = bob.execute("SELECT id, probabilities FROM theirs ORDER BY id").fetchall()
    pixels = np.array([np.frombuffer(image, np.uint8) for image, in bob.execute(
        "SELECT image FROM digits ORDER BY id").fetchall()], np.float32) / 16
    z = pixels @ weights + bias
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose([p for _, p in scored], expected, atol=1e-5)
    for call in ("pgdl.share_model('m')", "pgdl.unshare_model('m', 'bob')",
                 "pgdl.drop_model('m')", "pgdl.drop_model('m', 1)"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
            bob.execute("SELECT %s" % call)
        assert caught.value.diag.message_primary == 'model "m" belongs to role alice'
    # bob's own "m" is another model: alice's and bob's tables score their own
    import_digit_model(bob, "m", seed=3)
    assert bob.execute("SELECT owner, version FROM pgdl.models WHERE model = 'm' "
                       "ORDER BY owner, version").fetchall() == \
        [("alice", 1), ("alice", 2), ("bob", 1)]
    assert bob.execute("SELECT DISTINCT version FROM theirs").fetchall() == [(2,)]
    assert alice.execute("SELECT owner, version FROM pgdl.models WHERE model = 'm' "
                         "ORDER BY version").fetchall() == [("alice", 1), ("alice", 2)]
    assert alice.execute("SELECT DISTINCT version FROM m_predictions").fetchall() == [(2,)]
    # taking the share back ends bob's use of it
    alice.execute("SELECT pgdl.unshare_model('m', 'bob')")
    with pytest.raises(psycopg.errors.UndefinedObject):
        bob.execute("SELECT count(*) FROM theirs").fetchall()
    assert alice.execute("SELECT pgdl.drop_model('m', 1)").fetchone() == (1,)
    assert alice.execute("SELECT version FROM pgdl.models WHERE model = 'm'").fetchall() == [(2,)]
