"""Interrupts that never leave half a piece of work behind: SIGINT and SIGTERM set a flag that a
long loop reads between complete units of work (a run, an update), and `Interrupted` carries the
signal to the command line, which exits 128 + its number (130 for Ctrl-C, 143 for SIGTERM).

A handler that only sets a flag also means a Ctrl-C that arrives while a Numba kernel runs waits for
the kernel to return, instead of raising inside it.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; what was finished is saved, and the message says how to resume.

    A BaseException, like KeyboardInterrupt, so that code which turns a failing run into a stored
    result (``except Exception``) lets it through instead of storing the interrupted run as failed."""

    def __init__(self, signum: int, message: str):
        super().__init__(f"interrupted by {signal.Signals(signum).name}: {message}")
        self.signum = signum


class StopFlag:
    """Which signal arrived, if any (`signum` is None until one does)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None


@contextmanager
def stop_on_signals(on_signal=None):
    """Within the block, SIGINT and SIGTERM set the yielded `StopFlag` (and call `on_signal(signum)`
    when given) instead of raising; the previous handlers come back after it. Outside the main
    thread, where handlers cannot be set, the flag simply never rises."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag.signum = signum
        if on_signal is not None:
            on_signal(signum)
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)
