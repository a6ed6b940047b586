#!/usr/bin/env bash
# Builds Citus from ../shared/vendor (the one source this machine may use:
# no registry here packages it) and installs it into PostgreSQL 15, once.
# The build lives outside the checkout, in a cache keyed by the archive's
# sha256; a later run only reinstalls from it when PostgreSQL lacks Citus.
# `make citus` and `make test` run this.
set -euo pipefail

cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
ARCHIVE=${PGDL_CITUS_ARCHIVE:-../shared/vendor/citus-13.2.2.tar.gz}
CACHE=${PGDL_CITUS_CACHE:-/var/cache/pgdl-citus}
BUILD_PACKAGES="liblz4-dev libzstd-dev libcurl4-openssl-dev libkrb5-dev libssl-dev libselinux1-dev libxslt1-dev libpam0g-dev libreadline-dev"

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -f "$("$PG_CONFIG" --sharedir)/extension/citus.control" ] && \
   [ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
    exit 0
fi
if [ ! -f "$ARCHIVE" ]; then
    echo "citus: no source archive at $ARCHIVE" >&2
    exit 1
fi
sha=$(sha256sum "$ARCHIVE" | cut -c1-16)
build="$CACHE/$sha"

if [ ! -f "$build/.built" ]; then
    missing=$(for p in $BUILD_PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done)
    if [ -n "$missing" ]; then
        echo "citus: installing $(echo $missing)"
        sudo_if_needed apt-get update -qq
        DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq $missing >/dev/null
    fi
    echo "citus: building $(basename "$ARCHIVE") in $build (about 2 minutes)"
    sudo_if_needed mkdir -p "$build"
    sudo_if_needed chown "$(id -u):$(id -g)" "$build"
    rm -rf "$build/src"
    mkdir -p "$build/src"
    tar xzf "$ARCHIVE" -C "$build/src" --strip-components=1
    # PostgreSQL 15.14 and later export have_createdb_privilege(); Citus 13.2.2
    # defines its own for 15, which then clashes: keep PostgreSQL's.
    header="$("$PG_CONFIG" --includedir-server)/commands/dbcommands.h"
    if grep -q "have_createdb_privilege" "$header"; then
        python3 scripts/citus_compat.py "$build/src/src/include/pg_version_compat.h"
    fi
    (cd "$build/src" && ./configure -q PG_CONFIG="$PG_CONFIG" >/dev/null && \
        make -s -j"$(nproc)" >/dev/null 2>"$build/build.log")
    touch "$build/.built"
fi
echo "citus: installing into PostgreSQL"
(cd "$build/src" && sudo_if_needed make -s install >/dev/null)
