"""pgdl's implementation of the Multicorn2 Python API.

Classes written for multicorn2 subclass `ForeignDataWrapper` and receive
`Qual`, `SortKey` and `ColumnDefinition` objects; this module gives them the
same names, constructor arguments and behaviour, so such a class runs on
pgdl_fdw unchanged.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from pgdl.sql import ident, literal

ANY = object()
ALL = object()
UNBOUND = object()

SortKey = namedtuple("SortKey", ["attname", "attnum", "is_reversed", "nulls_first", "collate"])

# An operator: "=", or (op, True) for op ANY(array), (op, False) for op ALL(array).
Operator = Union[str, tuple[str, bool]]


class Qual:
    """A restriction `field_name operator value` that PostgreSQL handed over.

    For `column op ANY(array)` and `column op ALL(array)` the operator is a
    tuple `(op, True)` (ANY) or `(op, False)` (ALL) and the value a list.
    `column IS NULL` is `(column, '=', None)`; IS NOT NULL uses `'<>'`.
    """

    def __init__(self, field_name: str, operator: Operator, value: Any) -> None:
        self.field_name = field_name
        self.operator = operator
        self.value = value

    @property
    def is_list_operator(self) -> bool:
        return isinstance(self.operator, tuple)

    @property
    def list_any_or_all(self) -> Optional[object]:
        if not isinstance(self.operator, tuple):
            return None
        return ANY if self.operator[1] else ALL

    @property
    def operator_name(self) -> str:
        return self.operator[0] if isinstance(self.operator, tuple) else self.operator

    def __repr__(self) -> str:
        # as multicorn2 writes it (wrappers log it): the value as str()
        if isinstance(self.operator, tuple):
            kind = "ANY" if self.operator[1] else "ALL"
            return "%s %s %s(%s)" % (self.field_name, self.operator[0], kind, self.value)
        return "%s %s %s" % (self.field_name, self.operator, self.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Qual):
            return NotImplemented
        return (self.field_name, self.operator, self.value) == (
            other.field_name, other.operator, other.value)

    def __hash__(self) -> int:
        return hash((self.field_name, self.operator, repr(self.value)))


class ColumnDefinition:
    """A column of a foreign table, as the wrapper sees it."""

    def __init__(self, column_name: str, type_oid: int = 0, typmod: int = 0,
                 type_name: str = "", base_type_name: str = "",
                 options: Optional[Mapping[str, str]] = None) -> None:
        self.column_name = column_name
        self.type_oid = type_oid
        self.typmod = typmod
        self.type_name = type_name
        self.base_type_name = base_type_name
        self.options = dict(options or {})

    def __repr__(self) -> str:
        return "%s(%s, %i, %s)" % (type(self).__name__, self.column_name,
                                   self.type_oid, self.type_name)

    def to_statement(self) -> str:
        return "%s %s" % (ident(self.column_name), self.type_name)


class TableDefinition:
    """A foreign table that import_schema() asks PostgreSQL to create."""

    def __init__(self, table_name: str, schema: Optional[str] = None,
                 columns: Optional[list[ColumnDefinition]] = None,
                 options: Optional[Mapping[str, str]] = None) -> None:
        self.table_name = table_name
        self.schema = schema
        self.columns = columns or []
        self.options = dict(options or {})

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, self.table_name)

    def to_statement(self, schema_name: str, server_name: str) -> str:
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

    # the planner's start-up cost of a scan (multicorn2's cost model)
    _startup_cost = 20

    def __init__(self, fdw_options: dict[str, str],
                 fdw_columns: Mapping[str, ColumnDefinition]) -> None:
        pass

    def get_rel_size(self, quals: Sequence[Qual], columns: Sequence[str]) -> tuple[float, int]:
        """(rows, average row width in bytes) the planner should expect."""
        return 100000000, len(columns) * 100

    def get_path_keys(self) -> list[tuple[Union[str, Sequence[str]], float]]:
        """[(columns, rows)]: columns the wrapper looks rows up by, and the
        rows one lookup returns."""
        return []

    def can_sort(self, sortkeys: Sequence[Any]) -> list[Any]:
        return []

    def can_limit(self, limit: Optional[int], offset: Optional[int]) -> bool:
        return False

    def explain(self, quals: Sequence[Qual], columns: Sequence[str],
                sortkeys: Optional[Sequence[Any]] = None, verbose: bool = False,
                limit: Optional[int] = None, offset: Optional[int] = None) -> Iterable[str]:
        """Lines that EXPLAIN shows for a scan of this table."""
        return []

    def execute(self, quals: Sequence[Qual], columns: Sequence[str],
                sortkeys: Optional[Sequence[Any]] = None, limit: Optional[int] = None,
                offset: Optional[int] = None) -> Optional[Iterable[Any]]:
        """The rows of the table: dicts keyed by column name, or sequences."""
        raise NotImplementedError("this foreign data wrapper does not implement execute()")

    @property
    def rowid_column(self) -> str:
        """The column that identifies a row for update() and delete(); a
        class without one is read-only (as in multicorn2, even for INSERT)."""
        raise NotImplementedError("This FDW does not support the writable API")

    @property
    def modify_batch_size(self) -> int:
        """Rows per bulk_insert() call; 1 inserts them one by one."""
        return 1

    def insert(self, values: dict[str, Any]) -> Optional[Mapping[str, Any]]:
        raise NotImplementedError("This FDW does not support the writable API")

    def bulk_insert(self, all_values: list[dict[str, Any]]) -> Optional[list[Mapping[str, Any]]]:
        raise NotImplementedError("This FDW does not support the bulk insert writable API")

    def update(self, oldvalues: Any, newvalues: dict[str, Any]) -> Optional[Mapping[str, Any]]:
        """oldvalues: the rowid column's value of the row to update."""
        raise NotImplementedError("This FDW does not support the writable API")

    def delete(self, oldvalues: Any) -> Optional[Mapping[str, Any]]:
        """oldvalues: the rowid column's value of the row to delete."""
        raise NotImplementedError("This FDW does not support the writable API")

    def begin(self, serializable: bool) -> None:
        pass

    def pre_commit(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def sub_begin(self, level: int) -> None:
        pass

    def sub_commit(self, level: int) -> None:
        pass

    def sub_rollback(self, level: int) -> None:
        pass

    def end_scan(self) -> None:
        pass

    def end_modify(self) -> None:
        pass

    @classmethod
    def import_schema(cls, schema: str, srv_options: dict[str, str], options: dict[str, str],
                      restriction_type: Optional[str],
                      restricts: list[str]) -> list[TableDefinition]:
        """TableDefinitions for IMPORT FOREIGN SCHEMA."""
        raise NotImplementedError("This FDW does not support IMPORT FOREIGN SCHEMA")


class TransactionAwareForeignDataWrapper(ForeignDataWrapper):
    """A wrapper that keeps the changes of the current transaction in
    `current_transaction_state` ((operation, values) pairs) until commit;
    rollback() forgets them."""

    def __init__(self, fdw_options: dict[str, str],
                 fdw_columns: Mapping[str, ColumnDefinition]) -> None:
        super().__init__(fdw_options, fdw_columns)
        self._init_transaction_state()

    def _init_transaction_state(self) -> None:
        self.current_transaction_state: list[tuple[str, Any]] = []

    def insert(self, values: dict[str, Any]) -> Optional[Mapping[str, Any]]:
        self.current_transaction_state.append(("insert", values))
        return None

    def update(self, oldvalues: Any, newvalues: dict[str, Any]) -> Optional[Mapping[str, Any]]:
        self.current_transaction_state.append(("update", (oldvalues, newvalues)))
        return None

    def delete(self, oldvalues: Any) -> Optional[Mapping[str, Any]]:
        self.current_transaction_state.append(("delete", oldvalues))
        return None

    def rollback(self) -> None:
        self._init_transaction_state()


__all__ = ["ANY", "ALL", "UNBOUND", "SortKey", "Qual", "ColumnDefinition",
           "TableDefinition", "ForeignDataWrapper", "TransactionAwareForeignDataWrapper",
           "OrderedDict"]
