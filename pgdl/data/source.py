"""A source table as pgdl reads it: its name, columns and key from the
catalogs, its rows, and the SQL expression of its feature columns.

Packing (pgdl.data.preprocess), scoring (predictions tables, on one node
or on Citus workers) and evaluation all read sources through this.
"""

from pgdl import names, server, sql
from pgdl.errors import PgdlError

ARRAY_ELEMENTS = {"int2", "int4", "int8", "float4", "float8"}
NUMERIC = ARRAY_ELEMENTS | {"numeric"}
FETCH = 5000


class Source:
    """The source table: its name, columns and key, looked up in the catalogs."""

    def __init__(self, name, key):
        plpy = server.plpy
        found = names.relation(name)
        self.oid = found.oid
        self.name = found.name              # for messages
        self.qualified = found.qualified    # for SQL, whatever the search_path
        self.columns = {
            r["attname"]: r for r in plpy.execute(
                """SELECT a.attname, t.typname, e.typname AS element,
                          format_type(a.atttypid, a.atttypmod) AS type
                   FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                   LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
                   WHERE a.attrelid = %d AND a.attnum > 0 AND NOT a.attisdropped""" % self.oid)}
        if key is None:
            primary = plpy.execute(
                """SELECT a.attname FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                   WHERE i.indrelid = %d AND i.indisprimary AND i.indnatts = 1""" % self.oid)
            key = primary[0]["attname"] if primary else None
        if key is not None:
            self.column(key, "key")
        self.key = key

    def column(self, name, role):
        if name not in self.columns:
            raise PgdlError('column "%s" does not exist in table %s' % (name, self.name),
                            hint="The %s must be a column of the source table." % role,
                            sqlstate="42703")
        return self.columns[name]

    def read(self, features, label, relation=None, group=None):
        """Every row's key (ctid as text without a key column), feature
        expression and label, as three lists; from `relation` (SQL name of
        one of the table's shards) where given.  With a group column, a
        fourth list: its values as text."""
        plpy = server.plpy
        key = sql.ident(self.key) if self.key else "ctid::text"
        cursor = plpy.cursor("SELECT %s AS key, %s AS features, %s AS label%s FROM %s"
                             % (key, features, sql.ident(label),
                                ", %s::text AS grouped" % sql.ident(group) if group else "",
                                relation or self.qualified))
        keys, rows, labels, groups = [], [], [], []
        while True:
            batch = cursor.fetch(FETCH)
            if not batch:
                break
            for record in batch:
                keys.append(record["key"])
                rows.append(record["features"])
                labels.append(record["label"])
                if group:
                    groups.append(record["grouped"])
        if group:
            return keys, rows, labels, groups
        return keys, rows, labels

    def where(self, key):
        """Where a row is, for error messages."""
        if self.key is None:
            return "at ctid %s" % key
        return "at %s = %s" % (self.key, key)


def feature_expression(source, names, feature_shape):
    """(SQL expression, packing kind, declared shape) for the feature columns."""
    columns = [source.column(name, "feature column") for name in names]
    if not columns:
        raise PgdlError("no feature columns given", hint="Name one column, or several numeric "
                        "columns separated by commas.", sqlstate="22023")
    first = columns[0]
    if len(columns) == 1 and first["typname"] == "bytea":
        return sql.ident(first["attname"]), "uint8", feature_shape
    if len(columns) == 1 and first["element"] is not None:
        element = first["element"]
        if element in ARRAY_ELEMENTS:
            return "array_send(%s)" % sql.ident(first["attname"]), element, feature_shape
        if element == "numeric":
            return "array_send(%s::float8[])" % sql.ident(first["attname"]), "float8", \
                feature_shape
    for column in columns:
        if column["typname"] not in NUMERIC:
            raise PgdlError(
                'column "%s" of table %s has type %s' % (column["attname"], source.name,
                                                         column["type"]),
                hint="Features are one bytea column, one numeric array column, "
                     "or numeric columns.", sqlstate="42804")
    expression = "array_send(ARRAY[%s]::float8[])" % ", ".join(
        "%s::float8" % sql.ident(c["attname"]) for c in columns)
    return expression, "float8", feature_shape or [len(columns)]


def feature_columns(source, names):
    """The feature columns as separate float8 expressions, where the features
    are numeric columns (else None: one bytea or array column): a scan that
    reads them so gets one buffer per column (fdw/source.c) and forms no
    array per row."""
    columns = [source.column(name, "feature column") for name in names]
    if len(columns) == 1 and (columns[0]["typname"] == "bytea"
                              or columns[0]["element"] is not None):
        return None
    return ["%s::float8" % sql.ident(c["attname"]) for c in columns]
