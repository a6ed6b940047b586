"""pgdl's implementation of the Multicorn2 Python API.

Classes written for multicorn2 subclass `ForeignDataWrapper` and receive
`Qual`, `SortKey` and `ColumnDefinition` objects; this module gives them the
same names, constructor arguments and behaviour, so such a class runs on
pgdl_fdw unchanged.
"""

from collections import OrderedDict, namedtuple

from pgdl.sql import ident, literal

ANY = object()
ALL = object()
UNBOUND = object()

SortKey = namedtuple("SortKey", ["attname", "attnum", "is_reversed", "nulls_first", "collate"])


class Qual:
    """A restriction `field_name operator value` that PostgreSQL handed over.

    For `column op ANY(array)` and `column op ALL(array)` the operator is a
    tuple `(op, True)` (ANY) or `(op, False)` (ALL) and the value a list.
    `column IS NULL` is `(column, '=', None)`; IS NOT NULL uses `'<>'`.
    """

    def __init__(self, field_name, operator, value):
        self.field_name = field_name
        self.operator = operator
        self.value = value

    @property
    def is_list_operator(self):
        return isinstance(self.operator, tuple)

    @property
    def list_any_or_all(self):
        if not self.is_list_operator:
            return None
        return ANY if self.operator[1] else ALL

    @property
    def operator_name(self):
        return self.operator[0] if self.is_list_operator else self.operator

    def __repr__(self):
        if self.is_list_operator:
            kind = "ANY" if self.operator[1] else "ALL"
            return "%s %s %s(%r)" % (self.field_name, self.operator[0], kind, self.value)
        return "%s %s %r" % (self.field_name, self.operator, self.value)

    def __eq__(self, other):
        if not isinstance(other, Qual):
            return NotImplemented
        return (self.field_name, self.operator, self.value) == (
            other.field_name, other.operator, other.value)

    def __hash__(self):
        return hash((self.field_name, self.operator, repr(self.value)))


class ColumnDefinition:
    """A column of a foreign table, as the wrapper sees it."""

    def __init__(self, column_name, type_oid=0, typmod=0, type_name="",
                 base_type_name="", options=None):
        self.column_name = column_name
        self.type_oid = type_oid
        self.typmod = typmod
        self.type_name = type_name
        self.base_type_name = base_type_name
        self.options = options or {}

    def __repr__(self):
        return "%s(%s, %i, %s)" % (type(self).__name__, self.column_name,
                                   self.type_oid, self.type_name)

    def to_statement(self):
        return "%s %s" % (ident(self.column_name), self.type_name)


class TableDefinition:
    """A foreign table that import_schema() asks PostgreSQL to create."""

    def __init__(self, table_name, schema=None, columns=None, options=None):
        self.table_name = table_name
        self.schema = schema
        self.columns = columns or []
        self.options = options or {}

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, self.table_name)

    def to_statement(self, schema_name, server_name):
        columns = ",\n  ".join(column.to_statement() for column in self.columns)
        statement = "CREATE FOREIGN TABLE %s.%s (\n  %s\n) SERVER %s" % (
            ident(schema_name), ident(self.table_name), columns,
            ident(server_name))
        if self.options:
            statement += " OPTIONS (%s)" % ", ".join(
                "%s %s" % (ident(key), literal(value))
                for key, value in self.options.items())
        return statement


class ForeignDataWrapper:
    """Base class of the Python classes behind foreign tables.

    A subclass implements execute(); insert() makes the table writable.
    `fdw_options` holds the server's and the table's options (the table's
    win), `fdw_columns` maps column names to ColumnDefinition.
    """

    def __init__(self, fdw_options, fdw_columns):
        pass

    def get_rel_size(self, quals, columns):
        """(rows, average row width in bytes) the planner should expect."""
        return 100000000, len(columns) * 100

    def get_path_keys(self):
        return []

    def can_sort(self, sortkeys):
        return []

    def can_limit(self, limit, offset):
        return False

    def explain(self, quals, columns, sortkeys=None, verbose=False):
        """Lines that EXPLAIN shows for a scan of this table."""
        return []

    def execute(self, quals, columns, sortkeys=None, limit=None, offset=None):
        """The rows of the table: dicts keyed by column name, or sequences."""
        raise NotImplementedError("this foreign data wrapper does not implement execute()")

    @property
    def rowid_column(self):
        raise NotImplementedError("this foreign data wrapper does not define a rowid column")

    def insert(self, values):
        raise NotImplementedError("this foreign data wrapper does not support INSERT")

    def update(self, oldvalues, newvalues):
        raise NotImplementedError("this foreign data wrapper does not support UPDATE")

    def delete(self, oldvalues):
        raise NotImplementedError("this foreign data wrapper does not support DELETE")

    def begin(self, serializable):
        pass

    def pre_commit(self):
        pass

    def commit(self):
        pass

    def rollback(self):
        pass

    def sub_begin(self, level):
        pass

    def sub_commit(self, level):
        pass

    def sub_rollback(self, level):
        pass

    def end_scan(self):
        pass

    def end_modify(self):
        pass

    @classmethod
    def import_schema(cls, schema, srv_options, options, restriction_type, restricts):
        """TableDefinitions for IMPORT FOREIGN SCHEMA."""
        raise NotImplementedError("this foreign data wrapper does not support IMPORT FOREIGN SCHEMA")


__all__ = ["ANY", "ALL", "UNBOUND", "SortKey", "Qual", "ColumnDefinition",
           "TableDefinition", "ForeignDataWrapper", "OrderedDict"]
