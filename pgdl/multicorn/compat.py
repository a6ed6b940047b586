"""multicorn.compat for pgdl: the names multicorn2's wrappers import from it
(they bridged Python 2 and 3; on Python 3 they are the built-in types)."""

unicode_ = str
basestring_ = str


def bytes_(text: str) -> bytes:
    return bytes(text, "utf8")


__all__ = ["unicode_", "basestring_", "bytes_"]
