"""Keras 3, imported once per process with quiet defaults.

The backend follows KERAS_BACKEND (tensorflow unless set): Keras 3 also runs
on PyTorch or JAX, which matters on GPU machines without TensorFlow.
"""

import glob
import os

_keras = None


def gpu_count():
    """NVIDIA GPUs the driver reports (no CUDA library needed to count)."""
    return len(glob.glob("/proc/driver/nvidia/gpus/*"))


def choose_gpu(segment, gpus=None):
    """Segment k uses GPU k mod G: set before Keras loads in a segment's own
    process (a parallel worker), so it sees that one GPU; a process whose
    Keras is already loaded keeps what it has.  Returns the GPU, or None."""
    gpus = gpu_count() if gpus is None else gpus
    if gpus == 0 or _keras is not None or "CUDA_VISIBLE_DEVICES" in os.environ:
        return None
    os.environ["CUDA_VISIBLE_DEVICES"] = str(segment % gpus)
    return segment % gpus


def visible_gpu():
    """The GPU this process was pinned to (choose_gpu), or None."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return value if value and gpu_count() else None


def _postgres_jit_loaded():
    """Whether PostgreSQL's JIT (LLVM) is loaded in this process."""
    try:
        with open("/proc/self/maps") as maps:
            return any("llvmjit" in line for line in maps)
    except OSError:
        return False


def keras():
    global _keras
    if _keras is None:
        if _postgres_jit_loaded():
            # TensorFlow's LLVM and PostgreSQL's crash the server process
            from pgdl.errors import PgdlError
            raise PgdlError(
                "Keras cannot load in a session that compiled a query with JIT",
                detail="TensorFlow and PostgreSQL's JIT each load LLVM; together they "
                       "crash the server process.",
                hint="Run this in a new session (pgdl turns JIT off in sessions that use "
                     "it), or SET jit = off at the start of the session.",
                sqlstate="55000")
        from pgdl.engine import segment_process
        if segment_process.wanted():
            # a backend whose segment trains in a child process: its own
            # Keras (architectures, the ONNX export) leaves the GPUs alone
            os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        # segments that share a GPU take memory as they need it, not all of
        # it up front (TensorFlow's default)
        os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import keras as module
        _keras = module
    return _keras
