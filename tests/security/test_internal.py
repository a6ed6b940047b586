"""pgdl's internal machinery is out of every ordinary role's reach, and the C
side checks every size it is handed before it reaches shared memory."""

import psycopg
import pytest


def test_no_role_reaches_pgdl_internal(roles, db):
    alice, bob = roles
    assert db.execute("SELECT has_schema_privilege('bob', 'pgdl_internal', 'USAGE')"
                      ).fetchone() == (False,)
    granted = db.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname IN ('pgdl', 'pgdl_internal') "
        "AND p.proname LIKE '\\_%%' AND has_function_privilege('bob', p.oid, 'EXECUTE')"
    ).fetchall()
    assert granted == []
    internal = db.execute("SELECT count(*) FROM pg_proc WHERE pronamespace = "
                          "'pgdl_internal'::regnamespace").fetchone()[0]
    assert internal >= 15
    for sql in ("SELECT * FROM pgdl_internal.training_segments WHERE job = 1",
                "SELECT pgdl_internal._python_boot('/tmp')",
                "SELECT * FROM pgdl_internal._fdw_scan('{\"wrapper\": \"os.system\"}', '{}', "
                "'{}', 0, 1, NULL, NULL) AS t(x text)"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(sql)
    assert db.execute("SELECT to_regclass('pgdl.training_runs'), "
                      "to_regclass('pgdl._training_segments')").fetchone() == (None, None)


def test_internal_kinds_are_pgdls_own(roles, db):
    alice, bob = roles
    for kind in ("training_segments", "model_training", "model_selection"):
        with pytest.raises(psycopg.errors.FdwInvalidOptionName) as caught:
            bob.execute("CREATE FOREIGN TABLE bob.t (job int8, segments int4) SERVER pgdl "
                        "OPTIONS (kind '%s')" % kind)
        assert caught.value.diag.message_primary == 'kind "%s" is pgdl\'s own' % kind
    # even a superuser's table of the kind runs only a job its own process runs
    db.execute("CREATE FOREIGN TABLE segs (job int8, segment int4) SERVER pgdl "
               "OPTIONS (kind 'training_segments')")
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState) as caught:
        db.execute("SELECT * FROM segs WHERE job = 1")
    assert caught.value.diag.message_primary == \
        "training job 1 is not running in this process"


@pytest.mark.parametrize("exchange_bytes, segments, message", [
    (2 ** 62, 3, "a lockstep scan cannot share 4611686018427387904 bytes per segment"),
    (2 ** 33, 2, "a lockstep scan cannot share 8589934592 bytes per segment"),
    (8, 5000, 'foreign table "big" asks for 5000 segments'),
])
def test_shared_memory_sizes_are_checked(db, exchange_bytes, segments, message):
    db.execute("""CREATE SERVER lock FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.LockstepFDW')""")
    db.execute("CREATE FOREIGN TABLE big (segment int, round int, total float8, pid int) "
               "SERVER lock OPTIONS (parts '%d', exchange_bytes '%d')"
               % (segments, exchange_bytes))
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as caught:
        db.execute("SELECT * FROM big").fetchall()
    assert caught.value.diag.message_primary == message
    db.rollback()
    assert db.execute("SELECT 1").fetchone() == (1,)       # the server is still up
