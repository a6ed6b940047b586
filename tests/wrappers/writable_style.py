"""Writable classes written for multicorn2, exactly as one would for it.

JournalFDW keeps its rows in memory, per backend, in the store its table
option `store` names.  Its writes go to multicorn2's transaction journal
(TransactionAwareForeignDataWrapper) and reach the store only at commit; a
savepoint rolled back drops what was written since.  Every call it gets is
reported as a NOTICE, so tests see what pgdl_fdw called and when.
"""

from multicorn import ForeignDataWrapper, TransactionAwareForeignDataWrapper
from multicorn.compat import unicode_
from multicorn.utils import log_to_postgres

STORES = {}


def _types(values):
    return sorted((name, type(value).__name__) for name, value in values.items())


class JournalFDW(TransactionAwareForeignDataWrapper):
    """Options: store (required), key (the rowid column, default the first
    column), batch (modify_batch_size), sort 'yes' (can_sort accepts every
    key), limit 'yes' (can_limit agrees) or 'ignored' (it agrees, and
    execute() returns every row all the same), fail 'pre_commit'
    (pre_commit raises)."""

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.columns = list(columns)
        self.key = options.get("key", self.columns[0])
        self.store = STORES.setdefault(unicode_(options["store"]), {})
        self.batch = int(options.get("batch", 1))
        self.sorts = options.get("sort") == "yes"
        self.limits = options.get("limit")
        self.fail = options.get("fail")
        self.marks = {}

    @property
    def rowid_column(self):
        return self.key

    @property
    def modify_batch_size(self):
        return self.batch

    def execute(self, quals, columns, sortkeys=None, **limits):
        log_to_postgres("execute: quals %s, qual types %s, sortkeys %s%s" % (
            sorted(str(qual) for qual in quals),
            sorted(type(qual.value).__name__ for qual in quals),
            [(key.attname, key.is_reversed) for key in sortkeys or ()],
            ", %s" % sorted(limits.items()) if limits else ""))
        rows = [dict(row) for row in self.store.values()]
        for key in reversed(sortkeys or ()):
            rows.sort(key=lambda row: row[key.attname], reverse=key.is_reversed)
        start = limits.get("offset") or 0
        if self.limits == "ignored":
            return rows
        if limits.get("limit") is not None:
            return rows[start:start + limits["limit"]]
        return rows[start:]

    def can_sort(self, sortkeys):
        return sortkeys if self.sorts else []

    def can_limit(self, limit, offset):
        log_to_postgres("can_limit: %r %r" % (limit, offset))
        return self.limits in ("yes", "ignored")

    def insert(self, values):
        log_to_postgres("insert: %s" % _types(values))
        super().insert(dict(values))

    def bulk_insert(self, all_values):
        log_to_postgres("bulk_insert: %d rows" % len(all_values))
        for values in all_values:
            super().insert(dict(values))

    def update(self, rowid, newvalues):
        log_to_postgres("update: %r with %s" % (rowid, sorted(newvalues.items())))
        super().update(rowid, dict(newvalues))
        return dict(newvalues, name="%s (updated)" % newvalues["name"])

    def delete(self, rowid):
        log_to_postgres("delete: %r" % (rowid,))
        super().delete(rowid)

    def begin(self, serializable):
        log_to_postgres("hook: begin")

    def sub_begin(self, level):
        log_to_postgres("hook: sub_begin %d" % level)
        self.marks[level] = len(self.current_transaction_state)

    def sub_commit(self, level):
        log_to_postgres("hook: sub_commit %d" % level)
        self.marks.pop(level, None)

    def sub_rollback(self, level):
        log_to_postgres("hook: sub_rollback %d" % level)
        del self.current_transaction_state[self.marks.pop(level):]

    def pre_commit(self):
        log_to_postgres("hook: pre_commit")
        if self.fail == "pre_commit":
            raise ValueError("the store refuses this transaction")

    def commit(self):
        log_to_postgres("hook: commit")
        for operation, values in self.current_transaction_state:
            if operation == "insert":
                self.store[values[self.key]] = values
            elif operation == "update":
                rowid, newvalues = values
                self.store.pop(rowid, None)
                self.store[newvalues[self.key]] = newvalues
            else:
                self.store.pop(values, None)
        self._init_transaction_state()

    def rollback(self):
        log_to_postgres("hook: rollback")
        super().rollback()

    def end_scan(self):
        log_to_postgres("hook: end_scan")

    def end_modify(self):
        log_to_postgres("hook: end_modify")


class ReadOnlyFDW(ForeignDataWrapper):
    """One row; no rowid column, so multicorn2 refuses every write."""

    def execute(self, quals, columns):
        yield {"x": "only"}


class LooseValuesFDW(ForeignDataWrapper):
    """Values PL/Python alone would refuse: text for bytea, bytes for text,
    a dict for hstore."""

    def execute(self, quals, columns):
        yield {"y": "caf\u00e9", "t": "caf\u00e9".encode("utf-8"),
               "h": {"a": "1", "quote\"d": "back\\slash", "none": None}}
