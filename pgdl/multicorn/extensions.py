"""pgdl's extensions to the Multicorn API, declared.

A wrapper class is a multicorn2 `ForeignDataWrapper`.  Beyond that API it
may define any of the methods below; pgdl_fdw looks for each one on the
class (`capabilities`) and changes how it plans and runs the table's scans.
Each is a `Protocol`: a class need not inherit from it, and a type checker
can tell whether a class fits.  pgdl's own table kinds (pgdl.foreign) use
all of them.

The dispatcher (pgdl/dispatch.py) is where each is called; the C handler
(fdw/plan.c, fdw/scan.c) is where its answer acts.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import (
    Any, Iterable, Mapping, NamedTuple, Optional, Protocol, Sequence, Union, runtime_checkable,
)

from pgdl.multicorn.api import Qual

Quals = Sequence[Qual]
Columns = Sequence[str]
# A batch of rows as columns: the row count and each column's values.
ColumnBatch = tuple[int, Mapping[str, Sequence[Any]]]
# source(): the query, its batch size, and optionally the first batch's size.
SourceQuery = Union[tuple[str, int], tuple[str, int, int]]


class Segment(NamedTuple):
    """Which share of the rows a scan produces: segment `index` of `count`.

    On one PostgreSQL node the segments are the participants of a parallel
    scan (fdw/scan.c claims them from shared memory); on Citus, the backends
    of the workers that hold the data's shards (pgdl.distributed)."""

    # the names multicorn-style wrappers read; they shadow tuple.index and
    # tuple.count, as collections.namedtuple lets them
    index: int  # type: ignore[assignment]
    count: int  # type: ignore[assignment]


@runtime_checkable
class Segmented(Protocol):
    def get_segments(self, quals: Quals, columns: Columns) -> int:
        """How many segments split the table's rows (planning, in the leader).

        The scan becomes parallel-aware with up to this many participants,
        and execute(), source() and execute_columns() then receive
        `segment=Segment(index, count)`.  The option `segments` on the table
        or the server is the usual answer."""
        ...


@runtime_checkable
class ReadsSource(Protocol):
    def source(self, quals: Quals, columns: Columns, *, segment: Segment,
               **kwargs: Any) -> Optional[SourceQuery]:
        """The query whose rows this segment reads, or None for no rows.

        The handler runs it through SPI in each participant, as the querying
        user (fdw/source.c), and execute() receives its rows batch by batch
        as `rows={column: values}`.  A third entry makes batches start at
        that size and double up to the second."""
        ...


@runtime_checkable
class Lockstep(Protocol):
    def exchange_bytes(self, quals: Quals, columns: Columns) -> int:
        """Bytes of shared memory each segment gets (planning).

        Above 0, every segment runs at once, one per participant, and
        execute() may use pgdl.exchange: its own slot of this size and a
        barrier (fdw/exchange.c).  Training merges weights this way."""
        ...


@runtime_checkable
class PlansAhead(Protocol):
    def plan_state(self, quals: Quals, columns: Columns) -> Any:
        """What the wrapper works out once at plan time, in the leader where
        SQL runs, as a JSON-able value.  It reaches source(), execute(),
        execute_columns() and explain() in every participant as
        `plan_state=`."""
        ...


@runtime_checkable
class Columnar(Protocol):
    def execute_columns(self, quals: Quals, columns: Columns,
                        **kwargs: Any) -> Iterable[ColumnBatch]:
        """execute() for batches: yields (rows, {column: values}).

        Numbers travel as binary arrays and the rest as text, decoded in C
        (fdw/columns.c), which skips PL/Python's per-value conversions.
        Takes the same keyword arguments as execute()."""
        ...


@runtime_checkable
class BatchesRows(Protocol):
    batch_rows: bool
    """True: the rows execute() yields reach C in batches of columns, as
    execute_columns() batches do, instead of one PL/Python record each.
    Batches start at 64 rows and double to 4096, so a LIMIT stops the scan
    early; values convert as in execute_columns() (pgdl.batches), not as
    PL/Python converts them.  Only for tables whose columns are all of the
    types batches.ROW_TYPES lists; others keep the row path."""


@runtime_checkable
class ChecksParallelSafety(Protocol):
    def is_parallel_safe(self, quals: Quals, columns: Columns) -> bool:
        """Whether this scan may run in parallel workers, for a class whose
        `parallel_safe` attribute is true.  Without it, `parallel_safe`
        alone decides; it is false unless a class sets it."""
        ...


@runtime_checkable
class CountsParticipants(Protocol):
    def explain(self, quals: Quals, columns: Columns, *, verbose: bool = False,
                participants: int = 1, **kwargs: Any) -> Iterable[str]:
        """explain() that also hears how many processes run the scan."""
        ...


@runtime_checkable
class CostsParticipants(Protocol):
    participant_cost: float
    """Planner cost of starting one parallel participant, beyond
    parallel_setup_cost: a class whose participants load something before
    their first row (a model) says how much.  Above 0, key lookups stay out
    of parallel plans (fdw/plan.c)."""


@dataclass(frozen=True)
class Capabilities:
    """Which extensions a wrapper class defines, as the dispatcher reads them."""

    segmented: bool = False
    has_source: bool = False
    lockstep: bool = False
    planned: bool = False
    columnar: bool = False
    batch_rows: bool = False
    parallel_safe: bool = False
    checks_parallel_safety: bool = False
    keyed: bool = False                 # multicorn2's get_path_keys()
    counts_participants: bool = False
    participant_cost: Optional[float] = None


def _defines(cls: type, method: str) -> bool:
    return callable(getattr(cls, method, None))


def capabilities(cls: type) -> Capabilities:
    """The extensions cls defines (its methods, not its instances' state)."""
    explain = getattr(cls, "explain", None)
    counts = False
    if callable(explain):
        counts = "participants" in inspect.signature(explain).parameters
    cost = getattr(cls, "participant_cost", None)
    return Capabilities(
        segmented=_defines(cls, "get_segments"),
        has_source=_defines(cls, "source"),
        lockstep=_defines(cls, "exchange_bytes"),
        planned=_defines(cls, "plan_state"),
        columnar=_defines(cls, "execute_columns"),
        batch_rows=bool(getattr(cls, "batch_rows", False)),
        parallel_safe=bool(getattr(cls, "parallel_safe", False)),
        checks_parallel_safety=_defines(cls, "is_parallel_safe"),
        keyed=_defines(cls, "get_path_keys"),
        counts_participants=counts,
        participant_cost=None if cost is None else float(cost))
