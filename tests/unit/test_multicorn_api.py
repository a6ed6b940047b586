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


# pgdl's extensions (pgdl.multicorn.extensions): what the dispatcher finds on a class

def test_a_plain_multicorn_class_uses_no_extension():
    from pgdl.multicorn.extensions import Capabilities, capabilities

    class Plain(api.ForeignDataWrapper):
        def execute(self, quals, columns):
            return []

    found = capabilities(Plain)
    assert found == Capabilities(keyed=True)        # get_path_keys() is multicorn2's
    assert not found.segmented and not found.parallel_safe


def test_pgdls_own_kinds_declare_what_they_use():
    from pgdl.foreign.predictions import Predictions
    from pgdl.foreign.series import Series
    from pgdl.foreign.training import TrainingSegments
    from pgdl.multicorn import extensions as ext

    predictions = ext.capabilities(Predictions)
    assert (predictions.segmented, predictions.has_source, predictions.planned,
            predictions.columnar, predictions.counts_participants) == (True,) * 5
    assert predictions.participant_cost == Predictions.participant_cost > 0
    assert not predictions.lockstep
    assert issubclass(Predictions, ext.ReadsSource) and issubclass(Predictions, ext.Columnar)
    assert issubclass(TrainingSegments, ext.Lockstep) and ext.capabilities(TrainingSegments).lockstep
    assert ext.capabilities(Series).segmented and not ext.capabilities(Series).has_source
    assert isinstance(Predictions.__new__(Predictions), ext.CostsParticipants)


def test_a_segment_reads_as_multicorn_style_wrappers_expect():
    from pgdl.multicorn import Segment
    segment = Segment(1, 4)
    assert (segment.index, segment.count) == (1, 4) and segment == (1, 4)
