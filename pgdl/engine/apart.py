"""What a model selection job commits apart from its own transaction.

pgdl_apart_run (fdw/apart.c) runs `run` in a background worker, in a
transaction of its own that commits before the call returns, so that what
it writes outlives a cancel of the job: the job's row, a row per run that
it updates as it goes (pgdl.selection_runs, which any session can read),
every configuration it finished (stored as a version at once), and the
state of those that go on to a later round (pgdl_internal.selection_states,
from which a resumed job goes on).

The job's process builds everything (checks, ONNX export) and sends plain
data: a JSON header and binary parts, never anything that runs as code.
"""

import ctypes
import json
import struct

import numpy as np

from pgdl import interrupts
from pgdl.engine import catalog, registry
from pgdl.errors import PgdlError
from pgdl.privilege import privileged

RUN_COLUMNS = {"job": "int8", "bracket": "int4", "round": "int4", "config": "int4",
               "schedule": "text", "iterations": "int4", "total_iterations": "int4",
               "value": "float8", "survived": "bool", "version": "int4", "status": "text",
               "iteration": "int4", "loss": "float8", "owner": "name"}


def encode(header, parts=()):
    """header (JSON-able) and binary parts as one bytea."""
    parts = [bytes(p) for p in parts]
    text = json.dumps(dict(header, parts=[len(p) for p in parts])).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(parts)


def decode(data):
    data = bytes(data)
    size, = struct.unpack_from("<Q", data)
    header = json.loads(data[8:8 + size])
    parts, offset = [], 8 + size
    for length in header.pop("parts"):
        parts.append(data[offset:offset + length])
        offset += length
    return header, parts


def _library():
    try:
        run_apart = ctypes.CDLL(None).pgdl_apart_run
    except (OSError, AttributeError):
        return None     # not inside a backend that loaded pgdl
    run_apart.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                          ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    return run_apart


_run_apart = _library()
RESULT_BYTES = 8192
FAILURES = {
    2: "the background worker that pgdl started to commit apart ended before it finished",
    3: "pgdl found no free background worker to commit apart from this transaction",
}


def call(what, header, parts=()):
    """Runs `what` apart from this transaction and waits for its commit: its
    answer.  Works inside a scan too (segment 0 of a model hopper job),
    where no SQL may run in a subtransaction, as plpy's does."""
    if _run_apart is None:
        raise PgdlError("pgdl commits apart only inside the server", sqlstate="XX000")
    what_bytes, argument = what.encode(), encode(header, parts)
    result = ctypes.create_string_buffer(RESULT_BYTES)
    hint = ctypes.create_string_buffer(RESULT_BYTES)
    code = ctypes.c_int(0)
    status = _run_apart(what_bytes, len(what_bytes), argument, len(argument), result, hint,
                        ctypes.byref(code))
    interrupts.check()              # a cancel that came while it waited
    if status == 0:
        return result.value.decode()
    if status == 1:
        raise PgdlError(result.value.decode(), hint=hint.value.decode() or None,
                        sqlstate=_sqlstate(code.value))
    raise PgdlError(FAILURES[status], hint="The server log may say why; "
                    "max_worker_processes bounds the background workers.", sqlstate="53000")


def _sqlstate(code):
    """The five characters of a PostgreSQL error code (MAKE_SQLSTATE)."""
    return "".join(chr(((code >> (6 * i)) & 0x3F) + ord("0")) for i in range(5))


def run(what, data):
    """In the background worker (the bootstrap superuser): one piece of work."""
    handler = HANDLERS.get(what)
    if handler is None:
        raise PgdlError("pgdl has no work called %s to do apart" % what, sqlstate="XX000")
    header, parts = decode(data)
    with privileged():
        return handler(header, parts)


def _job(header, parts):
    """Inserts a selection job's row: its number."""
    return str(registry._insert("selection_jobs", header["row"], registry.SELECTION_JOB_TYPES,
                                returning="job")[0]["job"])


def _resume(header, parts):
    """Marks stopped job `job` running again in transaction `xact`: '' when
    it is not stopped (running, or finished)."""
    rows = catalog.execute(
        "UPDATE pgdl.selection_jobs SET status = 'running', xact = $2, resumed = resumed + 1, "
        "finished = NULL WHERE job = $1 AND pgdl.job_status(status, xact) = 'stopped' "
        "RETURNING job", ["int8", "int8"], [header["job"], header["xact"]])
    return str(rows[0]["job"]) if rows else ""


def _runs(header, parts):
    """Inserts or updates rows of pgdl.selection_runs."""
    keys = ("job", "bracket", "round", "config")
    for row in header["rows"]:
        names = [n for n in RUN_COLUMNS if n in row and n not in keys]
        types = [RUN_COLUMNS[n] for n in keys + tuple(names)]
        values = [row[n] for n in keys + tuple(names)]
        if not catalog.execute(
                "UPDATE pgdl.selection_runs SET %s updated = now() WHERE job = $1 AND "
                "bracket = $2 AND round = $3 AND config = $4 RETURNING 1"
                % "".join("%s = $%d, " % (n, i + 5) for i, n in enumerate(names)),
                types, values):
            catalog.execute(
                "INSERT INTO pgdl.selection_runs (%s) VALUES (%s)"
                % (", ".join(keys + tuple(names)),
                   ", ".join("$%d" % (i + 1) for i in range(len(values)))), types, values)
    return ""


def _state(header, parts):
    """Keeps the state and history of a run that goes on, and marks it finished."""
    run = header["run"]
    catalog.execute(
        "INSERT INTO pgdl_internal.selection_states (job, bracket, round, config, history, "
        "state) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job, bracket, round, config) "
        "DO UPDATE SET history = excluded.history, state = excluded.state",
        ["int8", "int4", "int4", "int4", "jsonb", "bytea"],
        [run["job"], run["bracket"], run["round"], run["config"], json.dumps(header["history"]),
         parts[0]])
    return _runs({"rows": [run]}, ())


def _version(header, parts):
    """Stores a finished configuration as the next version of its model,
    and marks its run finished with it: the version."""
    row = header["row"]
    shapes = header["shapes"]
    weights = [np.frombuffer(part, "<f4").reshape(shape)
               for part, shape in zip(parts[1:], shapes)]
    version = registry.next_version(row["owner"], row["model"])
    registry.add_version(dict(row, version=version), parts[0], weights, header["names"],
                         header["history"])
    run = header["run"]
    _runs({"rows": [run]}, ())
    # every run of the configuration ends as this version
    catalog.execute("UPDATE pgdl.selection_runs SET version = $3 WHERE job = $1 AND config = $2",
                    ["int8", "int4", "int4"], [run["job"], run["config"], version])
    return str(version)


HANDLERS = {"job": _job, "resume": _resume, "runs": _runs, "state": _state,
            "version": _version}
