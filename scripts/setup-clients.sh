#!/usr/bin/env bash
# The client libraries the BI-client tests drive, beside the Python ones of
# requirements.txt: pgjdbc 42.5 (Debian's package) with a JDK to run it, and
# node-postgres from npm into tests/clients/node_modules.  `make test` runs it.
set -euo pipefail

cd "$(dirname "$0")/.."
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=""
[ -f /usr/share/java/postgresql.jar ] || missing="$missing libpostgresql-jdbc-java"
command -v javac >/dev/null || missing="$missing default-jdk-headless"
command -v npm >/dev/null || missing="$missing npm"
if [ -n "$missing" ]; then
    echo "setup-clients: installing$missing"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq $missing >/dev/null
fi
if [ ! -d tests/clients/node_modules/pg ]; then
    echo "setup-clients: installing node-postgres"
    (cd tests/clients && npm install --silent --no-audit --no-fund --no-save pg@8 >/dev/null)
fi
chmod -R a+rX tests/clients
