"""Foreign data wrappers written for multicorn2, exactly as one would for it.

They import `multicorn`, not pgdl: pgdl_fdw must run them unchanged.  The
test cluster's server finds this module on its PYTHONPATH.
"""

import json
import time
from decimal import Decimal

from multicorn import ColumnDefinition, ForeignDataWrapper, TableDefinition
from multicorn.utils import ERROR, INFO, WARNING, log_to_postgres


class ConstantFDW(ForeignDataWrapper):
    """Multicorn's tutorial wrapper: `rows` rows of "column index" values."""

    def __init__(self, options, columns):
        super(ConstantFDW, self).__init__(options, columns)
        self.columns = columns
        self.rows = int(options.get("rows", 20))

    def get_rel_size(self, quals, columns):
        return self.rows, 20 * len(columns)

    def execute(self, quals, columns):
        for index in range(self.rows):
            line = {}
            for column_name in self.columns:
                line[column_name] = "%s %s" % (column_name, index)
            yield line

    def explain(self, quals, columns, sortkeys=None, verbose=False):
        return ["Constant rows: %d" % self.rows]

    @classmethod
    def import_schema(cls, schema, srv_options, options, restriction_type, restricts):
        tables = []
        for name in ("alpha", "beta", "gamma"):
            if restriction_type == "limit" and name not in restricts:
                continue
            if restriction_type == "except" and name in restricts:
                continue
            tables.append(TableDefinition(
                name, schema=schema,
                columns=[ColumnDefinition("id", type_name="text"),
                         ColumnDefinition("label", type_name="character varying(20)")],
                options={"rows": options.get("rows", "3"), "source": "%s.%s" % (schema, name)}))
        return tables


class RecordingFDW(ForeignDataWrapper):
    """Reports what it is handed as INFO messages and returns it as rows.

    execute() reports each qual as (field, operator, value, type name) and
    the columns; it yields the rows given in the `rows` class attribute.
    insert() reports the values with their types and returns them with
    `id` doubled, so RETURNING shows the row Python gave back; update() and
    delete() report the rowid (column i) and values they get.
    """

    rows = [
        {"i": 1, "b": 2 ** 40, "f": 0.1, "t": "one", "y": b"\x00\x01\xff",
         "ia": [1, 2, 3], "ta": ["a", None, "c"], "flag": True, "n": 1.5},
        {"i": None, "b": None, "f": None, "t": None, "y": None,
         "ia": None, "ta": None, "flag": None, "n": None},
        (3, 4, 2.5, "three", b"", [[1, 2], [3, 4]], [], False, 7),
    ]

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.columns = columns

    def execute(self, quals, columns):
        described = [(q.field_name, q.operator, q.value, type(q.value).__name__) for q in quals]
        log_to_postgres("quals: " + _as_json(described), INFO)
        log_to_postgres("columns: %r" % (sorted(columns),), INFO)
        for row in self.rows:
            yield row

    rowid_column = "i"

    def insert(self, values):
        described = sorted((name, value, type(value).__name__) for name, value in values.items())
        log_to_postgres("insert: " + _as_json(described), INFO)
        returned = dict(values)
        if returned.get("i") is not None:
            returned["i"] = returned["i"] * 2
        return returned

    def update(self, rowid, newvalues):
        described = sorted((name, value, type(value).__name__)
                           for name, value in newvalues.items())
        log_to_postgres("update: " + _as_json([("rowid", rowid, type(rowid).__name__)]
                                              + described), INFO)

    def delete(self, rowid):
        log_to_postgres("delete: " + _as_json([("rowid", rowid, type(rowid).__name__)]), INFO)


class OptionsFDW(ForeignDataWrapper):
    """Yields the options it was given, a row (name, value) each."""

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.options = options

    def execute(self, quals, columns):
        for name, value in sorted(self.options.items()):
            yield {"name": name, "value": value}


class FailingFDW(ForeignDataWrapper):
    """Fails as the options say: a log_to_postgres ERROR with detail and hint,
    a WARNING before rows, or a plain Python exception."""

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.mode = options.get("mode", "error")

    def execute(self, quals, columns):
        if self.mode == "warning":
            log_to_postgres("the rows are made up", WARNING, hint="trust them anyway")
            yield {"x": "made up"}
            return
        if self.mode == "exception":
            raise ValueError("no rows here")
        log_to_postgres("the source is unreachable", ERROR,
                        hint="Check the source option.", detail="tried 3 times")
        yield {"x": "never"}


class BusyFDW(ForeignDataWrapper):
    """Computes for ever in pure Python before its first row (or sleeps in
    short naps with `mode 'sleep'`), never yielding control to PostgreSQL."""

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.mode = options.get("mode", "spin")

    def execute(self, quals, columns):
        total = 0
        while True:
            if self.mode == "sleep":
                time.sleep(0.01)
            total += 1
        yield {"x": str(total)}


class LockstepFDW(ForeignDataWrapper):
    """Segments in lockstep through pgdl.exchange (not a multicorn2 API):
    in each round, segment k writes (k + 1) * (round + 1) into its slot,
    waits for all, and yields the sum of all slots.  Option fail_segment
    makes that segment raise in round 1; spin keeps segment 0 busy;
    exchange_bytes asks for that many bytes per slot, parts for that many
    segments (past the checks of option segments)."""

    parallel_safe = True

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.options = options

    def get_segments(self, quals, columns):
        return int(self.options.get("parts", self.options.get("segments", 1)))

    def exchange_bytes(self, quals, columns):
        return int(self.options.get("exchange_bytes", 8))

    def execute(self, quals, columns, segment=None):
        import os
        from pgdl import exchange
        fail = int(self.options.get("fail_segment", -1))
        for round_ in range(int(self.options.get("rounds", 3))):
            if segment.index == fail and round_ == 1:
                raise ValueError("segment %d gave up" % segment.index)
            if "spin" in self.options and segment.index == 0 and round_ == 1:
                while True:
                    pass
            mine = exchange.slot(segment.index).view("<f8")
            mine[0] = (segment.index + 1) * (round_ + 1)
            exchange.wait()
            total = sum(exchange.slot(k).view("<f8")[0] for k in range(segment.count))
            exchange.wait()      # everyone has read before anyone writes again
            yield {"segment": segment.index, "round": round_, "total": total, "pid": os.getpid()}


class SparseFDW(ForeignDataWrapper):
    """execute() returns None when option `rows` is 0, and yields None
    between rows otherwise, as some multicorn2 wrappers do."""

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.rows = int(options.get("rows", "3"))

    def execute(self, quals, columns):
        if self.rows == 0:
            return None
        return self._rows()

    def _rows(self):
        for i in range(self.rows):
            yield None
            yield {"id": i}


def _as_json(value):
    """JSON that keeps bytes and Decimal apart from str and float (tests/helpers.py
    reads it back with from_json)."""
    def tagged(item):
        if isinstance(item, bytes):
            return {"bytes": item.hex()}
        if isinstance(item, Decimal):
            return {"Decimal": str(item)}
        raise TypeError(type(item).__name__)
    return json.dumps(value, default=tagged)
