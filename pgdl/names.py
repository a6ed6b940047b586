"""Names users give, resolved once with the user's own search path.

pgdl's SQL runs with pg_catalog alone on the search path (pgdl.privilege);
a table name a user passes is resolved here, with the user's search path,
to its OID and a schema-qualified, quoted name that means the same table
whatever the search path is later.
"""

from dataclasses import dataclass

from pgdl import server
from pgdl.errors import PgdlError
from pgdl.privilege import user_path
from pgdl.sql import literal, qualified


@dataclass
class Relation:
    oid: int
    name: str           # as the user would write it (for messages)
    qualified: str      # schema-qualified and quoted (for SQL)


def relation(name, what="table"):
    """The relation a user's name means, or a PgdlError."""
    if name is None:
        raise PgdlError("a %s name is needed, not NULL" % what, sqlstate="22004")
    with user_path():
        rows = server.plpy.execute(
            "SELECT c.oid, c.oid::regclass::text AS name, n.nspname, c.relname "
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = pg_catalog.to_regclass(%s)" % literal(name))
    if not rows:
        raise PgdlError('%s "%s" does not exist' % (what, name), sqlstate="42P01")
    row = rows[0]
    return Relation(row["oid"], row["name"], qualified(row["nspname"], row["relname"]))


def new_relation(name, what="relation"):
    """The schema-qualified name to create a relation under, for a name that
    must not exist yet (unqualified: in the user's current schema)."""
    if name is None:
        raise PgdlError("a name for the new %s is needed, not NULL" % what, sqlstate="22004")
    plpy = server.plpy
    with user_path():
        row = plpy.execute("SELECT pg_catalog.to_regclass(%s) IS NOT NULL AS taken, "
                           "pg_catalog.parse_ident(%s) AS parts, "
                           "pg_catalog.current_schema() AS schema"
                           % (literal(name), literal(name)))[0]
    if row["taken"]:
        raise PgdlError('relation "%s" already exists' % name,
                        hint="Drop it, or name another output table.", sqlstate="42P07")
    parts = row["parts"]
    if len(parts) == 1:
        if row["schema"] is None:
            raise PgdlError('no schema to create "%s" in' % name,
                            hint="Name the schema: schema.%s." % name, sqlstate="3F000")
        parts = [row["schema"]] + parts
    if len(parts) != 2:
        raise PgdlError('improper relation name "%s"' % name,
                        hint="Write name or schema.name.", sqlstate="42601")
    return qualified(*parts)
