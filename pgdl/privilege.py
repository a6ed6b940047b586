"""Whose privileges and which search_path pgdl's SQL runs with (fdw/privilege.c).

  catalog_path()  SQL as the user, with pg_catalog alone on the search path,
                  so no object a role created in some schema can stand in for
                  what pgdl's SQL names.  pgdl's own code runs its SQL here.
  user_path()     SQL as the user with the user's own search path: for
                  resolving the names the user gave (tables to read, tables
                  to create).
  privileged()    SQL as the bootstrap superuser with the catalog path:
                  pgdl's writes to its own tables, which ordinary roles may
                  not write.  Only fixed SQL with bound parameters belongs
                  inside, after every check of what the user may do ran as
                  the user; the role the work is for is acting_role(), read
                  before.  A scan started inside still reads its source rows
                  with the privileges of that role.
  acting_as(role) SQL as `role` with the catalog path: a segment task on a
                  Citus worker (which Citus runs as the superuser the
                  coordinator's privileged section connected as) reads and
                  writes as the role the coordinator acts for.

Outside a PostgreSQL backend (plain pytest) the sections do nothing.
"""

import contextlib
import ctypes

from pgdl import server
from pgdl.errors import PgdlError

CATALOG, PRIVILEGED, USER = 0, 1, 2


def _library():
    try:
        lib = ctypes.CDLL(None)
        lib.pgdl_section_enter.argtypes = [ctypes.c_int]
        lib.pgdl_section_enter_as.argtypes = [ctypes.c_uint]
        return lib
    except (OSError, AttributeError):
        return None     # not inside a backend that loaded pgdl


_lib = _library()


@contextlib.contextmanager
def _section(kind):
    if _lib is None:
        if kind == PRIVILEGED:
            raise PgdlError("pgdl's catalog can be written only inside the server")
        yield
        return
    code = _lib.pgdl_section_enter(kind)
    if code != 0:
        raise PgdlError("pgdl cannot enter a section of kind %d (code %d)" % (kind, code),
                        sqlstate="XX000")
    try:
        yield
    finally:
        _lib.pgdl_section_leave()


def catalog_path():
    return _section(CATALOG)


def user_path():
    return _section(USER)


def privileged():
    return _section(PRIVILEGED)


@contextlib.contextmanager
def acting_as(role):
    if _lib is None:
        raise PgdlError("pgdl can act as a role only inside the server")
    rows = server.plpy.execute(server.plpy.prepare(
        "SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1", ["name"]), [role])
    if not rows:
        raise PgdlError('role "%s" does not exist on this node' % role,
                        hint="Citus creates roles on every node; create it here too.",
                        sqlstate="42704")
    code = _lib.pgdl_section_enter_as(rows[0]["oid"])
    if code != 0:
        raise PgdlError("pgdl cannot act as role %s (code %d)" % (role, code), sqlstate="XX000")
    try:
        yield
    finally:
        _lib.pgdl_section_leave()


def acting_role():
    """The current role, whose name pgdl writes as owner."""
    return server.plpy.execute("SELECT pg_catalog.current_user() AS role")[0]["role"]
