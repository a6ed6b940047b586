"""Outside a PostgreSQL backend the interrupt checks do nothing."""

from pgdl import interrupts


def test_no_flags_outside_the_server():
    assert not interrupts.pending()
    interrupts.check()
    with interrupts.guard():
        total = sum(range(1000))
    assert total == 499500
