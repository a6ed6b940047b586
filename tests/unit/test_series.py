"""The series kind's row logic, outside the server."""

import pytest

from pgdl.errors import PgdlError
from pgdl.multicorn.extensions import Segment
from pgdl.foreign.series import Series
from pgdl.multicorn.api import Qual


def series(**options):
    options = {key: str(value) for key, value in options.items()}
    return Series(dict(options, kind="series"), {})


def values(fdw, quals=(), segment=None):
    return [row["value"] for row in fdw.execute(list(quals), ["value"], segment=segment)]


def test_range_and_step():
    assert values(series(start=1, stop=10, step=3)) == [1, 4, 7, 10]


def test_quals_narrow_the_range_on_the_step_grid():
    fdw = series(start=1, stop=100, step=3)
    assert values(fdw, [Qual("value", ">", 10), Qual("value", "<", 20)]) == [13, 16, 19]
    assert values(fdw, [Qual("value", ("=", True), [4, 5, 7])]) == [4, 7]


def test_segments_split_contiguously_and_cover_everything():
    fdw = series(start=1, stop=10)
    parts = [values(fdw, segment=Segment(k, 3)) for k in range(3)]
    assert parts == [[1, 2, 3], [4, 5, 6], [7, 8, 9, 10]]


def test_bad_options_are_refused():
    with pytest.raises(PgdlError, match='invalid value for option "step": "0"'):
        series(step=0)
    with pytest.raises(PgdlError, match='invalid option "colour"'):
        series(colour="red")
