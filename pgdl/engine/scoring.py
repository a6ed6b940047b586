"""Scoring with ONNX Runtime: a model version as a session, built once per backend.

A model version is described by its pgdl.models row (the `Model` below):
what it expects (feature shape, normalization) and what its outputs mean
(classes or a regression value).  A `Scorer` packs raw feature rows with
the Cython kernel, runs the ONNX session in batches and returns float32
outputs.  Scorers live in a small per-process cache keyed by model,
version and creation time, so the next query in the same backend reuses
the session; the key also holds the session's thread count, which depends
on how many segments share the CPUs.  The cache is bounded by count and by
the models' bytes, and all sessions of a process allocate from one arena
capped by pgdl.onnx_memory_limit: what a session that leaves the cache held
goes back to that arena for the next.

Sessions are built from bytes that must hold every tensor themselves
(pgdl.engine.onnx_check), and every run can be stopped: a cancel,
statement_timeout or terminate request sets RunOptions.terminate
(pgdl.interrupts), so scoring ends within a fraction of a second.
"""

from __future__ import annotations

import ctypes
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from pgdl import interrupts, kernels
from pgdl.data.packing import Normalization
from pgdl.engine import onnx_check
from pgdl.engine.keras_loader import gpu_count
from pgdl.errors import PgdlError

CACHE_SIZE = 8
CACHE_BYTES = 1 << 30       # of ONNX bytes behind the cached sessions
INTEGER_TYPES = {"smallint", "integer", "bigint", "int2", "int4", "int8"}

# A cached scorer's key: owner, model, version, created, threads.
CacheKey = tuple[str, str, int, str, Optional[int]]
Provider = Union[str, tuple[str, dict[str, Any]]]


@dataclass
class Model:
    """What scoring needs to know of a model version (a pgdl.models row)."""

    model: str
    version: int
    owner: str
    created: str
    task: str
    class_values: Optional[list[Any]]
    class_type: Optional[str]
    feature_shape: list[int]
    normalization: Optional[str]
    normalizing_const: Optional[float] = None
    feature_mean: Optional[list[float]] = None
    feature_std: Optional[list[float]] = None
    apply_softmax: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Model:
        fields: dict[str, Any] = {name: row.get(name) for name in cls.__dataclass_fields__}
        return cls(**fields)

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.owner, self.model, self.version, str(self.created))

    @property
    def size(self) -> int:
        return int(np.prod(self.feature_shape))

    def scaling(self) -> Normalization:
        return Normalization(
            self.normalization or "none", self.normalizing_const,
            None if self.feature_mean is None else np.asarray(self.feature_mean, np.float32),
            None if self.feature_std is None else np.asarray(self.feature_std, np.float32))

    def typed_classes(self) -> Optional[list[Any]]:
        """Class values as Python values of the class column's type."""
        if self.class_values is None:
            return None
        if (self.class_type or "").split("(")[0].strip() in INTEGER_TYPES:
            return [int(v) for v in self.class_values]
        return list(self.class_values)


def providers(segment: int = 0) -> list[Provider]:
    """ONNX Runtime execution providers: CUDA (GPU segment mod G) when the
    installed onnxruntime has it and a GPU is there, then CPU."""
    import onnxruntime
    gpus = gpu_count()
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers() and gpus:
        return [("CUDAExecutionProvider", {"device_id": segment % gpus}),
                "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def provider_names(segment: int = 0) -> list[str]:
    return [p[0] if isinstance(p, tuple) else p for p in providers(segment)]


_arena_limit: Optional[int] = None


def memory_limit() -> Optional[int]:
    """pgdl.onnx_memory_limit in bytes inside a backend, else None."""
    try:
        function = ctypes.CDLL(None).pgdl_onnx_memory_bytes
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int64
    return int(function())


def _limit_memory(options: Any) -> None:
    """Sessions of this process allocate from one arena of at most
    pgdl.onnx_memory_limit bytes (read once), so a model that asks for
    more fails instead of exhausting the server's memory."""
    import onnxruntime
    global _arena_limit
    if _arena_limit is None:
        limit = memory_limit()
        if limit:
            onnxruntime.create_and_register_allocator(
                onnxruntime.OrtMemoryInfo("Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR,
                                          0, onnxruntime.OrtMemType.DEFAULT),
                onnxruntime.OrtArenaCfg({"max_mem": limit, "arena_extend_strategy": 1}))
        _arena_limit = limit or 0
    if _arena_limit:
        options.add_session_config_entry("session.use_env_allocators", "1")


def _too_big(exc: BaseException) -> Optional[PgdlError]:
    """The PgdlError for a run that asked the arena for more than it holds."""
    if "is smaller than requested bytes" not in str(exc):
        return None
    return PgdlError("the ONNX model needs more memory than pgdl.onnx_memory_limit (%d MB) "
                     "allows" % ((_arena_limit or 0) // (1024 * 1024)),
                     hint="A superuser may raise pgdl.onnx_memory_limit; fewer rows per batch "
                          "(option batch_size) need less.", sqlstate="53200")


def session(data: bytes, threads: Optional[int] = None, segment: int = 0) -> Any:
    """An ONNX Runtime session on the model's bytes; PgdlError if they do not
    load, or if they refer to anything outside themselves."""
    import onnxruntime
    onnx_check.check_self_contained(onnx_check.parse(data))
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.load_model_format", "ONNX")
    _limit_memory(options)
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if threads and threads < (os.cpu_count() or 1):
        # segments share the CPUs: threads that spin while idle steal them
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(bytes(data), options, providers=providers(segment))
    except Exception as exc:    # onnxruntime raises its own Fail/InvalidProtobuf/... types
        raise _too_big(exc) or PgdlError("the ONNX model does not load: %s" % str(exc).strip().splitlines()[0],
                        sqlstate="22023")


class Scorer:
    """A model version ready to score: its session and its packing."""

    def __init__(self, model: Model, data: bytes, threads: Optional[int] = None,
                 segment: int = 0) -> None:
        self.model = model
        self.bytes = len(data)
        self.session = session(data, threads, segment)
        # what runs, which is what was asked for only where it could start:
        # a CUDA provider that fails (no driver, no memory) leaves the CPU
        self.providers = list(self.session.get_providers())
        inputs = self.session.get_inputs()
        self.input_name = inputs[0].name
        batch = inputs[0].shape[0] if inputs[0].shape else None
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        scaling = model.scaling()
        self.scale, self.offset = scaling.scale, scaling.offset

    def pack(self, rows: Sequence[Any], kind: str) -> np.ndarray:
        """Raw feature rows (bytes) as float32 (len(rows), size); PackError names a bad row."""
        return kernels.pack_rows(rows, kind, self.model.size, self.scale, self.offset)

    def pack_column(self, column: Any, kind: str) -> np.ndarray:
        """pack() for a batch in one buffer (a pgdl.batches.BytesColumn)."""
        return kernels.pack_buffer(column.data, column.offsets, column.mask, kind,
                                   self.model.size, self.scale, self.offset)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Packed rows -> outputs (rows, outputs), float32."""
        x = x.reshape([len(x)] + list(self.model.feature_shape))
        step = self.fixed_batch or len(x) or 1
        outputs = [self._run(x[i:i + step]) for i in range(0, len(x), step)] \
            or [np.zeros((0, 1), np.float32)]
        out = np.concatenate(outputs).reshape(len(x), -1).astype(np.float32, copy=False)
        if self.model.apply_softmax:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)
        return out

    def _run(self, x: np.ndarray) -> np.ndarray:
        import onnxruntime
        options = onnxruntime.RunOptions()
        options.log_severity_level = 3
        try:
            with interrupts.stopping(options):
                return self.session.run(None, {self.input_name: x}, options)[0]
        except Exception as exc:
            interrupts.check()      # a terminated run raises; say it was a cancel
            raise _too_big(exc) or exc


_cache: OrderedDict[CacheKey, Scorer] = OrderedDict()


def default_threads(segments: int) -> int:
    """ONNX Runtime threads per segment, so that segments share the CPUs."""
    return max(1, (os.cpu_count() or 1) // max(segments, 1))


def cached(key: CacheKey) -> Optional[Scorer]:
    scorer = _cache.get(key)
    if scorer is not None:
        _cache.move_to_end(key)
    return scorer


def remember(key: CacheKey, scorer: Scorer) -> Scorer:
    _cache[key] = scorer
    while len(_cache) > 1 and (len(_cache) > CACHE_SIZE or
                               sum(s.bytes for s in _cache.values()) > CACHE_BYTES):
        _cache.popitem(last=False)
    return scorer


def forget(owner: str, model: str) -> None:
    """Drops the sessions of a model (after its versions were dropped)."""
    for key in [k for k in _cache if k[:2] == (owner, model)]:
        del _cache[key]


def cached_scorer(owner: str, model: str, version: int, threads: Optional[int]) -> Optional[Scorer]:
    """This process's scorer of the model version with that many threads, or None."""
    for key, scorer in reversed(_cache.items()):
        if key[:3] == (owner, model, version) and key[4] == threads:
            return scorer
    return None


def cached_versions(owner: str, model: str, threads: Optional[int]) -> list[tuple[int, str]]:
    """(version, created) of the model's versions this process has sessions
    for, with that many threads."""
    return sorted((key[2], key[3]) for key in _cache
                  if key[:2] == (owner, model) and key[4] == threads)
