"""pg_regress (make installcheck): the SQL surface and EXPLAIN output match
test/expected, on the test cluster."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_make_installcheck_passes(cluster, tmp_path):
    os.chmod(tmp_path, 0o777)
    done = subprocess.run(
        ["make", "-s", "installcheck", "PGHOST=%s" % cluster.host, "PGPORT=%d" % cluster.port,
         "PGUSER=postgres", "REGRESS_OUT=%s" % tmp_path],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    diffs = tmp_path / "regression.diffs"
    assert done.returncode == 0, done.stdout + done.stderr + (
        diffs.read_text() if diffs.exists() else "")
    assert "All 2 tests passed" in done.stdout + done.stderr
