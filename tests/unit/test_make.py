"""The make targets run the venv's Python (PGXS defines a PYTHON of its own)."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("target, command", [
    ("demo", "/venv/x/bin/python -m pgdl_tools.demo"),
    ("db", "/venv/x/bin/python -m pgdl_tools.cluster start"),
    ("test", "/venv/x/bin/pytest"),
    ("citus", "/venv/x/bin/python -m pgdl_tools.citus start"),
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
    assert out.index("scripts/citus.sh") < out.index("bench/bench_")    # bench_citus needs it


def test_citus_compat_guards_only_the_clashing_definition(tmp_path):
    header = tmp_path / "pg_version_compat.h"
    header.write_text("int before;\nstatic inline bool\nhave_createdb_privilege(void)\n{\n"
                      "\treturn true;\n}\nint after;\n")
    script = os.path.join(ROOT, "scripts", "citus_compat.py")
    subprocess.run(["python3", script, str(header)], check=True)
    guarded = header.read_text()
    assert guarded.startswith("int before;\n/* PGDL_GUARD")
    assert "#if 0\nstatic inline bool\nhave_createdb_privilege(void)" in guarded
    assert guarded.endswith("}\n#endif\nint after;\n")
    subprocess.run(["python3", script, str(header)], check=True)       # again: unchanged
    assert header.read_text() == guarded
