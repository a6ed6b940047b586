"""A Citus cluster on one machine: a coordinator and workers, each a PostgreSQL
15 server (pgdl_tools.cluster) with Citus preloaded and pgdl installed.

`make citus` keeps one running (`python -m pgdl_tools.citus start`, last line of
output: the coordinator's URI); the tests start throwaway ones.  Citus must
be installed first (scripts/citus.sh builds it from ../shared/vendor).
"""

import argparse
import os
import shutil
import sys
import tempfile

from pgdl_tools.cluster import Cluster, free_port

DEFAULT_DIR = os.environ.get("PGDL_CITUS_DIR", "/var/tmp/pgdl-citus")
DEFAULT_PORT = int(os.environ.get("PGDL_CITUS_PORT", "54340"))
WORKERS = 2


def citus_installed(sharedir="/usr/share/postgresql/15"):
    return os.path.exists(os.path.join(sharedir, "extension", "citus.control"))


class CitusCluster:
    """A coordinator (port) and `workers` workers (the next ports), under directory."""

    def __init__(self, directory, port, workers=WORKERS, ports=None):
        ports = ports or [port + i for i in range(workers + 1)]
        self.directory = os.path.abspath(directory)
        self.coordinator = Cluster(os.path.join(self.directory, "coordinator"), ports[0])
        self.workers = [Cluster(os.path.join(self.directory, "worker%d" % (i + 1)), ports[i + 1])
                        for i in range(workers)]
        self.nodes = [self.coordinator] + self.workers

    def ensure_running(self, env=None):
        os.makedirs(self.directory, exist_ok=True)
        os.chmod(self.directory, 0o755)
        for node in self.nodes:
            if not node.initialized():
                node.init()
                with open(os.path.join(node.data, "postgresql.auto.conf"), "a") as conf:
                    conf.write("shared_preload_libraries = 'citus'\n")
            if not node.running():
                node.start(env=env)
        return self

    def stop(self):
        for node in self.nodes:
            node.stop()

    def create_database(self, dbname):
        """dbname on every node, with citus and pgdl, the workers joined."""
        for node in self.nodes:
            node.ensure_database(dbname)
            # a joined worker refuses extension DDL, even IF NOT EXISTS
            installed = node.psql("SELECT string_agg(extname, ',') FROM pg_extension "
                                  "WHERE extname IN ('citus', 'pgdl')", dbname)
            if "citus" not in installed:
                node.psql("CREATE EXTENSION citus", dbname)
            if "pgdl" not in installed:
                node.psql("CREATE EXTENSION pgdl CASCADE", dbname)
        # a cluster kept from before: Citus takes the update to every node
        self.coordinator.psql("ALTER EXTENSION pgdl UPDATE", dbname)
        self.coordinator.psql("SELECT citus_set_coordinator_host('127.0.0.1', %d)"
                              % self.coordinator.port, dbname)
        for worker in self.workers:
            self.coordinator.psql(
                "SELECT citus_add_node('127.0.0.1', %d) WHERE NOT EXISTS (SELECT 1 FROM "
                "pg_dist_node WHERE nodename = '127.0.0.1' AND nodeport = %d)"
                % (worker.port, worker.port), dbname)

    def uri(self, dbname="postgres"):
        return self.coordinator.uri(dbname)


class throwaway_citus:
    """A Citus cluster in a fresh temporary directory, removed on exit."""

    def __init__(self, workers=WORKERS, env=None):
        directory = tempfile.mkdtemp(prefix="pgdl-citus-")
        self.cluster = CitusCluster(directory, 0, workers,
                                    ports=[free_port() for _ in range(workers + 1)])
        self.env = env

    def __enter__(self):
        try:
            self.cluster.ensure_running(self.env)
        except BaseException:
            self.__exit__()
            raise
        return self.cluster

    def __exit__(self, *exc):
        self.cluster.stop()
        shutil.rmtree(self.cluster.directory, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--dir", default=DEFAULT_DIR)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--dbname", default="pgdl")
    args = parser.parse_args(argv)
    cluster = CitusCluster(args.dir, args.port, args.workers)
    if args.command == "stop":
        cluster.stop()
        return 0
    if not citus_installed():
        print("Citus is not installed: run scripts/citus.sh (make citus does)", file=sys.stderr)
        return 1
    cluster.ensure_running()
    cluster.create_database(args.dbname)
    print("Citus cluster in %s: coordinator on port %d, workers on %s" % (
        cluster.directory, cluster.coordinator.port,
        ", ".join(str(w.port) for w in cluster.workers)), file=sys.stderr)
    print(cluster.uri(args.dbname))
    return 0


if __name__ == "__main__":
    sys.exit(main())
