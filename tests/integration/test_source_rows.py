"""Segments read rows of the database through the handler (source.c), in
parallel workers too: the 'buffers' kind reads packed training buffers the
way training does, segment k taking the buffers packed for segment k mod n."""

import psycopg
import pytest


@pytest.fixture
def packed(db):
    db.execute("CREATE TABLE points (id int PRIMARY KEY, f real[], label int)")
    db.execute("INSERT INTO points SELECT g, ARRAY[g, -g]::real[], g % 3 "
               "FROM generate_series(1, 600) g")
    db.execute("SELECT * FROM pgdl.preprocess('points', 'points_packed', 'f', 'label', "
               "segments => 3, buffer_size => 10, seed => 1)")
    db.commit()
    return db


def create(db, segments, name="bufs"):
    db.execute("""CREATE FOREIGN TABLE %s (buffer_id int, segment int, rows int,
                  checksum float8, pid int) SERVER pgdl
                  OPTIONS (kind 'buffers', packed 'points_packed', segments '%d')"""
               % (name, segments))
    db.commit()


def test_each_participant_reads_its_own_buffers(packed):
    create(packed, 3)
    plan = "\n".join(r[0] for r in packed.execute("EXPLAIN SELECT * FROM bufs"))
    assert "Parallel Foreign Scan" in plan
    rows = packed.execute("SELECT buffer_id, segment, rows, checksum, pid FROM bufs").fetchall()
    owner = dict(packed.execute("SELECT buffer_id, segment FROM points_packed").fetchall())
    assert sorted(r[0] for r in rows) == sorted(owner)             # every buffer once
    assert all(owner[buffer_id] == segment for buffer_id, segment, *_ in rows)
    assert sum(r[2] for r in rows) == 600
    # 60 buffers of 10 rows, read 16 at a time: several batches per segment
    assert sum(r[3] for r in rows) == pytest.approx(0.0)            # g + (-g)


def test_parallel_workers_read_source_rows(packed):
    create(packed, 3)
    packed.execute("SET parallel_leader_participation = off")
    leader = packed.execute("SELECT pg_backend_pid()").fetchone()[0]
    rows = packed.execute("SELECT buffer_id, pid FROM bufs").fetchall()
    assert len(rows) == 60 and leader not in {pid for _, pid in rows}


def test_fewer_segments_than_packed_take_them_modulo(packed):
    create(packed, 2)
    rows = packed.execute("SELECT b.segment, p.segment FROM bufs b "
                          "JOIN points_packed p USING (buffer_id)").fetchall()
    assert len(rows) == 60
    assert all(scan == packed_segment % 2 for scan, packed_segment in rows)


def test_serial_and_early_stop_and_rescan(packed):
    create(packed, 3)
    packed.execute("SET max_parallel_workers_per_gather = 0")
    assert packed.execute("SELECT count(*), count(DISTINCT pid) FROM bufs").fetchone() == (60, 1)
    assert len(packed.execute("SELECT * FROM bufs LIMIT 3").fetchall()) == 3
    rows = packed.execute("SELECT k, (SELECT count(*) FROM bufs WHERE rows >= k) "
                          "FROM generate_series(10, 11) k").fetchall()
    assert rows == [(10, 60), (11, 0)]


def test_source_rows_are_read_with_the_querying_users_privileges(packed, plain):
    create(packed, 2)
    packed.execute("GRANT SELECT ON bufs TO plain")
    packed.commit()
    with pytest.raises(psycopg.errors.InsufficientPrivilege,
                       match="permission denied for table points_packed"):
        plain.execute("SELECT * FROM bufs").fetchall()
    packed.execute("GRANT SELECT ON points_packed TO plain")
    packed.commit()
    assert plain.execute("SELECT count(*) FROM bufs").fetchone() == (60,)


def test_buffers_needs_a_packed_table(db):
    with pytest.raises(psycopg.errors.FdwInvalidOptionName,
                       match='a table of kind "buffers" needs option "packed"'):
        db.execute("CREATE FOREIGN TABLE b (buffer_id int) SERVER pgdl OPTIONS (kind 'buffers')")
