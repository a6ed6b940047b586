"""kind 'buffers': which packed buffers each segment reads.

A table of this kind scans a packed table (pgdl.preprocess) the way
training does: segment k of n reads the buffers whose packed segment is k
modulo n, through the handler's source rows (so it works in a parallel
worker), and unpacks them.  One row per buffer: buffer_id, segment (of the
scan), rows, checksum (the sum of the buffer's float32 features), pid (the
process that read it).  It shows how training data spreads over segments.
"""

import os

import numpy as np

from pgdl.errors import invalid_option
from pgdl.foreign.base import PgdlWrapper
from pgdl.sql import qualified, split_name


def qualified_name(text):
    """A possibly schema-qualified table name as quoted SQL, without a query."""
    try:
        return qualified(*split_name(text))
    except ValueError as exc:
        raise invalid_option(str(exc))


def required_table(name, text):
    qualified_name(text)
    return text


class Buffers(PgdlWrapper):
    OPTIONS = dict(PgdlWrapper.OPTIONS, packed=required_table)
    REQUIRED = {"packed": "Name a table made by pgdl.preprocess."}

    def get_rel_size(self, quals, columns):
        return 100, 32

    def source(self, quals, columns, segment):
        return ("SELECT buffer_id, rows, features FROM %s WHERE segment %% %d = %d"
                % (qualified_name(self.options["packed"]), segment.count, segment.index)), 16

    def execute(self, quals, columns, sortkeys=None, limit=None, offset=None, segment=None,
                rows=None):
        pid = os.getpid()
        for buffer_id, count, features in zip(rows["buffer_id"], rows["rows"], rows["features"]):
            values = np.frombuffer(features, "<f4")
            yield {"buffer_id": buffer_id, "segment": segment.index, "rows": count,
                   "checksum": float(values.sum(dtype=np.float64)), "pid": pid}
