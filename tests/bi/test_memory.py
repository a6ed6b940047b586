"""A pooled connection that scores and evaluates loads no TensorFlow or Keras."""


def test_scoring_and_evaluating_load_neither_tensorflow_nor_keras(digits_model, connect):
    db = digits_model
    db.execute("CREATE FUNCTION loaded_frameworks() RETURNS text[] LANGUAGE plpython3u AS $$\n"
               "import sys\n"
               "return sorted(m for m in ('tensorflow', 'keras', 'torch', 'jax') "
               "if m in sys.modules)\n$$")
    db.commit()
    conn = connect()
    assert conn.execute("SELECT count(class) FROM m_p").fetchone() == (449,)
    assert conn.execute("SELECT count(*) FROM pgdl.predictions WHERE model = 'm' "
                        "AND source = 'digits_test'").fetchone() == (449,)
    results = dict((r[0], r[1]) for r in conn.execute(
        "SELECT metric, value FROM pgdl.evaluate('m', 'digits_test', label => 'label') "
        "WHERE metric <> 'confusion'"))
    assert set(results) == {"loss", "accuracy"}
    assert conn.execute("SELECT loaded_frameworks()").fetchone() == ([],)
