"""Closing a segment's child process: it ends and is reaped even when a
cancel's second, asynchronous Interrupted lands inside close()."""

import socket
import subprocess
from multiprocessing.connection import Connection

import pytest

from pgdl.engine.segment_process import ProcessSegmentModel
from pgdl.interrupts import Interrupted


def busy_child():
    """A ProcessSegmentModel around a child that never answers."""
    model = ProcessSegmentModel.__new__(ProcessSegmentModel)
    mine, theirs = socket.socketpair()
    model.process = subprocess.Popen(["sleep", "60"])
    model.conn = Connection(mine.detach())
    model.busy = True
    theirs.close()
    return model


def test_close_kills_a_child_that_is_still_busy():
    model = busy_child()
    model.close()
    assert model.process.returncode is not None


def test_a_cancel_landing_in_close_still_ends_the_child(monkeypatch):
    model = busy_child()
    end, calls = ProcessSegmentModel._end, []

    def interrupted_once(self):
        calls.append(self)
        if len(calls) == 1:
            raise Interrupted()
        end(self)
    monkeypatch.setattr(ProcessSegmentModel, "_end", interrupted_once)
    with pytest.raises(Interrupted):
        model.close()
    assert len(calls) == 2
    assert model.process.returncode is not None     # killed and reaped
