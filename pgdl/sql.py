"""SQL text, built in one place: identifiers and literals quoted as PostgreSQL does.

Every name or value that reaches SQL text from a user, an option or a
catalog row goes through these functions (or travels as a bound
parameter).  Inside the server they are the server's own quote_ident and
quote_literal (through plpy, which calls them directly, so they work in a
parallel worker too); outside it, the same rules in Python: a literal that
holds a backslash is written E'...' with the backslash doubled, so it reads
the same whatever standard_conforming_strings says.
"""

from pgdl import server


def ident(name):
    """A quoted identifier."""
    if server.plpy is not None:
        return server.plpy.quote_ident(str(name))
    return '"%s"' % str(name).replace('"', '""')


def literal(value):
    """A quoted string literal (NULL for None)."""
    if value is None:
        return "NULL"
    text = str(value)
    if server.plpy is not None:
        return server.plpy.quote_literal(text)
    quoted = "'%s'" % text.replace("'", "''").replace("\\", "\\\\")
    return ("E" + quoted) if "\\" in text else quoted


def qualified(*parts):
    """schema.name, each part quoted."""
    return ".".join(ident(part) for part in parts)


def split_name(text):
    """The parts of a possibly schema-qualified name as PostgreSQL reads it
    (unquoted parts folded to lower case, "" inside quotes a quote), without
    a query; ValueError when text is not such a name."""
    parts, part, quoted, i = [], "", False, 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == '"' and text[i + 1:i + 2] == '"':
                part += '"'
                i += 1
            elif char == '"':
                quoted = False
            else:
                part += char
        elif char == '"':
            quoted = True
        elif char == ".":
            parts.append(part)
            part = ""
        else:
            part += char.lower()
        i += 1
    parts.append(part)
    if quoted or not all(parts) or len(parts) > 2:
        raise ValueError('invalid table name "%s"' % text)
    return parts


def typed(value, type_name):
    """A literal of a type whose name the catalogs wrote (format_type), or an
    array of them for a list."""
    if value is None:
        return "NULL::%s" % type_name
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "ARRAY[%s]::%s[]" % (", ".join(literal(v) for v in value if v is not None),
                                    type_name)
    return "%s::%s" % (literal(value), type_name)
