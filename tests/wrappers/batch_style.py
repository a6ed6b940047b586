"""A wrapper that returns batches of rows as columns (pgdl's execute_columns).

Option `rows`: how many rows, in batches of 3; option `mode` spoils a batch
to test the checks: "short" (a column with one value too few), "unknown" (a
column the table lacks), "overflow" (an int8 value for an int4 column).
"""

import numpy as np

from multicorn import ForeignDataWrapper


class BatchFDW(ForeignDataWrapper):
    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.rows = int(options.get("rows", 7))
        self.mode = options.get("mode", "good")

    def get_rel_size(self, quals, columns):
        return self.rows, 40

    def execute_columns(self, quals, columns, **kwargs):
        for start in range(0, self.rows, 3):
            ids = list(range(start, min(start + 3, self.rows)))
            n = len(ids)
            batch = {
                "id": np.array(ids),
                "score": np.array(ids, dtype=np.float32) / 2,
                "flag": [i % 2 == 0 for i in ids],
                "label": ["row %d" % i if i % 3 else None for i in ids],
                "tags": [["a", 'b"c', None] for _ in ids],
                "weights": [[i, i + 0.5] for i in ids],
                "maybe": [None if i % 2 else i for i in ids],
                "stamp": ["2026-11-27 10:%02d:00" % i for i in ids],
            }
            if self.mode == "short":
                batch["label"] = batch["label"][:-1]
            elif self.mode == "unknown":
                batch["nope"] = ids
            elif self.mode == "overflow":
                batch["maybe"] = np.array([2 ** 40] * n)
            yield n, {name: batch[name] for name in batch if name in columns or name == "nope"}


class CodedFDW(ForeignDataWrapper):
    """execute_columns() with a coded class column, a coded array column and
    a 2-D float array (what predictions send): option `rows`, `bad` (a row
    index whose values are NULL)."""

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.rows = int(options.get("rows", 5))
        self.bad = int(options.get("bad", -1))

    def execute_columns(self, quals, columns, **kwargs):
        from pgdl.batches import Coded
        ids = np.arange(self.rows)
        grades = ids % 3
        grades[ids == self.bad] = -1
        pairs = np.stack([ids * 0.5, ids * 0.25], axis=1)
        ranks = np.stack([grades.clip(0), (grades.clip(0) + 1) % 3], axis=1)
        yield self.rows, {name: values for name, values in {
            "id": ids, "grade": Coded(["low", "mid", "high"], grades),
            "pair": pairs, "ranks": Coded(["low", "mid", "high"], ranks),
            "level": Coded([10, 20, 30], grades)}.items() if name in columns}


class RowsFDW(ForeignDataWrapper):
    """Yields plain rows that pgdl batches (batch_rows): dicts, tuples and
    None (skipped).  Option `rows`; option `mode`: "float" (1.5 for an int
    column), "long" (a label longer than its varchar(8)).  Reports how many
    rows it made when its generator closes."""

    batch_rows = True

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.rows = int(options.get("rows", 10))
        self.mode = options.get("mode", "good")

    def execute(self, quals, columns):
        from multicorn.utils import INFO, log_to_postgres
        made = 0
        try:
            for i in range(self.rows):
                made += 1
                if i % 4 == 3:
                    yield None
                    continue
                label = "row %d" % i if i % 5 else None
                if self.mode == "long":
                    label = "a label too long"
                value = 1.5 if self.mode == "float" else i
                if i % 2:
                    yield {"id": value, "label": label, "score": i / 4, "flag": i % 3 == 0,
                           "data": bytes([i])}
                else:
                    yield (value, label, i / 4, i % 3 == 0, None)
        finally:
            log_to_postgres("made %d rows" % made, INFO)


class SourceFDW(ForeignDataWrapper):
    """Reads the rows of the table named by option `table` through source()
    (fdw/source.c) and yields them as they arrived."""

    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.table = options["table"]
        self.columns = list(columns)

    def source(self, quals, columns, segment=None):
        return "SELECT %s FROM %s ORDER BY 1" % (", ".join(self.columns), self.table), 3

    def execute(self, quals, columns, rows=None, **kwargs):
        names = list(rows)
        values = [rows[name] for name in names]
        for i in range(len(values[0])):
            yield {name: _plain(column[i]) for name, column in zip(names, values)}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
