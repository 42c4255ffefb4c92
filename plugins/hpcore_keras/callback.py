"""The Keras 3 callback: reports the monitored metric after each epoch, stops via ``model.stop_training``,
keeps the trial's model (``model/model.keras``) and checkpoints from which a rerun of the trial continues.

It imports ``keras`` (never ``tensorflow``), so it runs on any Keras 3 backend: torch, JAX or TF.
"""

from __future__ import annotations

import os
from typing import Any

import keras
from hpcore_adapters import DEFAULT_BUDGET, CheckpointSchedule, LinkedCallback, TrialLink, numeric_metrics

import hpcore

__all__ = ["CHECKPOINT_FILE", "MODEL_FILE", "TuningCallback"]

MODEL_FILE = "model.keras"  # the trial's model: <trial folder>/model/model.keras
CHECKPOINT_FILE = "model.keras"  # in the checkpoint's folder: weights, optimizer state and config


class TuningCallback(LinkedCallback, keras.callbacks.Callback):
    """Reports ``monitor`` to the running hpcore trial at the end of each epoch and stops when told;
    keeps the trial's model and checkpoints.

    It finds the trial itself (:func:`hpcore.current_reporter`); outside a tuning job it warns once and
    does nothing. Each ``fit`` starts afresh and its steps continue from the trial's last reported step,
    so several fits in one trial never report the same step twice. All numeric logs of the epoch are
    reported, so the job's ``objective`` can be any of them.

    At the end of the fit (also when hpcore stopped it) the model is saved as a ``.keras`` file
    (``model/model.keras`` in the trial's folder: ``result.best.load_model()`` returns it). Every
    ``checkpoint_every`` steps (less often when epochs are so short that checkpoints would take
    more than ``checkpoint_budget`` of the time) the fit saves a checkpoint of the weights and the optimizer's state
    (a ``.keras`` file); a rerun of the trial (``max_retries``, ``crash_retries``, a resumed job)
    continues from it with :meth:`restore`::

        cb = TuningCallback(monitor="val_auc")
        initial_epoch = cb.restore(model)  # 0 on a first run
        model.fit(x, y, epochs=E, initial_epoch=initial_epoch, callbacks=[cb])

    One epoch is one step, so a fit resumed after the checkpoint of epoch ``k`` reports steps
    ``k + 1 .. E``, following the reports the job kept.

    Args:
        monitor: A key of the epoch's logs (``val_loss``, ``val_auc`` ...).
        report_as: Also report the monitored value under this name (the job's ``objective``).
        save_model: Save the model at the end of the fit, inside a trial.
        checkpoint_every: Save a checkpoint after at least this many steps (epochs); 0 or None: never.
        checkpoint_budget: The largest share of the training time checkpoints may take (very short
            epochs space them out further, see :class:`hpcore_adapters.CheckpointSchedule`); None:
            exactly every ``checkpoint_every`` epochs.

    Attributes:
        stop_reason: Why the last fit was stopped, or None.

    Example:
        >>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")
        'torch'
        >>> import hpcore, keras, numpy as np
        >>> from hpcore_keras import TuningCallback
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> net.compile(optimizer="adam", loss="mse")
        >>> x = np.ones((4, 2), "float32")
        >>> with hpcore.Reporter(0, {}) as reporter:
        ...     cb = TuningCallback(monitor="loss", checkpoint_every=2, checkpoint_budget=None)
        ...     _ = net.fit(x, x[:, :1], epochs=3, verbose=0, callbacks=[cb])
        ...     os.listdir(os.path.join(reporter.artifact_dir, "model"))
        ...     TuningCallback(monitor="loss").restore(net)  # what a rerun of the trial would do
        ['model.keras']
        2
    """

    def __init__(self, monitor: str = "val_loss", report_as: str | None = None, save_model: bool = True,
                 checkpoint_every: int | None = 5, checkpoint_budget: float | None = DEFAULT_BUDGET) -> None:
        super().__init__()
        if checkpoint_every is not None and (isinstance(checkpoint_every, bool) or not isinstance(
                checkpoint_every, int) or checkpoint_every < 0):
            raise ValueError(f"checkpoint_every={checkpoint_every!r}: give a number of epochs (0 or None: never)")
        self._link = TrialLink(monitor, "Keras", report_as=report_as)
        self.save_model = bool(save_model)
        self.checkpoint_every = checkpoint_every or 0
        self._schedule = CheckpointSchedule(self.checkpoint_every, checkpoint_budget)

    # -- resuming ---------------------------------------------------------------------------------
    def restore(self, model: Any) -> int:
        """Loads the trial's last checkpoint into ``model`` and returns the epochs it already trained.

        The weights and the optimizer's state (its moments, its iteration count: learning-rate
        schedules continue too) are loaded into the compiled ``model``; pass the result as
        ``fit(initial_epoch=...)``. The trial's step counter continues after the checkpoint's step,
        so the fit's reports follow those the job kept. Call it before ``fit``, once per run.

        Args:
            model: The trial's model, built (its ``Input`` known) and compiled, as the first run made it.

        Returns:
            The number of epochs the checkpoint holds; 0 when there is none (a first run, or
            outside a tuning job), and then ``model`` is left as it is.

        Raises:
            ValueError: When ``model`` is not compiled or not built, or the checkpoint is not one
                this callback saved.
        """
        reporter = hpcore.current_reporter()
        if reporter is None:
            return 0
        ckpt = reporter.load_checkpoint()
        if ckpt is None:
            return 0
        path = os.path.join(ckpt.path, CHECKPOINT_FILE)
        if not os.path.exists(path):
            raise ValueError(f"the trial's checkpoint at step {ckpt.step} has no {CHECKPOINT_FILE}: it was not saved "
                             "by hpcore_keras.TuningCallback, so restore() cannot load it")
        if getattr(model, "optimizer", None) is None:
            raise ValueError("restore(model): compile the model first (its optimizer's state is restored too)")
        if not model.built:
            raise ValueError("restore(model): build the model first (keras.Input, or model.build(shape))")
        if not model.optimizer.built:  # an optimizer without its variables would skip their loading
            model.optimizer.build(model.trainable_variables)
        model.load_weights(path)
        state = ckpt.state if isinstance(ckpt.state, dict) else {}
        return int(state.get("epoch", ckpt.step))

    # -- Keras hooks ------------------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._link.begin()
        self._schedule.begin()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        stop = self._link.report(numeric_metrics(logs or {}))
        if stop:
            self.model.stop_training = True
        step = self._link.last_step
        # A stopped trial ends now: nobody would resume from it.
        if self._schedule.due() and self._reporter is not None and step and not stop:
            self._schedule.timed(lambda: self.save_checkpoint(epoch + 1, step))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.save_model and self._reporter is not None:
            model = self.model
            self._reporter.save_model(format="keras", filename=MODEL_FILE, write=lambda path: model.save(path),
                                      keras=keras.__version__, backend=keras.backend.backend())

    def save_checkpoint(self, epochs: int, step: int) -> str:
        """Saves a checkpoint of the model now: ``epochs`` trained in total, at trial step ``step``.

        The callback calls it every ``checkpoint_every`` epochs; call it yourself for other schedules.
        """
        if self._reporter is None:
            raise RuntimeError("save_checkpoint: the callback is not in a fit inside a tuning trial")
        model = self.model
        return self._reporter.save_checkpoint(
            {"epoch": int(epochs)}, step=int(step),
            write=lambda folder: model.save(os.path.join(folder, CHECKPOINT_FILE)))

    @property
    def _reporter(self) -> Any:
        # The trial's Reporter: Keras trains in the trial's own process, so the link's sink is it.
        sink = self._link.sink
        return sink if hasattr(sink, "save_checkpoint") else None
