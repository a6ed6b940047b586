"""A process per cluster with Keras loaded, which forks each segment's trainer.

A parallel worker is a fresh process: importing Keras and TensorFlow in it
costs seconds on every job (3.4 s on a 2-core machine), more than a small
job's training.  The segment server imports them once and stays while jobs
come.  A segment connects to it and gets a forked child that already has
Keras loaded; the child then serves that segment exactly like the child a
ProcessSegmentModel starts itself (segment_process.serve).  TensorFlow
builds its runtime (thread pools, devices) on first use, not on import, so
a child forked after the import runs its own and still chooses its GPU.

The server listens on an abstract Unix socket named by the cluster (its
data directory and postmaster) and by the installed pgdl code, so a new
install gets a new server.  It serves only processes of its own OS user,
the one that owns the cluster and its files anyway.  It ends when the
postmaster ends, and after pgdl.segment_server_timeout seconds without a
new segment; 0 turns it off, and the segments load Keras themselves.

A child ends when its segment closes it, and when the segment's process
ends (it watches that process), so it never outlives the job.
"""

import ctypes
import hashlib
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection

from pgdl import interrupts
from pgdl.errors import PgdlError

_PR_SET_NAME = 15
SERVER_NAME = b"pgdl-segments"   # what ps and top show
CHILD_NAME = b"pgdl-segment"
_CONNECT_SECONDS = 10        # for a server just started to listen
_WAIT_SECONDS = 0.05
_fingerprint = None


def timeout():
    """pgdl.segment_server_timeout in seconds; 0 (off) outside a backend."""
    try:
        setting = ctypes.CDLL(None).pgdl_segment_server_timeout
    except (OSError, AttributeError):
        return 0
    setting.restype = ctypes.c_int
    return setting()


def enabled():
    return timeout() > 0


def code_fingerprint():
    """The installed pgdl package's files, by name, size and time."""
    global _fingerprint
    if _fingerprint is None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        digest = hashlib.sha256(sys.executable.encode())
        for folder, folders, files in sorted(os.walk(root)):
            folders.sort()
            for name in sorted(files):
                if name.endswith((".py", ".so")):
                    stat = os.stat(os.path.join(folder, name))
                    digest.update(("%s/%s:%d:%d\n" % (folder, name, stat.st_size,
                                                      stat.st_mtime_ns)).encode())
        _fingerprint = digest.hexdigest()[:16]
    return _fingerprint


def address(data_directory, postmaster):
    """The server's abstract socket name for this cluster and this code."""
    cluster = hashlib.sha256(("%s:%d" % (data_directory, postmaster)).encode()).hexdigest()
    return "\0pgdl-segments-%s-%s" % (cluster[:16], code_fingerprint())


def _backend_address():
    # a backend and a parallel worker run in the data directory, as children
    # of the postmaster
    return address(os.getcwd(), os.getppid()), os.getppid()


def venv_python():
    """The interpreter of pgdl.venv, which has TensorFlow."""
    venv = ctypes.c_char_p.in_dll(ctypes.CDLL(None), "pgdl_venv").value.decode()
    return os.path.join(venv, "bin", "python3")


def _spawn(name, postmaster):
    environment = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    # the server forks itself away at once, so this process never keeps a zombie
    subprocess.run(
        [venv_python(), "-c", "import sys; from pgdl.engine.segment_server import serve; "
         "serve(bytes.fromhex(sys.argv[1]).decode(), int(sys.argv[2]), int(sys.argv[3]))",
         name.encode().hex(), str(postmaster), str(timeout())],
        env=environment, stdin=subprocess.DEVNULL, close_fds=True, cwd="/",
        start_new_session=True, check=True)


def _connect(name, postmaster):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(name)
        return sock
    except ConnectionRefusedError:
        pass
    _spawn(name, postmaster)
    deadline = time.monotonic() + _CONNECT_SECONDS
    while True:
        try:
            sock.connect(name)
            return sock
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                sock.close()
                raise PgdlError("the pgdl segment server did not start",
                                hint="The server log may say why; pgdl.segment_server_timeout "
                                     "= 0 trains without it.", sqlstate="58000")
            interrupts.check()
            time.sleep(_WAIT_SECONDS)


def child(gpu=None):
    """(connection, pid) of a fresh child of this cluster's segment server,
    pinned to the GPU given (CUDA_VISIBLE_DEVICES), started if none runs."""
    name, postmaster = _backend_address()
    conn = Connection(_connect(name, postmaster).detach())
    try:
        # the first answer comes once the server has Keras loaded
        while not conn.poll(_WAIT_SECONDS):
            interrupts.check()
        kind, pid = conn.recv()
        conn.send(gpu)
    except EOFError:
        conn.close()
        raise PgdlError("the pgdl segment server ended before it could start a segment",
                        hint="The server log may say why; pgdl.segment_server_timeout = 0 "
                             "trains without it.", sqlstate="58000") from None
    except BaseException:
        conn.close()
        raise
    return conn, pid


def _peer(sock):
    pid, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                      struct.calcsize("3i")))
    return pid, uid


def _end_with(pid):
    """Ends this process when process pid ends."""
    watched = os.pidfd_open(pid)

    def watch():
        select.select([watched], [], [])
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="pgdl-segment-watch").start()


def _name_process(name):
    ctypes.CDLL("libc.so.6").prctl(_PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)


def _serve_child(sock, peer):
    from pgdl.engine import segment_process
    _name_process(CHILD_NAME)
    _end_with(peer)
    conn = Connection(sock.detach())
    try:
        conn.send(("pid", os.getpid()))
        gpu = conn.recv()
    except (EOFError, OSError):
        return                          # the segment went away first
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    try:
        segment_process.serve(conn)
    except (EOFError, ConnectionResetError, BrokenPipeError):
        pass                            # the segment went away: a cancel, an error


def serve(name, postmaster, idle_seconds):
    """The server: forks away from its starter, listens, loads Keras, then
    forks a child per connection until the postmaster ends or no segment
    has come for idle_seconds."""
    if os.fork():
        os._exit(0)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(name)
    except OSError:
        return                          # another segment started it first
    listener.listen(64)
    _name_process(SERVER_NAME)
    from pgdl.engine import keras_loader
    keras_loader.keras()
    try:
        ended = os.pidfd_open(postmaster)
    except ProcessLookupError:
        return
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)     # the kernel reaps the children
    last = time.monotonic()         # counted from when Keras is loaded
    while True:
        ready, _, _ = select.select([listener, ended], [], [], 1.0)
        if ended in ready:
            return
        if listener not in ready:
            if time.monotonic() - last > idle_seconds:
                return
            continue
        sock, _ = listener.accept()
        peer, uid = _peer(sock)
        if uid != os.getuid():
            sock.close()
            continue
        last = time.monotonic()
        if os.fork() == 0:
            code = 0
            try:
                listener.close()
                os.close(ended)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _serve_child(sock, peer)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        sock.close()


class ForkedProcess:
    """A child of the segment server, watched and ended through a pidfd
    (it is not this process's child): poll, kill and wait as a Popen's."""

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None
        self._fd = os.pidfd_open(pid)

    def _ended(self, seconds):
        if self.returncode is None and select.select([self._fd], [], [], seconds)[0]:
            self.returncode = "unknown"
            os.close(self._fd)
        return self.returncode is not None

    def poll(self):
        return self.returncode if self._ended(0) else None

    def kill(self):
        if not self._ended(0):
            signal.pidfd_send_signal(self._fd, signal.SIGKILL)

    def wait(self, seconds=None):
        if not self._ended(seconds):
            raise subprocess.TimeoutExpired("segment %d" % self.pid, seconds)
        return self.returncode
