"""The demo's SQL (make demo) runs on the test cluster."""

from pgdl_tools import demo


def test_demo_trains_mnist_to_90_percent_and_scores_it_through_predictions(db, capsys):
    db.autocommit = True
    accuracy = demo.run(db)
    out = capsys.readouterr().out
    assert "NOTICE: iteration 5 of 5" in out
    assert "through mnist_predictions: %.4f" % accuracy in out
    assert accuracy >= 0.9
    # ONNX Runtime in the segments agrees with Keras on the same held-out rows
    assert abs(accuracy - demo.test_accuracy(db, "mnist_cnn", 1)) < 0.002
