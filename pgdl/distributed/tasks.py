"""The coordinator's side of a segment task: one pushed-down query that calls
pgdl_internal.segment_task on every segment's worker at once, and the
payload format both sides share (a JSON header, then raw bytes)."""

import json
import struct

from pgdl import server
from pgdl.privilege import acting_role, privileged

_LENGTH = struct.Struct("<I")


def encode(header, blob=b""):
    text = json.dumps(header).encode()
    return _LENGTH.pack(len(text)) + text + bytes(blob)


def decode(payload):
    payload = bytes(payload)
    (size,) = _LENGTH.unpack_from(payload)
    return json.loads(payload[4:4 + size]), memoryview(payload)[4 + size:]


class Traffic:
    """Bytes a job sent to and received from its segments."""

    def __init__(self):
        self.sent = 0
        self.received = 0


def run(table, op, header, blob=b"", anchors=None, traffic=None):
    """{segment id: (header, blob)} from every segment of packed table `table`
    (schema-qualified) that holds one of the buffers `anchors` (None: the
    placeholders of a table being packed, buffer_id < 0).  The tasks act as
    the current role (privilege.acting_as)."""
    plpy = server.plpy
    # Citus runs the tasks as the superuser; each acts as this role there
    payload = encode(dict(header, role=acting_role()), blob)
    where = "buffer_id < 0" if anchors is None else "buffer_id = ANY ($3)"
    # pg_catalog alone is on the search path in here: every name is qualified
    with privileged():
        plan = plpy.prepare(
            "SELECT segment, pgdl_internal.segment_task(tableoid, segment, $1, $2) AS result "
            "FROM %s WHERE %s" % (table, where), ["text", "bytea", "int4[]"])
        rows = plpy.execute(plan, [op, payload, anchors or []])
    answers = {}
    for row in rows:
        answers[row["segment"]] = decode(row["result"])
        if traffic is not None:
            traffic.received += len(row["result"])
    if traffic is not None:
        traffic.sent += len(payload) * len(rows)
    return answers
