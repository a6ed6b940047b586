"""pgdl on Greenplum 7 / Apache Cloudberry, on paper.

Neither runs on the machines pgdl is built on; Citus does, and pgdl's
distributed path (pgdl.distributed) is built and tested on it.  This module
writes the SQL that differs on Greenplum, and the mapping below says what
each engine does, so that Greenplum differs from the Citus path only where
the engines differ:

  one server            Citus (pgdl.distributed)      Greenplum / Cloudberry
  --------------------  ----------------------------  ----------------------------
  segment k of n: a     a backend on the worker that  the segment process,
  parallel participant  holds segment k's shard       GpIdentity.segindex
  packed buffers:       distributed by segment; ids   DISTRIBUTED BY (segment);
  column segment        chosen to land on the node    ids chosen the same way,
                        that holds the rows (layout)  by gp_segment_id of a hash
  packing reads the     each segment reads its own    the same, in the segment
  source through SPI    node's source shards          process (its local share)
  lockstep merge in     one pushed-down query per     one query per iteration
  the scan's shared     iteration; weights merged on  over the packed table, run
  memory                the coordinator (kernels)     in every segment; merged on
                                                      the coordinator
  model kept between    kept in the worker backend    kept in the segment
  iterations            of the transaction's          process of the session
                        connection (JOBS)             (gang reuse)
  predictions: a        a task per shard, started by  the foreign table runs in
  segment scores a      an anchor row of it; the      every segment (mpp_execute
  block range or key    worker reads its shard and    'all segments') and scores
  hash of the source    answers predicted columns     its local share of the
                        (pgdl.distributed.scoring)    source; rows go to the QD
  a key qual: one       routed to the key's shard by  direct dispatch to the
  segment, a lookup     the distribution column       key's segment
  ONNX session kept     kept by the worker backend    kept by the segment
  in the backend        of Citus's cached connection  process of the session

The C handler would take k and n from the GPDB globals when mpp_execute is
'all segments', in place of the DSM counter; the Python side does not change:
wrappers see the same Segment(index, count).
"""


from pgdl.data.preprocess import create_table_sql
from pgdl.sql import ident, literal


def foreign_table(name, columns, options, server="pgdl"):
    """CREATE FOREIGN TABLE running in every segment: columns are (name, type)."""
    options = dict(options, mpp_execute="all segments")
    return "CREATE FOREIGN TABLE %s (%s) SERVER %s OPTIONS (%s);" % (
        ".".join(ident(part) for part in name.split(".")),
        ", ".join("%s %s" % (ident(column), kind) for column, kind in columns),
        ident(server),
        ", ".join("%s %s" % (key, literal(value)) for key, value in options.items()))


def packed_table(name, key_type="text"):
    """A packed table whose buffers live on the segment that trains on them;
    as on Citus, the distribution column belongs to the primary key."""
    return ("%s DISTRIBUTED BY (segment);"
            % create_table_sql(".".join(ident(part) for part in name.split(".")),
                               key_type, distributed=True))
