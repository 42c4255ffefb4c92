"""The reporter: how a running trial sends intermediate metrics and learns it should stop."""

from __future__ import annotations

import contextvars
import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpcore.trialfiles import Checkpoint, TrialFiles

__all__ = ["Reporter", "current_reporter"]

_current: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("hpcore_reporter", default=None)


def current_reporter() -> Reporter | None:
    """The reporter of the trial running in this thread or process, or ``None`` outside a job.

    Trainer callbacks use it to find their trial without being handed anything.
    """
    return _current.get()


class Reporter:
    """Passed to the training function as its second argument.

    ``report(step, **metrics)`` records intermediate metrics and returns True when the trial should
    stop (an early-stopping decision, or the job's runtime running out). Once True, it stays True.

    Args:
        trial_id: The trial's number.
        params: The trial's hyperparameters.
        send: Delivers ``(step, metrics)`` to the job's controller and returns its stop decision.
        attempt: 0 for the first run of the trial, then 1, 2 ... for retries.
        threads: CPU threads this trial may use.
        files: The trial's artifact folder (a :class:`~hpcore.trialfiles.TrialFiles`); by
            default a temporary folder, made on first use.

    Example:
        >>> r = Reporter(0, {"lr": 0.1}, send=lambda step, metrics: step >= 2)
        >>> [r.report(step, loss=1.0 / step) for step in (1, 2)]
        [False, True]
    """

    def __init__(self, trial_id: int, params: dict[str, Any],
                 send: Callable[[int, dict[str, float]], bool] | None = None,
                 attempt: int = 0, threads: int | None = None, files: TrialFiles | None = None) -> None:
        self.trial_id = trial_id
        self.params = params
        self.attempt = attempt
        self.threads = threads
        self._send = send
        self.should_stop = False
        self.last_step: int | None = None
        self.last_metrics: dict[str, float] = {}
        self._token: contextvars.Token[Reporter | None] | None = None
        self._files = files

    def report(self, step: int | None = None, **metrics: float) -> bool:
        """Sends intermediate metrics at ``step`` (1, 2, ... when omitted).

        Args:
            step: A step counter that grows over the trial (epoch, iteration, validation count).
            **metrics: Metric names and numbers, for example ``auc=0.91, loss=0.3``.

        Returns:
            True when the trial should stop now.

        Raises:
            TypeError: When a metric is not a number, or no metric is given.
        """
        if not metrics:
            raise TypeError("report() needs at least one metric, for example reporter.report(epoch, auc=0.9)")
        clean: dict[str, float] = {}
        for k, v in metrics.items():
            if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 0) == 0:  # numpy, torch scalars
                v = v.item()
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"report(): metric {k}={v!r} is not a number (report one number per metric; "
                                "return lists or arrays as metrics of the result instead)")
            try:
                clean[k] = float(v)
            except OverflowError:
                raise TypeError(f"report(): metric {k} is too large for a float") from None
        if step is None:
            step = (self.last_step or 0) + 1
        step = int(step)
        self.last_step = step
        self.last_metrics = clean
        if self._send is not None and not self.should_stop:
            self.should_stop = bool(self._send(step, clean))
        return self.should_stop

    # -- artifacts --------------------------------------------------------------------------------
    @property
    def files(self) -> TrialFiles:
        """The trial's artifact folder: see :mod:`hpcore.trialfiles`."""
        if self._files is None:
            from hpcore.trialfiles import TrialFiles

            self._files = TrialFiles(None)
        return self._files

    @property
    def artifact_dir(self) -> str:
        """A local folder for the trial's files, created on first use: what is written there is kept
        with the trial (listed in the store, shown by ``result.trials[i].artifacts``)."""
        return self.files.dir

    def save_checkpoint(self, state: Any = None, *, step: int | None = None,
                        write: Callable[[str], None] | None = None) -> str:
        """Saves a checkpoint from which a run of this trial that starts again continues.

        Written atomically (a checkpoint whose writer is killed halfway is never loaded); only the
        newest is kept, and checkpoints are deleted when the trial ends.

        Args:
            state: Anything picklable (weights, optimizer state, the epoch ...), or None.
            step: The last step the state includes; by default the last reported step.
            write: ``write(folder)`` saves framework files (a ``.ckpt``, a ``.keras``) into ``folder``.

        Returns:
            The checkpoint's location.
        """
        if step is None:
            step = self.last_step or 0
        return self.files.save_checkpoint(state, int(step), write)

    def load_checkpoint(self) -> Checkpoint | None:
        """The last checkpoint an earlier run of this trial saved, or None on a first run.

        When there is one, the trial's step counter continues after the checkpoint's step, so its
        next ``report()`` without a step is step ``checkpoint.step + 1``.

        Example:
            >>> r = Reporter(0, {})
            >>> r.load_checkpoint() is None
            True
            >>> _ = r.save_checkpoint({"epoch": 3}, step=3)
            >>> r.load_checkpoint().state
            {'epoch': 3}
        """
        ckpt = self.files.load_checkpoint()
        if ckpt is not None and (self.last_step is None or self.last_step < ckpt.step):
            self.last_step = ckpt.step
        return ckpt

    def save_model(self, model: Any = None, *, format: str = "pickle", filename: str | None = None,
                   write: Callable[[str], None] | None = None, **info: Any) -> str:
        """Saves the trial's model, for ``result.best.load_model()`` to return it.

        Args:
            model: The object to keep; pickled unless ``write`` is given.
            format: A registered model format (``pickle``, ``lightning``, ``keras``, ``xgboost``...):
                the loader that reads it back.
            filename: The file's name under ``model/`` (default ``model.pkl``).
            write: ``write(path)`` writes the model file at ``path`` (a framework's own save).
            **info: JSON values the loader needs (the model's class, say).

        Returns:
            The model file's local path.
        """
        if write is None:
            import pickle

            def write(path: str) -> None:
                with open(path, "wb") as f:
                    pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
        return self.files.save_model(format, filename or "model.pkl", write, **info)

    def last(self, name: str) -> float | None:
        """The last reported value of a metric, if finite."""
        v = self.last_metrics.get(name)
        return v if v is not None and math.isfinite(v) else None

    def __enter__(self) -> Reporter:
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
