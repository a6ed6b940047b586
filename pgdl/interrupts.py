"""Cancel and terminate requests seen from Python code inside a backend.

PostgreSQL's signal handlers only set flags, which C code checks with
CHECK_FOR_INTERRUPTS; Python code running inside the server never checks
them.  `check()` reads the flags (QueryCancelPending, ProcDiePending: the
server binary exports them) and raises `Interrupted`; long loops in pgdl's
engine call it.  For any other Python code, `guard()` runs a watcher thread
that raises `Interrupted` asynchronously in the backend's thread within a
fraction of a second of a cancel, as long as that code returns to the
interpreter now and then.  The dispatcher then ends the call and the C
handler raises PostgreSQL's own cancel error.  Native code that holds no
GIL-bound Python (an ONNX Runtime run) registers its RunOptions with
`stopping()`, and the watcher sets their terminate flag as well.
"""

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


def _worker_number():
    try:
        return ctypes.c_int.in_dll(ctypes.CDLL(None), "ParallelWorkerNumber")
    except (OSError, ValueError):
        return None


_FLAGS = _flags()
_WORKER = _worker_number()
_POLL_SECONDS = 0.05


def in_parallel_worker():
    """True in a parallel worker of a PostgreSQL backend (segment k > 0)."""
    return _WORKER is not None and _WORKER.value >= 0


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
        self.runs = []          # RunOptions of native runs to terminate

    def run(self):
        while True:
            time.sleep(_POLL_SECONDS)
            if not pending():
                continue
            with self.lock:
                for options in self.runs:
                    options.terminate = True
                if self.target is not None and not self.fired:
                    self.fired = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(self.target), ctypes.py_object(Interrupted))

    def guard(self):
        return _Guard(self)

    def clear(self):
        with self.lock:
            if self.fired:
                # An exception set but not yet raised must not hit later code.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.target), None)
            self.target = None
            self.fired = False


class _Guard:
    """While entered, a cancel raises Interrupted in this thread.  Not
    reentrant: an inner guard leaves the outer one in charge."""

    __slots__ = ("watcher", "owner")

    def __init__(self, watcher):
        self.watcher = watcher
        self.owner = False

    def __enter__(self):
        watcher = self.watcher
        if not _FLAGS or watcher.target is not None:
            return self
        if watcher.thread is None:
            watcher.thread = threading.Thread(target=watcher.run, name="pgdl-interrupts",
                                              daemon=True)
            watcher.thread.start()
        with watcher.lock:
            watcher.target = threading.get_ident()
            watcher.fired = False
        self.owner = True
        return self

    def __exit__(self, *exc):
        if self.owner:
            self.watcher.clear()
            self.owner = False
        return False


_watcher = _Watcher()
guard = _watcher.guard


class stopping:
    """While entered, a cancel sets options.terminate (ONNX Runtime's
    RunOptions), which stops a run between two of its operators."""

    def __init__(self, options):
        self.options = options

    def __enter__(self):
        check()
        with _watcher.lock:
            _watcher.runs.append(self.options)
        return self

    def __exit__(self, *exc):
        with _watcher.lock:
            _watcher.runs.remove(self.options)
        return False
