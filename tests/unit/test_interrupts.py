"""The interrupt guard: a cancel flag raises Interrupted in guarded Python code
and stops registered native runs; outside a backend nothing watches.

The backend's QueryCancelPending and ProcDiePending are stood in for by two
ctypes ints, which is all the module reads.
"""

import ctypes
import threading
import time
from types import SimpleNamespace

import pytest

from pgdl import interrupts


@pytest.fixture
def flags(monkeypatch):
    cancel, die = ctypes.c_int(0), ctypes.c_int(0)
    monkeypatch.setattr(interrupts, "_FLAGS", (cancel, die))
    yield cancel, die
    cancel.value = die.value = 0


def raise_later(flag, seconds=0.1):
    timer = threading.Timer(seconds, lambda: setattr(flag, "value", 1))
    timer.start()
    return timer


def spin(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def test_outside_a_backend_nothing_is_pending_and_the_guard_watches_nothing():
    assert interrupts._FLAGS == ()
    assert not interrupts.pending()
    interrupts.check()
    with interrupts.guard() as guard:
        assert not guard.owner
        assert interrupts._watcher.target is None


@pytest.mark.parametrize("which", [0, 1], ids=["cancel", "terminate"])
def test_check_raises_once_a_flag_is_set(flags, which):
    interrupts.check()
    flags[which].value = 1
    with pytest.raises(interrupts.Interrupted):
        interrupts.check()


def test_a_cancel_interrupts_guarded_code_that_never_checks(flags):
    started = time.monotonic()
    raise_later(flags[0])
    with pytest.raises(interrupts.Interrupted):
        with interrupts.guard():
            spin(10)
    assert time.monotonic() - started < 2


def test_the_guard_leaves_nothing_behind(flags):
    raise_later(flags[0])
    with pytest.raises(interrupts.Interrupted):
        with interrupts.guard():
            spin(10)
    flags[0].value = 0
    assert interrupts._watcher.target is None
    spin(0.3)       # a late asynchronous exception would land here


def test_an_inner_guard_leaves_the_outer_one_in_charge(flags):
    with pytest.raises(interrupts.Interrupted):
        with interrupts.guard() as outer:
            with interrupts.guard() as inner:
                assert outer.owner and not inner.owner
            raise_later(flags[0])
            spin(10)


def test_a_cancel_terminates_registered_native_runs(flags):
    options = SimpleNamespace(terminate=False)
    with interrupts.stopping(options):
        raise_later(flags[0])
        deadline = time.monotonic() + 2
        while not options.terminate and time.monotonic() < deadline:
            time.sleep(0.01)
    assert options.terminate
    assert options not in interrupts._watcher.runs


def test_stopping_refuses_to_start_after_a_cancel(flags):
    flags[0].value = 1
    with pytest.raises(interrupts.Interrupted):
        with interrupts.stopping(SimpleNamespace(terminate=False)):
            pass
