"""The PL/Python entry point of pgdl_fdw.

The C handler calls the pgdl._fdw_* SQL functions, whose bodies call the
functions here with plain arguments: the table definition as JSON text (see
fdw/options.c), quals and values as pgdl.datum rows (fdw/values.c), column
names.  This module finds the wrapper class, keeps one instance per table
definition per backend, calls it through the Multicorn API, and turns
pgdl's errors into PostgreSQL ERRORs.
"""

import importlib
import inspect
import json
import sys
import traceback
from collections import OrderedDict
from decimal import Decimal

from pgdl import batches, exchange, interrupts, records, server
from pgdl.errors import PgdlError, invalid_option
from pgdl.privilege import catalog_path

# A pgdl.datum row holds its value in exactly one of these slots.
_VALUE_SLOTS = records.DATUM_VALUE_SLOTS

# Wrapper instances by table definition, the most recently used last; an
# ALTER makes a new definition, so the old one ages out.
_instances = OrderedDict()
INSTANCES = 64
_pending_error = None


def attach(plpy):
    server.attach(plpy)
    _provide_multicorn()
    import pgdl.multicorn  # noqa: F401  (resolves the API before any wrapper loads)


def _provide_multicorn():
    """Make `import multicorn` work for wrapper classes when it is not installed."""
    try:
        importlib.import_module("multicorn")
    except ImportError:
        import pgdl.multicorn.api
        import pgdl.multicorn.utils
        shim = importlib.import_module("pgdl.multicorn")
        sys.modules["multicorn"] = shim
        sys.modules["multicorn.utils"] = pgdl.multicorn.utils
        shim.utils = pgdl.multicorn.utils


def _value(datum):
    for slot in _VALUE_SLOTS:
        value = datum[slot]
        if value is not None:
            return value
    return None


def _quals(datums, table=None):
    """Qual objects.  While planning, a value known only at executor start
    (a query parameter) comes as a Parameter, to pgdl's own kinds only: a
    multicorn2 class never sees such a qual before execute()."""
    from pgdl.foreign.base import Parameter
    from pgdl.multicorn import Qual
    quals = []
    for datum in datums or ():
        operator, quantifier, value = datum["op"], datum["quantifier"] or "", _value(datum)
        if quantifier.endswith("?"):
            if table is None or not table.own:
                continue
            quantifier, value = quantifier[:-1], Parameter(value)
        if quantifier:
            operator = (operator, quantifier == "any")
        quals.append(Qual(datum["name"], operator, value))
    return quals


class _Table:
    """A foreign table's definition and its wrapper instance."""

    def __init__(self, tabledef):
        from pgdl.multicorn import ColumnDefinition
        definition = json.loads(tabledef)
        self.name = "%s.%s" % (definition["schema"], definition["table"])
        self.columns = [column["name"] for column in definition["columns"]]
        options = dict(definition["server_options"])
        options.update(definition["table_options"])
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
        self.segmented = callable(getattr(cls, "get_segments", None))
        self.has_source = callable(getattr(cls, "source", None))
        self.lockstep = callable(getattr(cls, "exchange_bytes", None))
        self.parallel_safe = bool(getattr(cls, "parallel_safe", False))
        self.planned = callable(getattr(cls, "plan_state", None))
        # multicorn2's get_path_keys: columns the wrapper looks rows up by
        self.keyed = callable(getattr(cls, "get_path_keys", None))
        # explain(..., participants=n): how many processes run the scan
        self.counts_participants = "participants" in inspect.signature(cls.explain).parameters \
            if callable(getattr(cls, "explain", None)) else False
        # a wrapper that returns batches of rows as columns (execute_columns)
        self.columnar = callable(getattr(cls, "execute_columns", None))
        self.types = {column["name"]: column["type_oid"] for column in definition["columns"]}
        self.fdw = cls(options, columns)
        self._states = {}

    def state_kwargs(self, state):
        """plan_state=... for a wrapper that works things out at plan time."""
        if not self.planned:
            return {}
        parsed = self._states.get(state)
        if parsed is None:
            if len(self._states) > 64:
                self._states.clear()
            parsed = self._states[state] = json.loads(state) if state else None
        return {"plan_state": parsed}

    def row(self, row):
        """A row from execute() as a tuple in the table's column order."""
        if isinstance(row, dict):
            return tuple(map(_plain, map(row.get, self.columns)))
        row = tuple(map(_plain, row))
        if len(row) != len(self.columns):
            raise PgdlError(
                "a row of foreign table %s has %d values; the table has %d columns"
                % (self.name, len(row), len(self.columns)),
                hint="Yield a dict keyed by column name, or one value per column.")
        return row


_PLAIN = {int, float, str, bytes, bool, type(None), list, dict, Decimal}


def _plain(value):
    """numpy scalars and arrays as the Python values PL/Python converts right
    (it would write np.float64(1.5) as the text 'np.float64(1.5)')."""
    if type(value) in _PLAIN:
        return value
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None else value


def _wrapper_class(wrapper, options, table_name):
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


def _table(tabledef):
    table = _instances.get(tabledef)
    if table is None:
        table = _instances[tabledef] = _Table(tabledef)
        while len(_instances) > INSTANCES:
            _instances.popitem(last=False)
    else:
        _instances.move_to_end(tabledef)
    return table


def _sections(table):
    """The search path an own kind's SQL runs with (pgdl.privilege)."""
    return catalog_path() if table.own else _NoSection()


class _NoSection:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _boundary(function):
    """Run a dispatcher call: pgdl errors become PostgreSQL errors, and a
    cancel ends the call quietly so that C raises PostgreSQL's cancel error."""
    def call(*args):
        try:
            with interrupts.guard():
                return function(*args)
        except PgdlError as error:
            server.raise_error(error)
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
def plan(tabledef, quals, columns):
    """rows, width, segments and parallel safety for the planner."""
    table = _table(tabledef)
    quals = _quals(quals, table)
    with _sections(table):
        rows, width = table.fdw.get_rel_size(quals, list(columns))
        segments = int(table.fdw.get_segments(quals, list(columns))) if table.segmented else 1
        exchange_bytes = int(table.fdw.exchange_bytes(quals, list(columns))) \
            if table.lockstep else 0
        state = table.fdw.plan_state(quals, list(columns)) if table.planned else None
        parallel_safe = table.parallel_safe
        if parallel_safe and callable(getattr(table.fdw, "is_parallel_safe", None)):
            parallel_safe = bool(table.fdw.is_parallel_safe(quals, list(columns)))
        path_keys = table.fdw.get_path_keys() if table.keyed else ()
    cost = getattr(table.fdw, "participant_cost", None)
    return records.record(
        records.PLAN_FIELDS, rows=float(rows), width=int(width), segments=max(segments, 1),
        parallel_safe=parallel_safe, has_source=table.has_source,
        exchange_bytes=max(exchange_bytes, 0),
        state=None if state is None else json.dumps(state), columnar=table.columnar,
        participant_cost=None if cost is None else float(cost),
        path_keys=_path_keys(path_keys))


def _path_keys(keys):
    """multicorn2's get_path_keys() answer, [(columns, rows)] (columns: a name
    or a tuple of names), as fdw/plan.c reads it: keys separated by \\x1e,
    fields by \\x1f, rows first."""
    records = []
    for columns, rows in keys or ():
        names = [columns] if isinstance(columns, str) else list(columns)
        records.append("\x1f".join([repr(float(rows))] + [str(name) for name in names]))
    return "\x1e".join(records) or None


@_boundary
def source(tabledef, quals, columns, segment, segments, state=None):
    """The query whose rows the segment's wrapper reads, its batch size and,
    optionally, the size of its first batch (batches then double)."""
    from pgdl.foreign.base import Segment
    table = _table(tabledef)
    found = table.fdw.source(_quals(quals), list(columns), segment=Segment(segment, segments),
                             **table.state_kwargs(state))
    if found is None:
        return None
    sql, batch_size, first_batch = (tuple(found) + (None,))[:3]
    return records.record(records.SOURCE_FIELDS, sql=sql, batch_size=batch_size,
                          first_batch=first_batch)


def _describe(exc):
    """An exception as the fields of a PostgreSQL error."""
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


def take_error():
    """The error that ended the last scan generator (once), or None."""
    global _pending_error
    error, _pending_error = _pending_error, None
    return error


def _rows(datums):
    """Source rows from C: one datum per column holding the column's values."""
    return {datum["name"]: _value(datum) or [] for datum in datums}


def _scanning(generate):
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
        _pending_error = _describe(exc)


def _scan_call(tabledef, quals, columns, segment, segments, state, rows):
    """The table, and the arguments of its execute() for one segment (or one
    batch of the segment's source rows)."""
    from pgdl.foreign.base import Segment
    table = _table(tabledef)
    kwargs = table.state_kwargs(state)
    if table.segmented:
        kwargs["segment"] = Segment(segment, segments)
    if rows is not None:
        kwargs["rows"] = _rows(rows)
    return table, _quals(quals), list(columns), kwargs


def scan(tabledef, quals, columns, segment, segments, state=None, rows=None):
    """The rows of one segment (or of one batch of its source rows, given as
    `rows`: column name -> values), as tuples in column order."""
    def generate():
        table, quals_, columns_, kwargs = _scan_call(tabledef, quals, columns, segment,
                                                      segments, state, rows)
        to_tuple = table.row
        # as multicorn2: execute() may return None (no rows) and yield None (no row)
        for row in table.fdw.execute(quals_, columns_, **kwargs) or ():
            if row is not None:
                yield to_tuple(row)
    return _scanning(generate)


def scan_columns(tabledef, quals, columns, segment, segments, state=None, rows=None):
    """Like scan, for wrappers that return batches of rows as columns
    (execute_columns yields (rows, {column: values})): each value is one
    batch, a pgdl.datum per column (see fdw/columns.c)."""
    def generate():
        table, quals_, columns_, kwargs = _scan_call(tabledef, quals, columns, segment,
                                                      segments, state, rows)
        for count, batch in table.fdw.execute_columns(quals_, columns_, **kwargs):
            yield batches.encode_batch(count, batch, table.types)
    return _scanning(generate)


@_boundary
def explain(tabledef, quals, columns, verbose, state=None, participants=1):
    table = _table(tabledef)
    kwargs = table.state_kwargs(state)
    if table.counts_participants:
        kwargs["participants"] = participants
    with _sections(table):
        lines = table.fdw.explain(_quals(quals, table), list(columns), verbose=verbose,
                                  **kwargs)
    return [str(line) for line in lines or ()]


@_boundary
def insert(tabledef, values):
    """insert() of the wrapper; the row it returns is what RETURNING shows."""
    table = _table(tabledef)
    row = {datum["name"]: _value(datum) for datum in values}
    with _sections(table):
        returned = table.fdw.insert(row)
    return [table.row(returned)] if returned is not None else []


@_boundary
def validate(kind, options):
    from pgdl import foreign
    pairs = dict(zip(options[0::2], options[1::2]))
    with catalog_path():
        superuser = server.plpy.execute("SELECT rolsuper FROM pg_roles "
                                        "WHERE rolname = current_user")[0]["rolsuper"]
    if kind in foreign.INTERNAL_KINDS and not superuser:
        raise invalid_option('kind "%s" is pgdl\'s own' % kind,
                             hint="Use pgdl.%s." % kind if kind == "model_training" else None)
    foreign.kind_class(kind, "being defined").validate_options(pairs)


@_boundary
def import_schema(server_name, wrapper, server_options, remote_schema, local_schema,
                  options, restriction, tables):
    server_options = dict(zip(server_options[0::2], server_options[1::2]))
    options = dict(zip(options[0::2], options[1::2]))
    cls = _wrapper_class(wrapper, server_options, "of server %s" % server_name)
    restriction_type = {"limit": "limit", "except": "except"}.get(restriction)
    definitions = cls.import_schema(remote_schema, server_options, options,
                                    restriction_type, list(tables)) or []
    return [definition.to_statement(local_schema, server_name) for definition in definitions]


def _forward(module, function, sql_name, required=()):
    """A dispatcher entry for SQL function pgdl.<sql_name>: calls
    module.function (imported on first use) with the catalog search path,
    after checking that the arguments at positions `required` are not NULL."""
    def call(*args):
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
segment_task = _forward("pgdl.distributed.worker", "task", "segment_task",
                        [(0, "a shard"), (1, "a segment"), (2, "a task"), (3, "a payload")])


@_boundary
def check_architecture(row):
    """Validates a pgdl.architectures row and fills in what the model says."""
    from pgdl.engine.architecture import check
    with catalog_path():
        description = check(row)
    row["input_shape"] = description.input_shape
    row["output_shape"] = description.output_shape
    row["parameters"] = description.parameters
    return "MODIFY"
