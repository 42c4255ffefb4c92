"""Runs trials as tasks on a Dask cluster (``executor="dask"``); the controller stays here.

Each run of a trial is one Dask task (see :mod:`hpcore.executors._dask_worker`). The task streams
its reports to the controller as scheduler events and waits for each stop decision on a
``distributed.Queue``: both go through the scheduler, so the controller needs nothing but the
scheduler's port, and the durable store stays with the controller.

Failures, as the job sees them:

* a worker process that dies mid-trial: Dask re-runs the task elsewhere; its second ``start`` is
  refused and the run is returned as ``crash`` (retried by the job up to ``max_retries``), once
  per death. A task Dask gives up on (``KilledWorker``) is a ``crash`` too.
* a trial past ``trial_timeout`` (counted from its start on a worker): its task is cancelled and
  its worker restarted through its nanny (a Python thread cannot be interrupted), ``timeout``.
* a controller that dies or stops (SIGKILL, Ctrl-C, SIGTERM): the scheduler releases its tasks
  and each trial still running is interrupted on its worker, freeing it (see
  :mod:`hpcore.executors._dask_worker`).
* a scheduler that does not answer within ``connect_timeout``: :class:`~hpcore.ConfigError`.
* a training function that cannot be pickled here, or unpickled (imported) on the workers:
  :class:`~hpcore.ConfigError` at start, naming it.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import queue
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hpcore.errors import ConfigError
from hpcore.executors import _dask_worker as remote
from hpcore.executors.base import Executor, Outcome, ReportFn, Task, describe
from hpcore.hookspec import hookimpl

__all__ = ["DaskExecutor"]

log = logging.getLogger("hpcore")


@dataclass
class _Run:
    task: Task
    future: Any
    replies: Any
    worker: str | None = None
    started: float | None = None
    last_step: int | None = None
    last_metrics: dict[str, float] = field(default_factory=dict)


class DaskExecutor(Executor):
    """Runs up to ``max_parallel`` trials at once as tasks on a Dask cluster.

    With neither ``client`` nor ``address``, a ``LocalCluster`` of ``max_parallel`` single-threaded
    worker processes starts here and closes at shutdown. The training function (and hpcore) must be
    importable on the workers; lambdas and closures are sent by value (cloudpickle).

    Args:
        max_parallel: Trials submitted at once (Dask queues them when the workers are fewer).
        trial_timeout: Seconds from a trial's start on a worker before it is cancelled, its worker
            restarted, and the trial recorded as timed out.
        threads: CPU threads per trial (default: each worker's share of its host's cores).
        client: A connected ``distributed.Client`` to use (left open at shutdown).
        address: The scheduler's address, for example ``tcp://10.0.0.5:8786``.
        resources: Dask worker resources each trial needs, for example ``{"GPU": 1}``.
        connect_timeout: Seconds to wait for the scheduler at ``address``.
        cluster_options: Extra ``LocalCluster`` arguments (``n_workers``, ``resources``...).
        orphan_timeout: Seconds a trial whose controller is gone (or that was cancelled) gets to
            return once interrupted, before its worker process is ended for its nanny to restart.

    Example:
        >>> from hpcore.executors.dask import DaskExecutor
        >>> ex = DaskExecutor(max_parallel=2, resources={"GPU": 1})
        >>> ex.resources
        {'GPU': 1}
        >>> ex.start(my_module.train, on_report=lambda t, s, m: False)  # doctest: +SKIP
    """

    name = "dask"

    def __init__(self, max_parallel: int = 2, trial_timeout: float | None = None, threads: int | None = None,
                 client: Any = None, address: str | None = None, resources: dict[str, float] | None = None,
                 connect_timeout: float = 10.0, cluster_options: dict[str, Any] | None = None,
                 orphan_timeout: float = 30.0) -> None:
        if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
            raise ConfigError(f"max_parallel={max_parallel!r}: use a whole number >= 1")
        if client is not None and address is not None:
            raise ConfigError("executor 'dask': give either client= or address=, not both")
        if address is not None and (not isinstance(address, str) or not address):
            raise ConfigError(f"executor 'dask': address={address!r} should look like 'tcp://host:8786'")
        for res, amount in (resources or {}).items():
            if not isinstance(res, str) or isinstance(amount, bool) or not isinstance(amount, (int, float)) \
                    or amount <= 0:
                raise ConfigError(f"executor 'dask': resources={resources!r}: use names and positive amounts, "
                                  "for example {'GPU': 1}")
        if not (isinstance(connect_timeout, (int, float)) and connect_timeout > 0):
            raise ConfigError(f"executor 'dask': connect_timeout={connect_timeout!r}: use seconds > 0")
        if not (isinstance(orphan_timeout, (int, float)) and orphan_timeout > 0):
            raise ConfigError(f"executor 'dask': orphan_timeout={orphan_timeout!r}: use seconds > 0")
        self.max_parallel = max_parallel
        self.trial_timeout = trial_timeout
        self.orphan_timeout = float(orphan_timeout)
        self.threads = threads
        self.address = address
        self.resources = dict(resources) if resources else None
        self.connect_timeout = float(connect_timeout)
        self.cluster_options = dict(cluster_options or {})
        self._given_client = client
        self._client: Any = None
        self._cluster: Any = None
        self._train: Callable[..., Any] | None = None
        self._on_report: ReportFn | None = None
        self._topic = ""
        self._shares: dict[str, int] = {}
        self._runs: dict[str, _Run] = {}
        self._inbox: queue.Queue[list[Any]] = queue.Queue()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, train: Callable[..., Any], on_report: ReportFn) -> None:
        try:
            import distributed
        except ImportError:
            raise ConfigError("executor 'dask' needs dask.distributed: pip install 'hpcore[dask]'") from None
        from distributed.protocol.pickle import dumps

        try:
            payload = dumps(train)
        except (pickle.PicklingError, TypeError, AttributeError, ValueError) as exc:
            raise ConfigError(f"the training function {describe(train)} cannot be pickled for the Dask workers "
                              f"({exc}); define it in an importable module, without open files, locks or "
                              "connections in its closure") from None
        self._train, self._on_report = train, on_report
        self._client = self._connect(distributed)
        self._topic = f"hpcore-{uuid.uuid4().hex}"
        # Called on the client's event-loop thread: only queue the event, the controller thread acts on it.
        self._client.subscribe_topic(self._topic, lambda event: self._inbox.put(event[1]))
        self._shares = self._thread_shares()
        self._check_workers_load(payload)

    def _connect(self, distributed: Any) -> Any:
        if self._given_client is not None:
            return self._given_client
        if self.address is not None:
            try:
                return distributed.Client(self.address, timeout=self.connect_timeout, set_as_default=False)
            except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
                raise ConfigError(
                    f"executor 'dask': no Dask scheduler answered at {self.address!r} within "
                    f"{self.connect_timeout:g}s ({exc}); start one with `dask scheduler`, check the address "
                    "and that its port is open from this machine, or raise connect_timeout") from None
        options = {"n_workers": self.max_parallel, "threads_per_worker": 1, "processes": True,
                   "dashboard_address": ":0", **self.cluster_options}
        self._cluster = distributed.LocalCluster(**options)
        return distributed.Client(self._cluster, set_as_default=False)

    def _thread_shares(self) -> dict[str, int]:
        """Threads per trial on each host: its cores // the worker threads it runs."""
        from distributed.comm import get_address_host

        workers = self._client.scheduler_info(n_workers=-1).get("workers", {})
        cores = self._client.run(remote.host_cores) if workers else {}
        slots: dict[str, int] = {}
        host_cores: dict[str, int] = {}
        for addr, info in workers.items():
            host = get_address_host(addr)
            slots[host] = slots.get(host, 0) + int(info.get("nthreads", 1))
            host_cores[host] = max(host_cores.get(host, 1), int(cores.get(addr, 1)))
        return {h: max(1, host_cores[h] // max(1, n)) for h, n in slots.items()}

    def _check_workers_load(self, payload: bytes) -> None:
        """Fails at start, naming the function, when a worker cannot import it."""
        try:
            answers = self._client.run(remote.load_check, payload)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"executor 'dask': the workers cannot import hpcore ({exc}); install hpcore "
                              "(same version) on every worker") from None
        bad = {w: why for w, why in answers.items() if why}
        if bad:
            worker, why = next(iter(bad.items()))
            self.shutdown()
            raise ConfigError(
                f"the training function {describe(self._train)} cannot be loaded on the Dask worker(s) "
                f"{', '.join(sorted(bad))} ({why}); make its module importable there (install it, or "
                "client.upload_file(...) for a single file)")

    def shutdown(self) -> None:
        client, self._client = self._client, None
        runs, self._runs = self._runs, {}
        if client is None:
            return
        try:
            if runs:
                client.cancel([r.future for r in runs.values()])
            for r in runs.values():
                r.replies.close()
            client.unsubscribe_topic(self._topic)
        except (OSError, TimeoutError, RuntimeError) as exc:  # a scheduler already gone: nothing to tell it
            log.debug("dask executor: while shutting down: %s", exc)
        if client is not self._given_client:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    # -- scheduling ---------------------------------------------------------------------------
    def free_slots(self) -> int:
        return self.max_parallel - len(self._runs) if self._client is not None else 0

    def running(self) -> list[int]:
        return [r.task.trial_id for r in self._runs.values()]

    def submit(self, task: Task) -> None:
        from distributed import Queue

        assert self._client is not None, "start() first"
        if self.free_slots() <= 0:
            raise RuntimeError("no free slot: check free_slots() before submit()")
        if task.threads is None:
            task.threads = self.threads  # None: the worker takes its share of its host's cores
        key = f"hpcore-trial-{task.trial_id}-{task.attempt}-{uuid.uuid4().hex[:8]}"
        replies = Queue(remote.reply_queue_name(key), client=self._client)
        future = self._client.submit(remote.run_task, self._train, task, self._topic, key, self._shares,
                                     self.orphan_timeout, key=key, pure=False, resources=self.resources)
        self._runs[key] = _Run(task, future, replies)
        future.add_done_callback(lambda _f, k=key: self._inbox.put(["done", k]))

    def poll(self, timeout: float) -> list[Outcome]:
        assert self._on_report is not None, "start() first"
        out: list[Outcome] = []
        wait_for = timeout
        if self.trial_timeout is not None:
            starts = [r.started for r in self._runs.values() if r.started is not None]
            if starts:
                wait_for = max(0.0, min(timeout, min(starts) + self.trial_timeout - time.time()))
        try:
            msg = self._inbox.get(timeout=wait_for)
            while True:  # handle everything already here before returning
                self._handle(msg, out)
                msg = self._inbox.get_nowait()
        except queue.Empty:
            pass
        if self.trial_timeout is not None:
            now = time.time()
            for key, run in list(self._runs.items()):
                if run.started is not None and now - run.started > self.trial_timeout:
                    out.append(self._time_out(key))
        return out

    # -- messages -----------------------------------------------------------------------------
    def _handle(self, msg: list[Any], out: list[Outcome]) -> None:
        kind, key = msg[0], msg[1]
        run = self._runs.get(key)
        if kind == "done":
            if run is not None:
                out.append(self._finished(key))
        elif kind == "start":
            if run is None:  # cancelled or already ended: the task has nothing to do
                self._reply_to(key, False)
            elif run.worker is None:
                run.worker, run.started = msg[2], time.time()
                run.replies.put(True)
            else:
                run.replies.put(False)
                out.append(self._end(key, "crash", f"the Dask worker {run.worker} running the trial died or was "
                                                   f"lost; Dask started the trial again on {msg[2]}, counted as a "
                                                   "crash (a retry runs as the next attempt)"))
        elif kind == "report":
            if run is None:
                self._reply_to(key, True)
                return
            assert self._on_report is not None
            run.last_step, run.last_metrics = msg[2], dict(msg[3])
            run.replies.put(bool(self._on_report(run.task.trial_id, msg[2], run.last_metrics)))

    def _reply_to(self, key: str, value: bool) -> None:
        """Answers a task this executor no longer tracks (its queue may be gone: then nobody waits)."""
        from distributed import Queue

        q = Queue(remote.reply_queue_name(key), client=self._client)
        q.put(value)
        q.close()

    def _finished(self, key: str) -> Outcome:
        from distributed import KilledWorker

        run = self._runs[key]
        future = run.future
        if future.status == "finished":
            try:
                # Bounded: a worker dying before the result is fetched makes Dask re-run the task,
                # whose start this thread would have to answer.
                result = future.result(timeout=30)
            except (TimeoutError, asyncio.TimeoutError):
                return self._end(key, "crash", "the trial's result was lost with its Dask worker")
            if isinstance(result, Outcome):
                self._runs.pop(key).replies.close()
                return result
            return self._end(key, "crash", "the trial's Dask task was run again after its worker died")
        if future.status == "cancelled":
            return self._end(key, "crash", "the trial's Dask task was cancelled by the cluster "
                                           "(scheduler restarted or connection lost)")
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            return self._end(key, "crash", f"Dask gave up on the trial's task: {exc}")
        import traceback

        tb = "".join(traceback.format_exception(type(exc), exc, future.traceback()))
        return self._end(key, "error", f"the Dask task running {describe(self._train)} failed on its worker:\n{tb}")

    def _time_out(self, key: str) -> Outcome:
        run = self._runs[key]
        outcome = self._end(key, "timeout", f"trial ran longer than trial_timeout={self.trial_timeout}s; "
                                            f"its Dask worker {run.worker} was restarted")
        if run.worker is not None:
            # The trial's thread cannot be interrupted: restart its worker process (needs a nanny).
            status = self._client.restart_workers([run.worker], timeout=60, raise_for_error=False)
            if status.get(run.worker) != "OK":
                log.warning("could not restart Dask worker %s after trial %d timed out (%s): its thread stays "
                            "busy until the trial returns", run.worker, run.task.trial_id, status.get(run.worker))
        return outcome

    def _end(self, key: str, kind: str, error: str) -> Outcome:
        run = self._runs.pop(key)
        run.future.cancel()
        run.replies.close()
        return Outcome(run.task.trial_id, run.task.attempt, kind, error=error, last_step=run.last_step,
                       last_metrics=run.last_metrics, started=run.started or 0.0, finished=time.time())


@hookimpl
def hpcore_add_executors() -> dict[str, Any]:
    return {"dask": DaskExecutor}
