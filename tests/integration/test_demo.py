"""The demo's SQL (make demo) runs on the test cluster."""

from pgdl import demo


def test_demo_runs(db, capsys):
    db.autocommit = True
    demo.run(db)
    out = capsys.readouterr().out
    assert "999990 rows, each exactly once, from 2 processes" in out
