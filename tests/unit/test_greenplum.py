"""The SQL that pgdl's Greenplum/Cloudberry path would run (on paper only)."""

from pgdl_tools import greenplum


def test_foreign_tables_run_in_every_segment():
    sql = greenplum.foreign_table("public.bufs", [("buffer_id", "int4"), ("we\"ird", "text")],
                                  {"kind": "buffers", "packed": "it's"})
    assert sql == ('CREATE FOREIGN TABLE "public"."bufs" ("buffer_id" int4, "we""ird" text) '
                   "SERVER \"pgdl\" OPTIONS (kind 'buffers', packed 'it''s', "
                   "mpp_execute 'all segments');")


def test_packed_buffers_live_on_their_segment():
    sql = greenplum.packed_table("mnist_packed", key_type="int4")
    assert sql.startswith('CREATE TABLE "mnist_packed" (buffer_id int4 NOT NULL, segment')
    assert sql.endswith("keys int4[] NOT NULL, PRIMARY KEY (buffer_id, segment)) "
                        "DISTRIBUTED BY (segment);")
