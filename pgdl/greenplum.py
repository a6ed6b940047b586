"""pgdl on Greenplum 7 / Apache Cloudberry, on paper.

Neither runs on the machines pgdl is built on, so this module only writes
the SQL that differs there, and the mapping below says what changes:

  single PostgreSQL node                 Greenplum / Cloudberry
  -------------------------------------  -------------------------------------------
  segment k of n: parallel participant   segment k of n: the segment process,
  (leader 0, worker w: w + 1)            GpIdentity.segindex of getgpsegmentCount()
  partial path + Gather, n - 1 workers   foreign table option mpp_execute
                                         'all segments'; no Gather, rows move
                                         to the coordinator by a motion
  packed buffers: column `segment`       packed tables DISTRIBUTED BY (segment), so
                                         segment k's buffers are local to it
  source() rows through SPI in the       the same, in the segment process: it reads
  participant                            its local share
  lockstep merge through the scan's      no memory shared across hosts: one scan per
  shared memory (fdw/exchange.c)         iteration, weights merged on the coordinator
                                         (what MADlib's fit UDA does)

The C handler would take k and n from the GPDB globals when mpp_execute is
'all segments', in place of the DSM counter; the Python side does not change:
wrappers see the same Segment(index, count).
"""


from pgdl.sql import ident as quote_ident, literal as quote_literal


def foreign_table(name, columns, options, server="pgdl"):
    """CREATE FOREIGN TABLE running in every segment: columns are (name, type)."""
    options = dict(options, mpp_execute="all segments")
    return "CREATE FOREIGN TABLE %s (%s) SERVER %s OPTIONS (%s);" % (
        ".".join(quote_ident(part) for part in name.split(".")),
        ", ".join("%s %s" % (quote_ident(column), kind) for column, kind in columns),
        quote_ident(server),
        ", ".join("%s %s" % (key, quote_literal(value)) for key, value in options.items()))


def packed_table(name, key_type="text"):
    """A packed table whose buffers live on the segment that trains on them."""
    return ("CREATE TABLE %s (buffer_id int4 PRIMARY KEY, segment int4 NOT NULL, "
            "rows int4 NOT NULL, features bytea NOT NULL, labels bytea NOT NULL, "
            "keys %s[] NOT NULL) DISTRIBUTED BY (segment);"
            % (".".join(quote_ident(part) for part in name.split(".")), key_type))
