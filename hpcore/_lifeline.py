"""Processes that die with the process that started them, and folders that run one copy at a time.

A trial's processes must not outlive the controller (or worker) that runs the trial, however it
ends: a normal exit, an exception, Ctrl-C, SIGTERM or SIGKILL. Two mechanisms make sure of it:

* **The lifeline**, for programs run by :class:`~hpcore.script.CommandTrainer`. Each process holds
  one pipe whose write end it never writes to and never passes on; its read end goes to a small
  supervisor (:data:`SUPERVISOR`) that starts the program in its own process group and waits. The
  kernel closes the write end when the process holding it dies, for any reason, and from any
  thread: the supervisor reads end-of-file, sends SIGTERM to the program's whole group and, after
  the grace period, SIGKILL. On Linux the program also gets ``PR_SET_PDEATHSIG`` towards the
  (single-threaded) supervisor, so that it dies even if the supervisor is killed.
* :func:`die_with_parent`, for Python worker processes: a thread that waits on the parent's
  sentinel (again a pipe closed by the kernel) and ends the worker, and on Linux
  ``PR_SET_PDEATHSIG`` as well when the parent started the worker from its main thread (the signal
  follows the *thread* that started a process, so a worker started from a short-lived thread
  would be killed with that thread).

A program still running from an earlier controller (during its grace period, say) would run
beside the trial's re-run in the same folder. :func:`record` leaves a pid file in the trial folder
(process id, start time, host), and :func:`stop_leftover` stops that process group before the
folder is used again, when it is still alive on this host and is the same process (a reused pid
has another start time).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["PID_FILE", "SUPERVISOR", "alive", "clear", "die_with_parent", "record", "same_process",
           "start_time", "stop_group", "stop_leftover", "supervised"]

PID_FILE = ".hpcore-pid.json"
_PR_SET_PDEATHSIG = 1

# The supervisor, run as `python -I -S -c SUPERVISOR <lifeline fd> <grace> <program> <args...>`: stdlib
# only, no site, so that it starts in a few milliseconds and never imports the user's environment.
SUPERVISOR = r"""
import os, signal, sys, threading, time
fd, grace, argv = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
me = os.getpid()
linux = sys.platform.startswith("linux")
if linux:
    import ctypes
    libc = ctypes.CDLL(None)
pid = os.fork()
if pid == 0:
    try:
        if linux:
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with this supervisor
        if os.getppid() != me:
            os._exit(1)
        for s in ("SIGPIPE", "SIGXFSZ"):  # ignored by Python, restored for the program (as Popen does)
            if hasattr(signal, s):
                signal.signal(getattr(signal, s), signal.SIG_DFL)
        os.close(fd)
        os.execvp(argv[0], argv)
    except BaseException as exc:
        os.write(2, ("hpcore: cannot start %r: %s\n" % (argv[0], exc)).encode())
    os._exit(127)
cut = threading.Event()
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, lambda *_: None)  # the whole group gets them: wait for the program instead
def watch():
    while os.read(fd, 1):
        pass
    cut.set()  # the process that started the trial is gone: stop the program's group
    os.killpg(0, signal.SIGTERM)
    time.sleep(grace)
    os.killpg(0, signal.SIGKILL)
threading.Thread(target=watch, daemon=True).start()
_, status = os.waitpid(pid, 0)
if cut.is_set():
    os.killpg(0, signal.SIGKILL)
if os.WIFSIGNALED(status):
    try:
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    except (OSError, ValueError):
        pass
    os.kill(me, os.WTERMSIG(status))
os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)
"""

_lock = threading.Lock()
_pipe: tuple[int, int, int] | None = None  # (owner pid, read end, write end)


def _forget_after_fork() -> None:
    """In a forked child: the parent's lifeline is not ours (and our copy of it must not keep it open)."""
    global _pipe
    if _pipe is not None:
        for fd in _pipe[1:]:
            try:
                os.close(fd)
            except OSError:
                pass
    _pipe = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _lifeline_fd() -> int:
    """The read end of this process's lifeline (created on first use; both ends non-inheritable)."""
    global _pipe
    with _lock:
        if _pipe is None or _pipe[0] != os.getpid():
            r, w = os.pipe()
            _pipe = (os.getpid(), r, w)
        return _pipe[1]


def supervised(argv: Sequence[str], grace: float) -> tuple[list[str], tuple[int, ...]]:
    """``argv`` wrapped in the supervisor, and the file descriptors to pass to it (``pass_fds``).

    Start it with ``start_new_session=True``: the supervisor is then the leader of the group that
    :func:`stop_group` stops.
    """
    if not sys.executable:  # an embedded interpreter: run the program as it is
        return list(argv), ()
    fd = _lifeline_fd()
    return [sys.executable, "-I", "-S", "-c", SUPERVISOR, str(fd), repr(float(grace)), *argv], (fd,)


def _pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int, sentinel: int | None, pdeathsig: bool) -> None:
    """Makes this (worker) process end when ``parent_pid`` does.

    Args:
        parent_pid: The pid of the process that started this one.
        sentinel: A file descriptor that becomes readable when the parent dies
            (``multiprocessing.parent_process().sentinel``), or None to poll the parent pid.
        pdeathsig: Also ask the kernel (Linux) for SIGKILL at the parent's death; only when the
            parent started this process from a thread that lives as long as the parent.
    """
    if pdeathsig and _pdeathsig(signal.SIGKILL) and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request was made

    def watch() -> None:
        if sentinel is not None:
            from multiprocessing.connection import wait

            wait([sentinel])
        else:
            while os.getppid() == parent_pid:
                time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="hpcore-lifeline", daemon=True).start()


# -- processes ------------------------------------------------------------------------------------
def start_time(pid: int) -> str | None:
    """A token for when ``pid`` started (None when it is not running or cannot be told)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else fields[19]  # state, ..., starttime (field 22)
    except (OSError, IndexError):
        pass
    if sys.platform.startswith("linux"):
        return None
    try:
        out = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if os.path.exists(f"/proc/{pid}/stat"):
        return start_time(pid) is not None
    return True


def same_process(pid: int, started: str | None) -> bool:
    """Whether ``pid`` still runs and is the process that started at ``started`` (not a reused pid)."""
    return alive(pid) and start_time(pid) == started


def stop_group(pgid: int, grace: float, leader: subprocess.Popen[Any] | None = None) -> None:
    """SIGTERM to a process group, SIGKILL after ``grace`` seconds, then SIGKILL to what is left of it.

    Args:
        pgid: The group (its leader's pid).
        grace: Seconds the leader gets to exit after SIGTERM.
        leader: The leader's ``Popen``, when it is this process's child (it is then reaped).
    """
    def ended() -> bool:
        return leader.poll() is not None if leader is not None else not alive(pgid)

    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        if ended():
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while not ended() and time.monotonic() < deadline:
            time.sleep(0.02)
    try:  # processes the program started and left behind in its group
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# -- pid files ------------------------------------------------------------------------------------
def record(folder: str, pid: int) -> None:
    """Notes in ``folder`` that ``pid`` (a group leader) runs there."""
    data = {"pid": pid, "started": start_time(pid), "host": socket.gethostname()}
    tmp = os.path.join(folder, PID_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, os.path.join(folder, PID_FILE))


def clear(folder: str) -> None:
    """Removes the pid file of ``folder`` (its process has ended)."""
    try:
        os.remove(os.path.join(folder, PID_FILE))
    except FileNotFoundError:
        pass


def stop_leftover(folder: str, grace: float) -> int | None:
    """Stops the process group an earlier run left running in ``folder``; returns its pid, or None.

    Only a process on this host, still alive, with the start time the pid file recorded is stopped:
    a pid reused by an unrelated process is left alone.
    """
    try:
        with open(os.path.join(folder, PID_FILE), encoding="utf-8") as fh:
            data = json.load(fh)
        pid, started, host = int(data["pid"]), data.get("started"), data.get("host")
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if host != socket.gethostname() or started is None or not same_process(pid, started):
        clear(folder)
        return None
    stop_group(pid, grace)
    clear(folder)
    return pid
