"""The leader's segment in a process of its own, which ends with the job.

Segment 0 of a lockstep job runs in the leader: the backend the INSERT came
from.  TensorFlow never gives GPU memory back to the driver, so a backend
whose segment trained on a GPU would hold that memory until its session
ends.  Where the leader would train on a GPU (pgdl.leader_segment_process
= auto, the default, on a machine with GPUs; `on` forces it anywhere), its
SegmentModel runs in a child process spawned for the job and pinned to
GPU 0 (segment 0 mod G), and the child exits when the job ends, so its GPU
memory goes back then.  The backend keeps the exchange, the merge and the
history; method calls, their results and weights cross a pipe, and the
buffers once, when the child starts.  The backend's own Keras (checking
architectures, the ONNX export) then sees no GPU (keras_loader).

A parallel worker's segment runs in such a child too, forked from the
cluster's segment server (segment_server), which has Keras loaded already,
unless pgdl.segment_server_timeout is 0; the leader's child comes from the
server as well when it runs.

A cancel in the backend kills the child; the child dies with the backend
(PR_SET_PDEATHSIG, or the server child's watch on its segment).
"""

import ctypes
import os
import signal
import socket
import subprocess
from multiprocessing.connection import Connection

from pgdl import interrupts
from pgdl.engine import keras_loader, segment_server
from pgdl.errors import PgdlError

MODES = {0: "off", 1: "on", 2: "auto"}
_POLL_SECONDS = 0.05
_PR_SET_PDEATHSIG = 1


def mode():
    """pgdl.leader_segment_process; 'off' outside a backend."""
    try:
        setting = ctypes.CDLL(None).pgdl_leader_segment_process
    except (OSError, AttributeError):
        return "off"
    setting.restype = ctypes.c_int
    return MODES.get(setting(), "auto")


def wanted():
    """Whether this process's segment trains in a child process: a parallel
    worker's, forked from the segment server, which has Keras loaded; the
    leader's, where it would train on a GPU (or the setting says on)."""
    if interrupts.in_parallel_worker():
        return segment_server.enabled()
    chosen = mode()
    return chosen == "on" or (chosen == "auto" and keras_loader.gpu_count() > 0)


def _described(exc):
    if isinstance(exc, PgdlError):
        return {"message": exc.message, "detail": exc.detail, "hint": exc.hint,
                "sqlstate": exc.sqlstate}
    return {"message": "%s: %s" % (type(exc).__name__, exc), "detail": None, "hint": None,
            "sqlstate": "XX000"}


def _final_weights(model):
    return model.model.get_weights()


def _ensemble_parts(model, members):
    ensemble = model.ensemble(members)
    return ensemble.to_json(), ensemble.get_weights()


CALLS = {
    "fit": lambda model, iteration: model.fit(iteration),
    "weights": lambda model: model.weights(),
    "set_weights": lambda model, flat: model.set_weights(flat),
    "validate": lambda model: model.validate(),
    "final_weights": _final_weights,
    "ensemble_parts": _ensemble_parts,
}


def main(fd):
    """The child (`python -c`, its end of a socket pair as fd)."""
    ctypes.CDLL("libc.so.6").prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    serve(Connection(fd))


def serve(conn):
    """A child's work, whoever started it (main, or the segment server):
    builds the SegmentModel from the arguments it is sent, then answers
    calls until 'close'."""
    arguments = conn.recv()
    from pgdl.engine.segment import SegmentModel
    try:
        model = SegmentModel(*arguments)
    except Exception as exc:
        conn.send(("error", _described(exc)))
        return
    conn.send(("ok", os.getpid()))
    while True:
        name, args = conn.recv()
        if name == "close":
            return
        try:
            conn.send(("ok", CALLS[name](model, *args)))
        except Exception as exc:
            conn.send(("error", _described(exc)))


def _start(gpu):
    """(connection, Popen) of a new interpreter that serves one segment (main)."""
    environment = dict(os.environ)
    if gpu is not None:
        environment["CUDA_VISIBLE_DEVICES"] = gpu
    mine, child = socket.socketpair()
    process = subprocess.Popen(
        [segment_server.venv_python(), "-c", "import sys; from pgdl.engine.segment_process import main; "
         "main(int(sys.argv[1]))", str(child.fileno())],
        pass_fds=[child.fileno()], env=environment, stdin=subprocess.DEVNULL, close_fds=True)
    child.close()
    return Connection(mine.detach()), process


class ProcessSegmentModel:
    """A SegmentModel in a child process: the same methods, called over a pipe."""

    def __init__(self, spec, start, x, y, xv, yv, index, count, where=""):
        from pgdl.engine.segment import SegmentModel
        self.spec, self.index, self.where = spec, index, where
        self.x, self.xv = x, xv
        self.names = ["loss"] + list(spec["metric_names"])
        self.totals = SegmentModel.totals.__get__(self)
        self.history_row = SegmentModel.history_row.__get__(self)
        gpus = keras_loader.gpu_count()
        gpu = str(index % gpus) if gpus else None
        if segment_server.enabled():
            self.conn, pid = segment_server.child(gpu)
            self.process = segment_server.ForkedProcess(pid)
        else:
            self.conn, self.process = _start(gpu)
        self.busy = True                    # until the child answers a call
        try:
            self.conn.send((spec, start, x, y, xv, yv, index, count, where))
            self.pid = self._answer()
        except BaseException:
            self.close()
            raise

    def _answer(self):
        while not self.conn.poll(_POLL_SECONDS):
            interrupts.check()
            if self.process.poll() is not None:
                raise PgdlError("the process of segment %d%s ended (exit code %s)"
                                % (self.index, self.where, self.process.returncode),
                                hint="The server log may say why.", sqlstate="XX000")
        status, value = self.conn.recv()
        self.busy = False
        if status == "error":
            raise PgdlError(value["message"], detail=value["detail"], hint=value["hint"],
                            sqlstate=value["sqlstate"])
        return value

    def _call(self, name, *args):
        self.busy = True
        self.conn.send((name, args))
        return self._answer()

    def fit(self, iteration):
        return self._call("fit", iteration)

    def weights(self):
        return self._call("weights")

    def set_weights(self, flat):
        return self._call("set_weights", flat)

    def validate(self):
        return self._call("validate")

    def final_weights(self):
        return self._call("final_weights")

    def ensemble_parts(self, members):
        return self._call("ensemble_parts", members)

    def close(self):
        """Ends and reaps the child: at once when a call still runs in it (a
        cancel, an error elsewhere), else when it has read 'close'.

        A cancel reaches Python twice: once through interrupts.check() and
        once more as the guard's asynchronous exception, which may land in
        here; the child is ended all the same before the cancel goes on."""
        interrupted = None
        for _ in range(3):
            try:
                self._end()
                break
            except interrupts.Interrupted as exc:
                interrupted = exc
        self.conn.close()
        if interrupted is not None:
            raise interrupted

    def _end(self):
        if self.process.poll() is None and not self.busy:
            try:
                self.conn.send(("close", ()))
                self.process.wait(5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
