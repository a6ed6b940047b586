"""pgdl across the nodes of a Citus cluster.

On one server a segment is a parallel participant; on Citus it is a
backend on the worker that holds the segment's rows.  A packed table made
from a distributed source is itself distributed by `segment`, with segment
ids chosen so that each lands in a shard on the node whose rows it packs
(layout).  The coordinator then runs each step as one query over the
packed table that Citus pushes down to every shard at once:

    SELECT segment, pgdl_internal.segment_task(tableoid, segment, op, payload)
    FROM <packed table> WHERE buffer_id = ANY (<one buffer per segment>)

`tableoid` there is the shard's own table, so each call reads only local
buffers (worker); only the payload (a job's spec and weights) and the
answer (trained weights, counts) travel (tasks).  Citus reuses a
transaction's connection to a placement, so a worker backend keeps a job's
model and buffers from one iteration to the next.

Predictions and pgdl.evaluate over a source distributed by hash run the
same task on each of the source's shards, started by one row of the shard
(scoring): the worker scores its shard and answers predictions, not rows.
"""
