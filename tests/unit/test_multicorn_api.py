"""pgdl's Multicorn2 API outside the server."""

from pgdl.multicorn import api
from pgdl.multicorn.api import ALL, ANY, ColumnDefinition, Qual, TableDefinition


def test_qual_with_a_plain_operator():
    qual = Qual("id", ">=", 3)
    assert (qual.field_name, qual.operator, qual.value) == ("id", ">=", 3)
    assert not qual.is_list_operator and qual.list_any_or_all is None
    assert repr(qual) == "id >= 3"


def test_qual_with_any_and_all():
    assert Qual("id", ("=", True), [1, 2]).list_any_or_all is ANY
    qual = Qual("id", ("<>", False), [1])
    assert qual.list_any_or_all is ALL and qual.operator_name == "<>"
    assert repr(qual) == "id <> ALL([1])"


def test_quals_compare_by_value():
    assert Qual("a", "=", 1) == Qual("a", "=", 1)
    assert Qual("a", "=", 1) != Qual("a", "=", 2)


def test_table_definition_statement_quotes_names_and_options():
    table = TableDefinition('we"ird', columns=[ColumnDefinition("my col", type_name="text")],
                            options={"path": "it's"})
    assert table.to_statement("s", "srv") == (
        'CREATE FOREIGN TABLE "s"."we""ird" (\n  "my col" text\n) SERVER "srv" '
        "OPTIONS (\"path\" 'it''s')")


def test_base_class_defaults():
    fdw = api.ForeignDataWrapper({}, {})
    assert fdw.get_rel_size([], ["a", "b"]) == (100000000, 200)
    assert fdw.explain([], []) == []
