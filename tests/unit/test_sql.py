"""pgdl.sql outside the server: quoting as PostgreSQL's quote_ident and
quote_literal do, and names parsed as PostgreSQL reads them."""

import pytest

from pgdl import sql


def test_identifiers_and_literals_are_quoted():
    assert sql.ident('we"ird') == '"we""ird"'
    assert sql.qualified("public", "T") == '"public"."T"'
    assert sql.literal("it's") == "'it''s'"
    assert sql.literal("a\\b") == "E'a\\\\b'"
    assert sql.literal(None) == "NULL"


@pytest.mark.parametrize("text, parts", [
    ("points", ["points"]),
    ("Public.Points", ["public", "points"]),
    ('"Mixed Case"', ["Mixed Case"]),
    ('s."a.b"', ["s", "a.b"]),
    ('"say ""hi"""', ['say "hi"']),
])
def test_names_split_as_postgresql_reads_them(text, parts):
    assert sql.split_name(text) == parts


@pytest.mark.parametrize("text", ["", "a.", ".a", "a.b.c", '"open', "a..b"])
def test_what_is_not_a_table_name_is_refused(text):
    with pytest.raises(ValueError, match="invalid table name"):
        sql.split_name(text)
