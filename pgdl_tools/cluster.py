"""A local PostgreSQL 15 cluster with pgdl installed.

`make db` keeps one running (`python -m pgdl_tools.cluster start`, last line of
output: its URI); `make demo` and the tests start throwaway ones.
PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` OS user, in a directory that user owns.
"""

import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("PGDL_PG_BIN", "/usr/lib/postgresql/15/bin")
SERVER_USER = os.environ.get("PGDL_SERVER_USER", "postgres")
DEFAULT_DIR = os.environ.get("PGDL_DB_DIR", "/var/tmp/pgdl-db")
DEFAULT_PORT = int(os.environ.get("PGDL_DB_PORT", "54329"))

# Room for parallel scans: each segment beyond the first is a parallel worker.
SETTINGS = {
    "max_worker_processes": "16",
    "max_parallel_workers": "12",
    "max_parallel_workers_per_gather": "8",
    "listen_addresses": "'127.0.0.1'",
    "shared_buffers": "256MB",
    "fsync": "off",
    "log_min_messages": "warning",
}


def sql_literal(text):
    """text as an SQL string literal (standard_conforming_strings, the default)."""
    return "'%s'" % text.replace("'", "''")


def sql_ident(text):
    return '"%s"' % text.replace('"', '""')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    def __init__(self, directory, port):
        self.directory = os.path.abspath(directory)
        self.data = os.path.join(self.directory, "data")
        self.port = port
        self.host = self.directory        # the unix socket lives here too

    def _as_server_user(self, args, env=None, check=True, **kwargs):
        if env:
            args = ["env"] + ["%s=%s" % item for item in env.items()] + args
        if os.geteuid() == 0:
            args = ["runuser", "-u", SERVER_USER, "--"] + args
        return subprocess.run(args, check=check, **kwargs)

    def _prepare_directory(self):
        os.makedirs(self.directory, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        os.chmod(self.directory, 0o755)

    def initialized(self):
        return os.path.exists(os.path.join(self.data, "PG_VERSION"))

    def running(self):
        result = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", self.host,
                                 "-p", str(self.port)], check=False)
        return result.returncode == 0

    def init(self):
        self._prepare_directory()
        self._as_server_user([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-A", "trust",
                              "-U", "postgres", "-E", "UTF8", "--locale", "C.UTF-8"],
                             stdout=subprocess.DEVNULL)
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as conf:
            for name, value in SETTINGS.items():
                conf.write("%s = %s\n" % (name, value))

    def start(self, env=None):
        """Start the server; env adds to its environment (PYTHONPATH, say)."""
        self._as_server_user([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w", "-s",
                              "-l", os.path.join(self.directory, "server.log"),
                              "-o", "-p %d -k %s" % (self.port, self.directory), "start"],
                             env=env)

    def stop(self):
        self._as_server_user([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w", "-s",
                              "-m", "fast", "stop"], check=False)

    def ensure_running(self):
        if not self.initialized():
            self.init()
        if not self.running():
            self.start()
        return self

    def uri(self, dbname="postgres"):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, dbname)

    def psql(self, sql, dbname="postgres"):
        return subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                               "-h", self.host, "-p", str(self.port), "-U", "postgres",
                               "-d", dbname, "-c", sql],
                              check=True, capture_output=True, text=True).stdout

    def ensure_database(self, dbname):
        exists = self.psql("SELECT 1 FROM pg_database WHERE datname = %s" % sql_literal(dbname))
        if "1" not in exists:
            self.psql("CREATE DATABASE %s" % sql_ident(dbname))

    def create_database(self, dbname):
        self.ensure_database(dbname)
        self.psql("CREATE EXTENSION IF NOT EXISTS pgdl CASCADE", dbname)
        self.psql("ALTER EXTENSION pgdl UPDATE", dbname)     # a cluster kept from before


class throwaway:
    """A cluster in a fresh temporary directory, removed on exit.

    before_start(directory) may put files there (readable by the server)
    and return extra environment for the server."""

    def __init__(self, before_start=None):
        directory = tempfile.mkdtemp(prefix="pgdl-cluster-")
        self.cluster = Cluster(directory, free_port())
        self.before_start = before_start

    def __enter__(self):
        try:
            self.cluster.init()
            env = self.before_start(self.cluster.directory) if self.before_start else None
            self.cluster.start(env=env)
        except BaseException:
            shutil.rmtree(self.cluster.directory, ignore_errors=True)
            raise
        return self.cluster

    def __exit__(self, *exc):
        self.cluster.stop()
        shutil.rmtree(self.cluster.directory, ignore_errors=True)
        # a killed server can leave its socket lock behind a moment
        time.sleep(0.1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--dir", default=DEFAULT_DIR)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--dbname", default="pgdl")
    args = parser.parse_args(argv)
    cluster = Cluster(args.dir, args.port)
    if args.command == "stop":
        cluster.stop()
        return 0
    cluster.ensure_running()
    cluster.create_database(args.dbname)
    print("pgdl cluster in %s (log: %s/server.log)" % (cluster.directory, cluster.directory),
          file=sys.stderr)
    print(cluster.uri(args.dbname))
    return 0


if __name__ == "__main__":
    sys.exit(main())
