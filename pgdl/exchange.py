"""Segments in lockstep: a shared slot per segment and a barrier.

A wrapper that defines exchange_bytes(quals, columns) gets its segments run
all at once, one per parallel participant, and each can use this module
during execute(): write into its own slot, wait() until every segment has
arrived, read everyone's slots.  Training merges weights this way after
every iteration, without ending the scan (fdw/exchange.c).
"""

import ctypes

import numpy as np

from pgdl.interrupts import Interrupted


class SegmentFailed(BaseException):
    """Another segment failed; its error is the one PostgreSQL reports."""


def _library():
    try:
        lib = ctypes.CDLL(None)
        lib.pgdl_exchange_slot.restype = ctypes.c_void_p
        lib.pgdl_exchange_slot.argtypes = [ctypes.c_int]
        lib.pgdl_exchange_bytes.restype = ctypes.c_int64
        return lib
    except (OSError, AttributeError):
        return None     # not inside a backend that loaded pgdl


_lib = _library()


def active():
    return _lib is not None and _lib.pgdl_exchange_segments() > 0


def segments():
    return _lib.pgdl_exchange_segments() if _lib is not None else 0


def slot(segment):
    """The bytes of a segment's slot, as a writable uint8 numpy array."""
    if not active():
        raise RuntimeError("no exchange: the wrapper must define exchange_bytes()")
    address = _lib.pgdl_exchange_slot(segment)
    if address is None:
        raise IndexError("no segment %d in this exchange of %d" % (segment, segments()))
    buffer = (ctypes.c_uint8 * _lib.pgdl_exchange_bytes()).from_address(address)
    return np.frombuffer(buffer, dtype=np.uint8)


def wait():
    """Wait until every segment arrives here."""
    code = _lib.pgdl_exchange_wait()
    if code == 1:
        raise Interrupted()
    if code == 2:
        raise SegmentFailed()
    if code == 3:
        raise RuntimeError("no exchange: the wrapper must define exchange_bytes()")


def fail():
    """Tell waiting segments that this one failed."""
    if _lib is not None and hasattr(_lib, "pgdl_exchange_fail"):
        _lib.pgdl_exchange_fail()
