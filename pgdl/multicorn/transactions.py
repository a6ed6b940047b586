"""multicorn2's transaction hooks for wrapper instances.

A wrapper instance first used in a transaction gets begin(serializable),
and sub_begin(level) for each savepoint level it is used at; the end of
the transaction calls pre_commit() then commit(), or rollback(), and the
end of a savepoint sub_commit(level) or sub_rollback(level), as multicorn2
calls them.  PostgreSQL's transaction callbacks are registered by the C
handler (fdw/transactions.c); it calls back into `_on_event` through a
ctypes function pointer only while some instance is in a transaction, so
other transactions cost nothing.
"""

from __future__ import annotations

import ctypes
import traceback
from typing import Any, Callable, Optional

PRE_COMMIT, COMMIT, ABORT, SUB_PRE_COMMIT, SUB_ABORT = 1, 2, 3, 4, 5
XACT_SERIALIZABLE = 3

# instances in the current transaction, with the savepoint level each has reached
_active: dict[int, tuple[Any, int]] = {}
_HOOK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int)
_hook: Optional[Any] = None
_lib: Optional[Any] = None
# set by the dispatcher: what to do with an exception a hook raised at pre-commit
on_error: Optional[Callable[[BaseException], None]] = None


def _backend() -> Optional[Any]:
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL(None)
            lib.GetCurrentTransactionNestLevel.restype = ctypes.c_int
            lib.pgdl_xact_watch.argtypes = [ctypes.c_void_p]
            _lib = lib
        except (OSError, AttributeError):
            return None
    return _lib


def enter(instance: Any) -> None:
    """Called whenever an instance is used: begins its transaction, and the
    savepoints it has not seen yet."""
    lib = _backend()
    if lib is None:
        return
    level = lib.GetCurrentTransactionNestLevel()
    if level < 1:
        return
    key = id(instance)
    _, depth = _active.get(key, (instance, 0))
    if depth == 0:
        global _hook
        if _hook is None:
            _hook = _HOOK(_on_event)
        if not _active:
            lib.pgdl_xact_watch(ctypes.cast(_hook, ctypes.c_void_p))
        _active[key] = (instance, 1)
        serializable = ctypes.c_int.in_dll(lib, "XactIsoLevel").value == XACT_SERIALIZABLE
        instance.begin(serializable)
        depth = 1
    while depth < level:
        depth += 1
        _active[key] = (instance, depth)
        instance.sub_begin(depth)


def _on_event(event: int, level: int) -> int:
    """PostgreSQL's transaction event, from C: nonzero when pre_commit
    failed (C then raises the error on_error kept)."""
    try:
        if event == PRE_COMMIT:
            for instance, _ in list(_active.values()):
                instance.pre_commit()
        elif event in (COMMIT, ABORT):
            instances = [instance for instance, _ in _active.values()]
            _active.clear()
            for instance in instances:
                _quietly(instance.commit if event == COMMIT else instance.rollback)
        else:
            for key, (instance, depth) in list(_active.items()):
                if depth < level:
                    continue
                _active[key] = (instance, depth - 1)
                if event == SUB_PRE_COMMIT:
                    instance.sub_commit(level)
                else:
                    _quietly(lambda: instance.sub_rollback(level))
        return 0
    except BaseException as exc:    # noqa: B036 (nothing may escape into C)
        if on_error is not None:
            on_error(exc)
        return 1


def _quietly(call: Callable[[], Any]) -> None:
    """After commit or during abort an error cannot undo anything: a WARNING."""
    try:
        call()
    except BaseException as exc:    # noqa: B036
        from pgdl import server
        try:
            server.report(30, "a foreign data wrapper's transaction hook failed: %s"
                          % "".join(traceback.format_exception_only(exc)).strip())
        except BaseException:       # noqa: B036
            pass
