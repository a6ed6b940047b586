"""kind 'series': integers from start to stop, split across segments.

The smallest table that shows pgdl_fdw's round trip: quals on `value` narrow
the range before any row is made, and each segment makes a contiguous share
of the range.  Columns (any subset, any order): value (the integer),
segment (the index of the segment that made the row), pid (the backend
process that ran the segment).
"""

import os

from pgdl.foreign.base import PgdlWrapper, integer, positive_int


class Series(PgdlWrapper):
    OPTIONS = dict(PgdlWrapper.OPTIONS, start=integer, stop=integer, step=positive_int)
    batch_rows = True       # its rows reach C in batches (pgdl.multicorn.extensions)

    def __init__(self, fdw_options, fdw_columns):
        super().__init__(fdw_options, fdw_columns)
        self.start = self.options.get("start", 1)
        self.stop = self.options.get("stop", 10)
        self.step = self.options.get("step", 1)

    def _range(self, quals):
        low, high = self.start, self.stop
        for qual in quals:
            if qual.field_name != "value" or qual.is_list_operator or qual.value is None:
                continue
            value = qual.value
            if not isinstance(value, int):
                continue
            if qual.operator == "=":
                low, high = max(low, value), min(high, value)
            elif qual.operator == ">":
                low = max(low, value + 1)
            elif qual.operator == ">=":
                low = max(low, value)
            elif qual.operator == "<":
                high = min(high, value - 1)
            elif qual.operator == "<=":
                high = min(high, value)
        # Keep the series' own grid: the first value at or after low.
        if low > self.start:
            low = self.start + -(-(low - self.start) // self.step) * self.step
        return range(low, high + 1, self.step)

    def get_rel_size(self, quals, columns):
        return max(len(self._range(quals)), 1), 8 * max(len(columns), 1)

    def explain(self, quals, columns, sortkeys=None, verbose=False):
        values = self._range(quals)
        return ["Series: %d values from %d by %d" % (len(values), self.start, self.step)]

    def execute(self, quals, columns, sortkeys=None, limit=None, offset=None, segment=None):
        values = self._range(quals)
        index = 0
        if segment is not None:
            size, index = len(values), segment.index
            values = values[size * index // segment.count:
                            size * (index + 1) // segment.count]
        pid = os.getpid()
        lists = [set(q.value or ()) for q in quals
                 if q.field_name == "value" and q.operator == ("=", True)]
        for value in values:
            if lists and not all(value in allowed for allowed in lists):
                continue
            yield {"value": value, "segment": index, "pid": pid}
