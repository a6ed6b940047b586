"""Cancel and terminate requests seen from Python code inside a backend.

PostgreSQL's signal handlers only set flags, which C code checks with
CHECK_FOR_INTERRUPTS; Python code running inside the server never checks
them.  `check()` reads the flags (QueryCancelPending, ProcDiePending: the
server binary exports them) and raises `Interrupted`; long loops in pgdl's
engine call it.  For any other Python code, `guard()` runs a watcher thread
that raises `Interrupted` asynchronously in the backend's thread within a
fraction of a second of a cancel, as long as that code returns to the
interpreter now and then.  The dispatcher then ends the call and the C
handler raises PostgreSQL's own cancel error.
"""

import contextlib
import ctypes
import threading
import time


class Interrupted(BaseException):
    """A cancel or terminate request reached this backend.

    A BaseException, so that `except Exception` in a wrapper does not eat it.
    """


def _flags():
    try:
        process = ctypes.CDLL(None)
        return (ctypes.c_int.in_dll(process, "QueryCancelPending"),
                ctypes.c_int.in_dll(process, "ProcDiePending"))
    except (OSError, ValueError):
        return ()   # not inside a PostgreSQL backend


_FLAGS = _flags()
_POLL_SECONDS = 0.05


def pending():
    return any(flag.value for flag in _FLAGS)


def check():
    if _FLAGS and pending():
        raise Interrupted()


class _Watcher:
    def __init__(self):
        self.lock = threading.Lock()
        self.target = None      # thread id of the guarded backend thread
        self.fired = False
        self.thread = None

    def run(self):
        while True:
            time.sleep(_POLL_SECONDS)
            if not pending():
                continue
            with self.lock:
                if self.target is not None and not self.fired:
                    self.fired = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(self.target), ctypes.py_object(Interrupted))

    @contextlib.contextmanager
    def guard(self):
        if not _FLAGS or self.target is not None:
            yield
            return
        if self.thread is None:
            self.thread = threading.Thread(target=self.run, name="pgdl-interrupts", daemon=True)
            self.thread.start()
        with self.lock:
            self.target = threading.get_ident()
            self.fired = False
        try:
            yield
        finally:
            with self.lock:
                if self.fired:
                    # An exception set but not yet raised must not hit later code.
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(self.target), None)
                self.target = None
                self.fired = False


_watcher = _Watcher()
guard = _watcher.guard
