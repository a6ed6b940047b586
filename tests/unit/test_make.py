"""The make targets run the venv's Python (PGXS defines a PYTHON of its own)."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("target, command", [
    ("demo", "/venv/x/bin/python -m pgdl.demo"),
    ("db", "/venv/x/bin/python -m pgdl.cluster start"),
    ("test", "/venv/x/bin/pytest"),
])
def test_targets_use_the_venv(target, command):
    out = subprocess.run(["make", "-n", "-s", target, "PGDL_VENV=/venv/x"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "scripts/setup.sh" in out
    assert command in out


def test_bench_runs_every_script_with_the_venv():
    out = subprocess.run(["make", "-n", "-s", "bench", "PGDL_VENV=/venv/x"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "/venv/x/bin/python $script" in out
