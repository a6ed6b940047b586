"""The demo's SQL (make demo) runs on the test cluster."""

from pgdl import demo


def test_demo_trains_mnist_to_90_percent(db, capsys):
    db.autocommit = True
    accuracy = demo.run(db)
    out = capsys.readouterr().out
    assert "NOTICE: iteration 5 of 5" in out
    assert accuracy >= 0.9
