"""The PL/Python entry point of pgdl_fdw.

The C handler calls the pgdl._fdw_* SQL functions, whose bodies call the
functions here with plain arguments: the table definition as JSON text (see
fdw/options.c), quals and values as pgdl.datum rows (fdw/values.c), column
names.  This module finds the wrapper class, keeps one instance per table
definition per backend, calls it through the Multicorn API, and turns
pgdl's errors into PostgreSQL ERRORs.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections import OrderedDict
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from itertools import islice
from operator import is_not, itemgetter
from types import ModuleType
from typing import (
    Any, Callable, Iterable, Iterator, Optional, ParamSpec, Sequence, TypeVar, cast,
)

from pgdl import batches, exchange, interrupts, records, server
from pgdl.errors import PgdlError, invalid_option
from pgdl.multicorn import transactions
from pgdl.multicorn.extensions import (
    ChecksParallelSafety, Columnar, Lockstep, PlansAhead, ReadsSource, Segment, Segmented,
    capabilities,
)
from pgdl.records import Datum, Record

P = ParamSpec("P")
T = TypeVar("T")
Row = tuple[Any, ...]
from pgdl.privilege import catalog_path

# A pgdl.datum row holds its value in exactly one of these slots.
_VALUE_SLOTS = records.DATUM_VALUE_SLOTS

# Wrapper instances by table definition, the most recently used last; an
# ALTER makes a new definition, so the old one ages out.
_instances: OrderedDict[str, _Table] = OrderedDict()
_definitions: dict[int, str] = {}       # foreign table OID -> its latest definition
INSTANCES = 64
_pending_error: Optional[Record] = None


def attach(plpy: ModuleType) -> None:
    server.attach(plpy)
    _provide_multicorn()
    import pgdl.multicorn  # noqa: F401  (resolves the API before any wrapper loads)
    transactions.on_error = _keep_error


def _keep_error(exc: BaseException) -> None:
    """A transaction hook's error, for C to raise (take_error)."""
    global _pending_error
    _pending_error = _describe(exc, wrapper=True)


def _provide_multicorn() -> None:
    """Make `import multicorn` work for wrapper classes when it is not installed."""
    try:
        importlib.import_module("multicorn")
    except ImportError:
        shim = importlib.import_module("pgdl.multicorn")
        sys.modules["multicorn"] = shim
        for name in ("utils", "compat"):
            module = importlib.import_module("pgdl.multicorn." + name)
            sys.modules["multicorn." + name] = module
            setattr(shim, name, module)


def _value(datum: Datum) -> Any:
    for slot in _VALUE_SLOTS:
        value = datum[slot]
        if value is not None:
            return value
    return None


def _quals(datums: Optional[Sequence[Datum]], table: Optional[_Table] = None,
           explaining: bool = False) -> list[Any]:
    """Qual objects.  While planning, a value known only at executor start
    (a query parameter) comes as a Parameter, to pgdl's own kinds only: a
    multicorn2 class sees such a qual only in explain(), its value "?"."""
    from pgdl.foreign.base import Parameter
    from pgdl.multicorn import Qual
    quals = []
    for datum in datums or ():
        operator, quantifier, value = datum["op"], datum["quantifier"] or "", _value(datum)
        if quantifier.endswith("?"):
            if table is None or not table.own:
                if not explaining:
                    continue
                quantifier, value = quantifier[:-1], "?"
            else:
                quantifier, value = quantifier[:-1], Parameter(value)
        if quantifier:
            operator = (operator, quantifier == "any")
        if table is not None and table.parsers:
            value = table.natural(datum["name"], value)
        quals.append(Qual(datum["name"], operator, value))
    return quals


# multicorn2 hands date and timestamp values to wrapper classes as objects
# (C sends them as ISO text); infinity and BC dates stay text
_PARSERS: dict[int, Callable[[str], Any]] = {
    1082: date.fromisoformat, 1114: datetime.fromisoformat,
}


class _Table:
    """A foreign table's definition and its wrapper instance."""

    def __init__(self, tabledef: str) -> None:
        from pgdl.multicorn import ColumnDefinition
        definition = json.loads(tabledef)
        self.relid = definition["relid"]
        self.name = "%s.%s" % (definition["schema"], definition["table"])
        self.columns = [column["name"] for column in definition["columns"]]
        options = dict(definition["server_options"])
        options.update(definition["table_options"])
        # a wrapper class's user mapping options (multicorn2 merges them in);
        # they add to the table's, never replace them, so that a role's own
        # mapping cannot redirect a table another role defined
        for name, value in definition.get("mapping_options", {}).items():
            options.setdefault(name, value)
        self.options = options
        columns = OrderedDict(
            (column["name"], ColumnDefinition(
                column["name"], type_oid=column["type_oid"], typmod=column["typmod"],
                type_name=column["type_name"], base_type_name=column["base_type_name"],
                options=column["options"]))
            for column in definition["columns"])
        cls = _wrapper_class(definition["wrapper"], options, self.name)
        # pgdl's own kinds run their SQL with the catalog search path
        self.own = definition["wrapper"] is None
        # pgdl's extensions to the Multicorn API (pgdl.multicorn.extensions)
        self.has = capabilities(cls)
        self.batches_rows = self.has.batch_rows and not self.has.columnar and all(
            column["type_oid"] in batches.ROW_TYPES for column in definition["columns"])
        self.types = {column["name"]: column["type_oid"] for column in definition["columns"]}
        self.parsers = {} if self.own else {
            name: _PARSERS[oid] for name, oid in self.types.items() if oid in _PARSERS}
        # values PL/Python would refuse, as multicorn2 writes them: by column,
        # the type of value to convert and how
        outputs = {} if self.own else {
            i: _OUTPUTS[kind] for i, kind in enumerate(
                column["base_type_name"].rsplit(".", 1)[-1] for column in definition["columns"])
            if kind in _OUTPUTS}
        self.outputs = {i: convert for i, (_, convert) in outputs.items()}
        self.converted = frozenset(kind for kind, _ in outputs.values())
        # typed Any: what it implements beyond multicorn2 is in self.has
        self.fdw: Any
        if self.own:
            self.fdw = cls(options, columns)
        else:
            with _WrapperSection():
                self.fdw = cls(options, columns)
        self._states: dict[str, Any] = {}

    def natural(self, name: str, value: Any) -> Any:
        """A column's value as a wrapper class receives it."""
        parse = self.parsers.get(name)
        if parse is None or value is None:
            return value
        if isinstance(value, list):
            return [self.natural(name, item) for item in value]
        try:
            return parse(value)
        except ValueError:
            return value

    def values(self, datums: Optional[Sequence[Datum]]) -> dict[str, Any]:
        """A row handed over as datums, keyed by column name."""
        return {d["name"]: self.natural(d["name"], _value(d)) for d in datums or ()}

    def state_kwargs(self, state: Optional[str]) -> dict[str, Any]:
        """plan_state=... for a wrapper that works things out at plan time;
        sortkeys=..., limit=... and offset=... for a multicorn2 class that
        the plan lets sort and limit (each only when there is one)."""
        if not self.has.planned:
            if self.own or not state:
                return {}
            pushed = json.loads(state)
            kwargs = {name: pushed[name] for name in ("limit", "offset") if name in pushed}
            if pushed.get("sortkeys"):
                kwargs["sortkeys"] = _sort_keys(pushed["sortkeys"])
            return kwargs
        key = state or ""
        parsed = self._states.get(key)
        if parsed is None:
            if len(self._states) > 64:
                self._states.clear()
            parsed = self._states[key] = json.loads(state) if state else None
        return {"plan_state": parsed}

    def row(self, row: Any) -> Row:
        """A row from execute() as a tuple in the table's column order."""
        if isinstance(row, dict):
            row = tuple(map(_plain, map(row.get, self.columns)))
        else:
            row = tuple(map(_plain, row))
            if len(row) != len(self.columns):
                raise PgdlError(
                    "a row of foreign table %s has %d values; the table has %d columns"
                    % (self.name, len(row), len(self.columns)),
                    hint="Yield a dict keyed by column name, or one value per column.")
        # (one C-level pass over the types when nothing needs converting)
        if self.outputs and not self.converted.isdisjoint(map(type, row)):
            row = tuple(self.outputs.get(i, _same)(value) for i, value in enumerate(row))
        return row


_PLAIN = {int, float, str, bytes, bool, type(None), list, dict, Decimal}


def _same(value: Any) -> Any:
    return value


def _bytea(value: Any) -> Any:
    """str into bytea: its UTF-8 bytes."""
    return value.encode("utf-8") if isinstance(value, str) else value


def _hstore(value: Any) -> Any:
    """A dict into hstore: its text form, keys and values as str."""
    if not isinstance(value, dict):
        return value

    def quoted(item: Any) -> str:
        return '"%s"' % str(item).replace("\\", "\\\\").replace('"', '\\"')
    return ", ".join("%s=>%s" % (quoted(key), "NULL" if item is None else quoted(item))
                     for key, item in value.items())


def _text(value: Any) -> Any:
    """bytes into a text column: decoded as UTF-8 (PL/Python would write
    their repr, b'...')."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


_OUTPUTS: dict[str, tuple[type, Callable[[Any], Any]]] = {
    "bytea": (str, _bytea), "hstore": (dict, _hstore), "text": (bytes, _text),
    "character varying": (bytes, _text), "character": (bytes, _text), "json": (bytes, _text),
    "jsonb": (bytes, _text), "xml": (bytes, _text),
}


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as the Python values PL/Python converts right
    (it would write np.float64(1.5) as the text 'np.float64(1.5)')."""
    if type(value) in _PLAIN:
        return value
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None else value


def _wrapper_class(wrapper: Optional[str], options: dict[str, str], table_name: str) -> type:
    if wrapper:
        module_name, _, class_name = wrapper.rpartition(".")
        try:
            return getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise invalid_option(
                'wrapper class "%s" of foreign table %s cannot be loaded: %s'
                % (wrapper, table_name, exc),
                hint="Name a class as module.Class, importable from the venv of pgdl.venv.")
    from pgdl import foreign
    return foreign.kind_class(options.get("kind"), table_name)


def _table(tabledef: str) -> _Table:
    table = _instances.get(tabledef)
    if table is None:
        table = _Table(tabledef)
        # as multicorn2: an ALTER makes a new instance, also when it brings
        # back a definition seen before
        stale = _definitions.get(table.relid)
        if stale is not None:
            _instances.pop(stale, None)
        _definitions[table.relid] = tabledef
        _instances[tabledef] = table
        while len(_instances) > INSTANCES:
            _instances.popitem(last=False)
    else:
        _instances.move_to_end(tabledef)
    if not table.own:
        with _WrapperSection():
            transactions.enter(table.fdw)
    return table


def _sections(table: _Table) -> Any:
    """The search path an own kind's SQL runs with (pgdl.privilege); a
    wrapper class's errors as multicorn2 reports them."""
    return catalog_path() if table.own else _WrapperSection()


class _WrapperSection:
    """A wrapper class's exception becomes the error multicorn2 raises:
    "Error in python: <class>", the exception's text as detail; the
    traceback goes to the server log."""

    def __enter__(self) -> _WrapperSection:
        return self

    def __exit__(self, kind: Any, exc: Optional[BaseException], tb: Any) -> None:
        if exc is None or not isinstance(exc, Exception) or _passes_through(exc):
            return None
        raise _wrapper_error(exc) from exc


def _passes_through(exc: BaseException) -> bool:
    plpy = server.plpy
    return isinstance(exc, (PgdlError, interrupts.Interrupted, exchange.SegmentFailed)) or (
        plpy is not None and isinstance(exc, (plpy.Error, plpy.SPIError)))


def _wrapper_error(exc: BaseException) -> PgdlError:
    if server.plpy is not None:
        server.plpy.log("".join(traceback.format_exception(exc)).rstrip())
    return PgdlError("Error in python: %s" % type(exc).__name__, detail=str(exc),
                     sqlstate="38000")


def _boundary(function: Callable[P, T]) -> Callable[P, Optional[T]]:
    """Run a dispatcher call: pgdl errors become PostgreSQL errors, and a
    cancel ends the call quietly so that C raises PostgreSQL's cancel error."""
    def call(*args: P.args, **kwargs: P.kwargs) -> Optional[T]:
        try:
            with interrupts.guard():
                return function(*args, **kwargs)
        except PgdlError as error:
            server.raise_error(error)
            return None
        except interrupts.Interrupted:
            # SQL checks for interrupts: this raises PostgreSQL's own cancel
            # error.  A parallel worker runs no SQL; C raises it after the call.
            if not interrupts.in_parallel_worker():
                server.plpy.execute("SELECT 1")
            return None
    call.__name__ = function.__name__
    call.__doc__ = function.__doc__
    return call


@_boundary
def plan(tabledef: str, quals: Optional[Sequence[Datum]], columns: Sequence[str]) -> Record:
    """rows, width, segments and parallel safety for the planner."""
    table = _table(tabledef)
    quals = _quals(quals, table)
    with _sections(table):
        has, fdw, names = table.has, table.fdw, list(columns)
        rows, width = fdw.get_rel_size(quals, names)
        segments = int(cast(Segmented, fdw).get_segments(quals, names)) if has.segmented else 1
        exchange_bytes = int(cast(Lockstep, fdw).exchange_bytes(quals, names)) \
            if has.lockstep else 0
        state = cast(PlansAhead, fdw).plan_state(quals, names) if has.planned else None
        parallel_safe = has.parallel_safe
        if parallel_safe and has.checks_parallel_safety:
            parallel_safe = bool(cast(ChecksParallelSafety, fdw).is_parallel_safe(quals, names))
        path_keys = fdw.get_path_keys() if has.keyed else ()
        # a plain multicorn2 class is costed as multicorn2 costs it
        plain = not table.own and not (has.segmented or has.lockstep or has.has_source
                                       or has.columnar or has.planned
                                       or has.participant_cost is not None)
        startup_cost = float(getattr(fdw, "_startup_cost", 20)) if plain else None
    return records.record(
        records.PLAN_FIELDS, rows=float(rows), width=int(width), segments=max(segments, 1),
        parallel_safe=parallel_safe, has_source=has.has_source,
        exchange_bytes=max(exchange_bytes, 0),
        state=None if state is None else json.dumps(state),
        columnar=has.columnar or table.batches_rows,
        participant_cost=has.participant_cost, path_keys=_path_keys(path_keys),
        startup_cost=startup_cost)


def _path_keys(keys: Any) -> Optional[str]:
    """multicorn2's get_path_keys() answer, [(columns, rows)] (columns: a name
    or a tuple of names), as fdw/plan.c reads it: keys separated by \\x1e,
    fields by \\x1f, rows first."""
    records = []
    for columns, rows in keys or ():
        names = [columns] if isinstance(columns, str) else list(columns)
        records.append("\x1f".join([repr(float(rows))] + [str(name) for name in names]))
    return "\x1e".join(records) or None


@_boundary
def source(tabledef: str, quals: Optional[Sequence[Datum]], columns: Sequence[str],
           segment: int, segments: int, state: Optional[str] = None) -> Optional[Record]:
    """The query whose rows the segment's wrapper reads, its batch size and,
    optionally, the size of its first batch (batches then double)."""
    table = _table(tabledef)
    found = cast(ReadsSource, table.fdw).source(_quals(quals), list(columns), segment=Segment(segment, segments),
                             **table.state_kwargs(state))
    if found is None:
        return None
    sql, batch_size, first_batch = (tuple(found) + (None,))[:3]
    return records.record(records.SOURCE_FIELDS, sql=sql, batch_size=batch_size,
                          first_batch=first_batch)


def _describe(exc: BaseException, wrapper: bool = False) -> Record:
    """An exception as the fields of a PostgreSQL error (of a wrapper class:
    as multicorn2 words it)."""
    if wrapper and not _passes_through(exc):
        exc = _wrapper_error(exc)
    if isinstance(exc, PgdlError):
        return records.record(records.ERROR_FIELDS, message=exc.message, detail=exc.detail,
                              hint=exc.hint, sqlstate=exc.sqlstate)
    plpy = server.plpy
    if plpy is not None and isinstance(exc, (plpy.Error, plpy.SPIError)):
        # raised by plpy.error() or by SQL run through plpy: fields of its own
        return records.record(records.ERROR_FIELDS, message=str(exc),
                              detail=getattr(exc, "detail", None),
                              hint=getattr(exc, "hint", None),
                              sqlstate=getattr(exc, "sqlstate", None))
    return records.record(records.ERROR_FIELDS, message="%s: %s" % (type(exc).__name__, exc),
                          context="".join(traceback.format_exception(exc)).rstrip())


def take_error() -> Optional[Record]:
    """The error that ended the last scan generator (once), or None."""
    global _pending_error
    error, _pending_error = _pending_error, None
    return error


def _rows(datums: Sequence[Datum]) -> dict[str, Any]:
    """Source rows from C: one datum per column (batches.decode_column)."""
    return {datum["name"]: batches.decode_column(datum) for datum in datums}


def _scanning(generate: Callable[[], Iterator[T]], tabledef: str) -> Iterator[T]:
    """Runs a scan generator (generate() makes it).  Errors end it quietly;
    C raises them (take_error).  The interrupt guard spans the whole scan:
    between rows PostgreSQL holds the GIL, so the watcher can only fire while
    this scan's Python runs."""
    global _pending_error
    try:
        with interrupts.guard():
            yield from generate()
    except (interrupts.Interrupted, exchange.SegmentFailed):
        return
    except Exception as exc:
        exchange.fail()        # segments waiting for this one stop
        table = _instances.get(tabledef)
        _pending_error = _describe(exc, wrapper=table is not None and not table.own)


def _scan_call(tabledef: str, quals: Optional[Sequence[Datum]], columns: Sequence[str],
               segment: int, segments: int, state: Optional[str],
               rows: Optional[Sequence[Datum]]) -> tuple[_Table, list[Any], list[str], dict[str, Any]]:
    """The table, and the arguments of its execute() for one segment (or one
    batch of the segment's source rows)."""
    table = _table(tabledef)
    kwargs = table.state_kwargs(state)
    if table.has.segmented:
        kwargs["segment"] = Segment(segment, segments)
    if rows is not None:
        kwargs["rows"] = _rows(rows)
    return table, _quals(quals, table), list(columns), kwargs


def scan(tabledef: str, quals: Optional[Sequence[Datum]], columns: Sequence[str], segment: int,
         segments: int, state: Optional[str] = None,
         rows: Optional[Sequence[Datum]] = None) -> Iterator[Row]:
    """The rows of one segment (or of one batch of its source rows, given as
    `rows`: column name -> values), as tuples in column order."""
    def generate() -> Iterator[Row]:
        table, quals_, columns_, kwargs = _scan_call(tabledef, quals, columns, segment,
                                                      segments, state, rows)
        to_tuple = table.row
        # as multicorn2: execute() may return None (no rows) and yield None (no row)
        for row in _executed(table, quals_, columns_, kwargs):
            if row is not None:
                yield to_tuple(row)
    return _scanning(generate, tabledef)


def _executed(table: _Table, quals: list[Any], columns: list[str],
              kwargs: dict[str, Any]) -> Iterable[Any]:
    """execute()'s rows.  A class that took the LIMIT has no Limit node above
    its scan: it is held to the rows it agreed to."""
    rows = table.fdw.execute(quals, columns, **kwargs) or ()
    if kwargs.get("limit") is None:
        return rows
    return islice(filter(_NOT_NONE, rows), kwargs["limit"])


def scan_columns(tabledef: str, quals: Optional[Sequence[Datum]], columns: Sequence[str],
                 segment: int, segments: int, state: Optional[str] = None,
                 rows: Optional[Sequence[Datum]] = None) -> Iterator[list[Record]]:
    """Like scan, for wrappers that return batches of rows as columns
    (execute_columns yields (rows, {column: values})): each value is one
    batch, a pgdl.datum per column (see fdw/columns.c)."""
    def generate() -> Iterator[list[Record]]:
        table, quals_, columns_, kwargs = _scan_call(tabledef, quals, columns, segment,
                                                      segments, state, rows)
        if table.batches_rows:
            yield from _row_batches(table, _executed(table, quals_, columns_, kwargs),
                                    columns_)
            return
        for count, batch in cast(Columnar, table.fdw).execute_columns(quals_, columns_, **kwargs):
            yield batches.encode_batch(count, batch, table.types)
    return _scanning(generate, tabledef)


FIRST_ROWS, MOST_ROWS = 64, 4096


def _row_batches(table: _Table, rows: Optional[Iterable[Any]],
                 columns: Sequence[str]) -> Iterator[list[Record]]:
    """execute()'s rows, for a class that batches them (BatchesRows): in
    batches that start small and double, so that a LIMIT reads few.  Only
    the columns the query reads are sent; C leaves the others NULL.  Each
    batch is taken apart by C-level iteration (islice, map, zip), never a
    Python loop per row, unless dicts and sequences come mixed."""
    wanted = set(columns)
    names = [name for name in table.columns if name in wanted]
    positions = [table.columns.index(name) for name in names]
    width, size = len(table.columns), FIRST_ROWS
    source = iter(rows or ())
    while True:
        chunk = list(islice(source, size))
        if not chunk:
            return
        size = min(size * 2, MOST_ROWS)
        kinds = set(map(type, chunk))
        if type(None) in kinds:             # as multicorn2: a None row is no row
            chunk = list(filter(_NOT_NONE, chunk))
            kinds.discard(type(None))
        if not chunk:
            continue
        values: dict[str, Any]
        if kinds == {dict}:
            try:
                if len(names) == 1:
                    values = {names[0]: list(map(itemgetter(names[0]), chunk))}
                else:
                    values = dict(zip(names, zip(*map(itemgetter(*names), chunk)))) \
                        if names else {}
            except KeyError:                # a dict without some column: NULL there
                values = {name: [row.get(name) for row in chunk] for name in names}
        else:
            if kinds != {tuple}:
                chunk = [tuple(map(row.get, table.columns)) if type(row) is dict else tuple(row)
                         for row in chunk]
            if set(map(len, chunk)) != {width}:
                table.row(next(row for row in chunk if len(row) != width))  # its error
            transposed = list(zip(*chunk))
            values = {name: transposed[position] for name, position in zip(names, positions)}
        yield batches.encode_batch(len(chunk), values, table.types)


_NOT_NONE = partial(is_not, None)


@_boundary
def explain(tabledef: str, quals: Optional[Sequence[Datum]], columns: Sequence[str],
            verbose: bool, state: Optional[str] = None, participants: int = 1) -> list[str]:
    table = _table(tabledef)
    kwargs = table.state_kwargs(state)
    if table.has.counts_participants:
        kwargs["participants"] = participants
    with _sections(table):
        lines = table.fdw.explain(_quals(quals, table, explaining=True), list(columns),
                                  verbose=verbose, **kwargs)
    return [str(line) for line in lines or ()]


@_boundary
def insert(tabledef: str, values: Sequence[Datum]) -> list[Row]:
    """insert() of the wrapper; the row it returns is what RETURNING shows."""
    table = _table(tabledef)
    row = table.values(values)
    with _sections(table):
        returned = table.fdw.insert(row)
    return [table.row(returned)] if returned is not None else []


@_boundary
def write(tabledef: str, action: str, rowid: Optional[Sequence[Datum]],
          values: Optional[Sequence[Datum]]) -> list[Row]:
    """update(rowid, newvalues), delete(rowid) or bulk_insert(rows) of a
    wrapper class, `values` holding one datum per column of each row; the
    rows they return (RETURNING shows them)."""
    table = _table(tabledef)
    with _sections(table):
        key = table.natural(_rowid_column(table.fdw), _value(rowid[0])) if rowid else None
        if action == "update":
            returned = [table.fdw.update(key, table.values(values))]
        elif action == "delete":
            returned = [table.fdw.delete(key)]
        elif action == "bulk_insert":
            width = len(table.columns)
            datums = list(values or ())
            rows = [table.values(datums[start:start + width])
                    for start in range(0, len(datums), width)]
            returned = list(table.fdw.bulk_insert(rows) or ())
        else:
            raise PgdlError("unknown write %r" % action)
    return [table.row(row) for row in returned if row is not None]


def _sort_keys(keys: Sequence[Sequence[Any]]) -> list[Any]:
    from pgdl.multicorn import SortKey
    return [SortKey(*key) for key in keys]


def _rowid_column(fdw: Any) -> str:
    name = fdw.rowid_column
    if name is None:
        raise PgdlError("This FDW does not support the writable API", sqlstate="0A000")
    return str(name)


@_boundary
def hook(tabledef: str, name: str, argument: Optional[str] = None) -> Optional[str]:
    """What C asks a wrapper class: "rowid" names the rowid column (UPDATE,
    DELETE); "insert" says how many rows one bulk_insert() takes;
    "can_sort" how many of the sort keys (JSON, see fdw/plan.c) it can
    return rows in the order of; "can_limit" ("1" or "0") whether it takes
    [limit, offset]; "end_scan" and "end_modify" are multicorn2's hooks."""
    table = _table(tabledef)
    if table.own:
        return "1" if name == "insert" else None
    fdw = table.fdw
    with _sections(table):
        if name == "rowid":
            return _rowid_column(fdw)
        if name == "insert":
            _rowid_column(fdw)        # as multicorn2: no rowid column, no writes
            return str(max(int(fdw.modify_batch_size or 1), 1))
        if name == "can_sort":
            wanted = _sort_keys(json.loads(argument or "[]"))
            accepted = list(fdw.can_sort(wanted) or ())
            count = 0
            while count < len(wanted) and wanted[count] in accepted:
                count += 1
            return str(count)
        if name == "can_limit":
            limit, offset = json.loads(argument or "[null, null]")
            return "1" if fdw.can_limit(limit, offset) else "0"
        if name in ("end_scan", "end_modify"):
            getattr(fdw, name)()
            return None
    raise PgdlError("unknown hook %r" % name)


@_boundary
def validate(kind: str, options: Sequence[str]) -> None:
    from pgdl import foreign
    pairs = dict(zip(options[0::2], options[1::2]))
    with catalog_path():
        superuser = server.plpy.execute("SELECT rolsuper FROM pg_roles "
                                        "WHERE rolname = current_user")[0]["rolsuper"]
    if kind in foreign.INTERNAL_KINDS and not superuser:
        raise invalid_option('kind "%s" is pgdl\'s own' % kind,
                             hint="Use pgdl.%s." % kind
                             if kind in ("model_training", "model_selection") else None)
    foreign.kind_class(kind, "being defined").validate_options(pairs)


@_boundary
def import_schema(server_name: str, wrapper: str, server_options: Sequence[str],
                  remote_schema: str, local_schema: str, options: Sequence[str],
                  restriction: Optional[str], tables: Sequence[str]) -> list[str]:
    server_pairs = dict(zip(server_options[0::2], server_options[1::2]))
    pairs = dict(zip(options[0::2], options[1::2]))
    cls: Any = _wrapper_class(wrapper, server_pairs, "of server %s" % server_name)
    restriction_type = {"limit": "limit", "except": "except"}.get(restriction or "")
    definitions = cls.import_schema(remote_schema, server_pairs, pairs,
                                    restriction_type, list(tables)) or []
    return [definition.to_statement(local_schema, server_name) for definition in definitions]


def _forward(module: str, function: str, sql_name: str,
             required: Sequence[tuple[int, str]] = ()) -> Callable[..., Any]:
    """A dispatcher entry for SQL function pgdl.<sql_name>: calls
    module.function (imported on first use) with the catalog search path,
    after checking that the arguments at positions `required` are not NULL."""
    def call(*args: Any) -> Any:
        for position, name in required:
            if args[position] is None:
                raise PgdlError("pgdl.%s needs %s, not NULL" % (sql_name, name),
                                sqlstate="22004")
        with catalog_path():
            return getattr(importlib.import_module(module), function)(*args)
    call.__name__ = function
    return _boundary(call)


preprocess = _forward("pgdl.data.preprocess", "preprocess", "preprocess",
                      [(0, "a source table"), (1, "an output table"), (2, "features"),
                       (3, "a label column")])
load_dataset = _forward("pgdl.data.load", "load_dataset", "load_dataset",
                        [(0, "a data set name"), (1, "a target table")])
create_predictions_table = _forward("pgdl.foreign.predictions", "create_table",
                                    "create_predictions_table",
                                    [(0, "a table name"), (1, "a model"), (2, "a source table")])
import_onnx = _forward("pgdl.engine.importing", "import_onnx", "import_onnx",
                       [(0, "a model name"), (1, "the ONNX bytes")])
evaluate = _forward("pgdl.engine.evaluation", "evaluate", "evaluate",
                    [(0, "a model"), (1, "a source table")])
share_model = _forward("pgdl.engine.registry", "share_model", "share_model", [(0, "a model")])
unshare_model = _forward("pgdl.engine.registry", "unshare_model", "unshare_model",
                         [(0, "a model")])
drop_model = _forward("pgdl.engine.registry", "drop_model", "drop_model", [(0, "a model")])
generate_model_configs = _forward("pgdl.engine.selection", "generate_model_configs",
                                  "generate_model_configs",
                                  [(0, "a search name"), (1, "architectures"),
                                   (2, "compile_params")])
in_apart = _forward("pgdl.engine.apart", "run", "in_apart", [(0, "what"), (1, "an argument")])
segment_task = _forward("pgdl.distributed.worker", "task", "segment_task",
                        [(0, "a shard"), (1, "a segment"), (2, "a task"), (3, "a payload")])


@_boundary
def check_architecture(row: dict[str, Any]) -> str:
    """Validates a pgdl.architectures row and fills in what the model says."""
    from pgdl.engine.architecture import check
    with catalog_path():
        description = check(row)
    row["input_shape"] = description.input_shape
    row["output_shape"] = description.output_shape
    row["parameters"] = description.parameters
    return "MODIFY"
