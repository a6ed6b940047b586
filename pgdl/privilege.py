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


def acting_role():
    """The current role, whose name pgdl writes as owner."""
    return server.plpy.execute("SELECT pg_catalog.current_user() AS role")[0]["role"]
