"""Telling the user's Ctrl-C from a training function that exits or raises KeyboardInterrupt itself.

A training function can end its trial in ways that look like the end of the whole program:
``sys.exit()`` (argparse does it on a bad option), ``raise KeyboardInterrupt``, or a library doing
either. Those are the trial's failures. Only the user's own Ctrl-C (a SIGINT delivered to this
process) interrupts the job. :func:`watch_sigint` marks SIGINTs that arrive while a trial runs, so
:func:`run_trial <hpcore.executors.base.run_trial>` can tell the two apart; and :func:`alarm` turns a
trial timeout into an exception inside a training function that never returns to hpcore.
:func:`sigterm_interrupts` makes a SIGTERM (``kill``, a batch scheduler ending the job) interrupt
the job as Ctrl-C does: the job is recorded as interrupted, and its trials are stopped.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["TrialTimeout", "alarm", "alarm_deferred", "can_alarm", "sigterm_interrupts", "watch_sigint"]


# A BaseException, so that an `except Exception` in the training code lets it through.
class TrialTimeout(BaseException):
    """Raised inside a training function whose trial ran past its timeout."""


class SigintWatch:
    """Whether the process received SIGINT while the watch was on."""

    def __init__(self) -> None:
        self.pressed = False


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def watch_sigint() -> Iterator[SigintWatch]:
    """Marks SIGINTs received while the block runs, then lets them act as before (KeyboardInterrupt).

    Off the main thread no signal handler can be installed, and no SIGINT reaches that thread as a
    KeyboardInterrupt either: a KeyboardInterrupt raised there comes from the code it runs.
    """
    watch = SigintWatch()
    if not _main_thread():
        yield watch
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        watch.pressed = True
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield watch
    finally:
        signal.signal(signal.SIGINT, previous)


def can_alarm() -> bool:
    """True where :func:`alarm` can interrupt a training function (POSIX, main thread)."""
    return hasattr(signal, "setitimer") and _main_thread()


@contextmanager
def alarm(seconds: float | None) -> Iterator[None]:
    """Raises :class:`TrialTimeout` in this (main) thread after ``seconds``; a no-op when it cannot.

    A timer armed by someone else (a test runner's timeout, say) is kept: it is re-armed with its
    remaining time afterwards, and when it is due first the trial's timer is not armed.
    """
    if seconds is None or not can_alarm():
        yield
        return
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if outer_delay and outer_delay <= seconds:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise TrialTimeout(f"ran longer than trial_timeout={seconds:g}s")

    began = time.monotonic()
    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            left = max(1e-3, outer_delay - (time.monotonic() - began))
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)


@contextmanager
def alarm_deferred() -> Iterator[None]:
    """Holds back a trial's timeout while the controller's own code runs (recording a report)."""
    if not can_alarm():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        yield
    finally:  # a timeout that came meanwhile is raised here, back in the trial's code
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})


def _sigterm(signum: int, frame: Any) -> None:
    """SIGTERM as the user's Ctrl-C: through the SIGINT handler in force (so watch_sigint sees it)."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and handler is not _sigterm:
        handler(signal.SIGINT, frame)
    raise KeyboardInterrupt  # a handler that returned, or SIGINT ignored: SIGTERM still ends the job


def sigterm_interrupts() -> Callable[[], None]:
    """Makes SIGTERM raise KeyboardInterrupt, as Ctrl-C does; returns the function that undoes it.

    Only in the main thread, and only over the default action: a handler someone else installed
    (a framework's, the user's own) is left in place.

    Example:
        >>> restore = sigterm_interrupts()
        >>> restore()
    """
    if not _main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        return lambda: None
    signal.signal(signal.SIGTERM, _sigterm)

    def restore() -> None:
        if _main_thread() and signal.getsignal(signal.SIGTERM) is _sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    return restore
