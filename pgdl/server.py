"""The PostgreSQL server as Python code running inside it sees it.

PL/Python hands its `plpy` module to the dispatcher, which attaches it here.
Outside the server (plain pytest, benchmarks) nothing is attached: messages
go to the `logging` module and SQL is unavailable.
"""

import ctypes
import logging
from typing import Any

from pgdl.errors import PgdlError

NOTICE = 25  # between logging.INFO and logging.WARNING, as in PostgreSQL

plpy: Any = None   # PL/Python's module, attached by the dispatcher
_log = logging.getLogger("pgdl")


def attach(module):
    global plpy
    plpy = module


def inside():
    return plpy is not None


def _backend():
    try:
        lib = ctypes.CDLL(None)
        lib.GetCurrentStatementStartTimestamp.restype = ctypes.c_int64
        lib.GetCurrentCommandId.restype = ctypes.c_uint32
        lib.GetCurrentCommandId.argtypes = [ctypes.c_bool]
        return lib
    except (OSError, AttributeError):
        return None


_lib = _backend()


def statement():
    """Which statement (and command within it) this process runs: what one
    snapshot of the data holds for (None outside a backend)."""
    if _lib is None or plpy is None:
        return None
    return _lib.GetCurrentStatementStartTimestamp(), _lib.GetCurrentCommandId(False)


def report(level, message, hint=None, detail=None):
    """A message at a `logging` level; ERROR and above raise PgdlError."""
    if level >= logging.ERROR:
        raise PgdlError(message, detail=detail, hint=hint, sqlstate="HV000")
    if plpy is None:
        _log.log(level, message)
        return
    kwargs = {key: value for key, value in (("hint", hint), ("detail", detail)) if value}
    if level >= logging.WARNING:
        plpy.warning(message, **kwargs)
    elif level >= NOTICE:
        plpy.notice(message, **kwargs)
    elif level >= logging.INFO:
        plpy.info(message, **kwargs)
    else:
        plpy.debug(message, **kwargs)


def raise_error(error):
    """Raise a PgdlError as the PostgreSQL ERROR it describes."""
    fields = {"detail": error.detail, "hint": error.hint, "sqlstate": error.sqlstate}
    plpy.error(error.message, **{name: value for name, value in fields.items() if value})
