"""Errors that reach the client as PostgreSQL ERRORs.

Code outside the server (the engine, the kernels, their tests) raises
`PgdlError`; the dispatcher turns it into a PostgreSQL ERROR with the same
message, detail, hint and SQLSTATE.
"""


class PgdlError(Exception):
    """An error meant for the user, with PostgreSQL's error fields."""

    def __init__(self, message, detail=None, hint=None, sqlstate="XX000"):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.sqlstate = sqlstate


def invalid_option(message, hint=None, detail=None):
    """An option that names nothing pgdl knows, or holds a bad value."""
    return PgdlError(message, detail=detail, hint=hint, sqlstate="HV00D")


def invalid_value(message, hint=None, detail=None):
    return PgdlError(message, detail=detail, hint=hint, sqlstate="22023")
