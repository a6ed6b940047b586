"""Hyperband's brackets (pgdl.engine.selection.hyperband_schedule)."""

import pytest

from pgdl.engine.selection import hyperband_schedule
from pgdl.errors import PgdlError


def test_the_brackets_of_successive_halving():
    # (configurations, total iterations) per round, largest bracket first
    assert hyperband_schedule(9, 3, 0) == [
        (2, [(9, 1), (3, 3), (1, 9)]), (1, [(5, 3), (1, 9)]), (0, [(3, 9)])]
    assert hyperband_schedule(81, 3, 0)[0] == (4, [(81, 1), (27, 3), (9, 9), (3, 27),
                                                   (1, 81)])
    assert hyperband_schedule(1, 3, 0) == [(0, [(1, 1)])]


def test_skip_last_drops_the_last_rounds_of_every_bracket():
    assert hyperband_schedule(9, 3, 1) == [(2, [(9, 1), (3, 3)]), (1, [(5, 3)])]


def test_a_schedule_with_nothing_left_says_so():
    with pytest.raises(PgdlError, match="skip_last 3 leaves no round to run"):
        hyperband_schedule(9, 3, 3)
