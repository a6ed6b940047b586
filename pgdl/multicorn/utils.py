"""multicorn.utils for pgdl: messages to the PostgreSQL client.

`log_to_postgres(message, level, hint, detail)` sends a message at a
`logging` level, as multicorn2 does: DEBUG as DEBUG1, INFO as a NOTICE (so
client_min_messages can hide it), WARNING as a WARNING; ERROR and CRITICAL
raise, and reach the client as a PostgreSQL ERROR with the message, detail
and hint.
"""

from logging import CRITICAL, DEBUG, ERROR, INFO, WARNING
from typing import Optional

from pgdl import server


def log_to_postgres(message: str, level: int = INFO, hint: Optional[str] = None,
                    detail: Optional[str] = None) -> None:
    server.report(server.NOTICE if level == INFO else level, message, hint=hint, detail=detail)


__all__ = ["log_to_postgres", "CRITICAL", "DEBUG", "ERROR", "INFO", "WARNING"]
