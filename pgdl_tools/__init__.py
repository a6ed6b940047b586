"""What runs outside the server: throwaway clusters (cluster.py, citus.py),
the demo (demo.py), a stored model read by a client (client.py) and the
Greenplum mapping (greenplum.py).  Nothing in pgdl imports this package."""
