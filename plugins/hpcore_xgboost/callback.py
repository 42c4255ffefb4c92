"""The XGBoost callback: reports an evaluation metric after each boosting round, stops by returning True,
checkpoints the booster and saves it as the trial's model."""

from __future__ import annotations

import json
import os
from typing import Any

import xgboost as xgb
from hpcore_adapters import DEFAULT_BUDGET, CheckpointSchedule, LinkedCallback, TrialLink

import hpcore

__all__ = ["TuningCallback", "flatten_evals_log"]

MODEL_FILE = "model.json"  # the trial's model: model/model.json
# The booster in a checkpoint's folder: xgboost's binary JSON (UBJSON), as exact as JSON and 4-5 times
# faster to write (benchmarks/ckpt_xgboost.py); restore() also reads a booster.json.
BOOSTER_FILE = "booster.ubj"
BOOSTER_FILES = (BOOSTER_FILE, "booster.json")


def flatten_evals_log(evals_log: dict[str, dict[str, list[Any]]]) -> dict[str, float]:
    """The last round's scores as ``{"<data>-<metric>": value}``.

    ``<data>`` is the name given in ``evals=[(dvalid, "validation")]`` (native API), ``validation_0``,
    ``validation_1`` ... for the sklearn API's ``eval_set``, or ``train``/``test`` under ``xgb.cv``,
    where each score is a ``(mean, std)`` pair over the folds: the mean is reported under the name
    and the standard deviation under ``<name>-std``.

    Example:
        >>> flatten_evals_log({"test": {"auc": [(0.7, 0.02), (0.8, 0.01)]}, "train": {"auc": [0.9]}})
        {'test-auc': 0.8, 'test-auc-std': 0.01, 'train-auc': 0.9}
    """
    out: dict[str, float] = {}
    for data, metrics in evals_log.items():
        for metric, scores in metrics.items():
            if not scores:
                continue
            key, last = f"{data}-{metric}", scores[-1]
            if isinstance(last, (tuple, list)):
                out[key], out[f"{key}-std"] = float(last[0]), float(last[1])
            else:
                out[key] = float(last)
    return out


class TuningCallback(LinkedCallback, xgb.callback.TrainingCallback):
    """Reports ``monitor`` to the running hpcore trial, checkpoints the booster, saves the final model.

    Works with ``xgb.train``, the sklearn estimators (pass it to the constructor:
    ``XGBClassifier(callbacks=[cb])``, xgboost >= 2.1 no longer takes callbacks in ``fit``) and
    ``xgb.cv`` (the mean over folds). ``before_training`` resets it and its steps continue from the
    trial's last step, so an estimator or callback reused across fits, folds or refits never reports
    a step twice. Every flattened score of the round is reported.

    A step is a boosting round, whatever the reporting interval: with ``interval=k`` the steps
    reported are rounds ``k, 2k, ...`` and the last round, so trials reporting at different
    intervals, and early-stopping rules, still compare the same rounds.

    **The model.** At the end of each training inside a trial, with ``save_model=True``, the booster
    is saved as JSON (``model/model.json``, format ``xgboost``): ``result.best.load_model()`` gives
    an ``xgb.Booster``, ``result.best.load_model(model_class=xgb.XGBClassifier)`` (or any xgboost
    sklearn class) that estimator, ready to predict. A callback reused over several fits keeps the
    last one's. Put it after an ``xgb.callback.EarlyStopping(save_best=True)`` to keep the best
    iteration's trees. ``xgb.cv`` trains no single model: nothing is saved or checkpointed.

    **Checkpoints and resuming.** Every ``checkpoint_every`` reports (or less often, when rounds
    are so fast that checkpoints would take more than ``checkpoint_budget`` of the time) the booster
    is checkpointed (``reporter.save_checkpoint``, at the step just reported; ``booster.ubj``,
    xgboost's binary JSON). A trial run again (``max_retries``, a crashed worker) continues from it
    with one line before training::

        model, done = cb.restore()        # (None, 0) on a first run
        booster = xgb.train(params, dtrain, num_boost_round=rounds - done, xgb_model=model,
                            evals=[(dvalid, "validation")], callbacks=[cb])
        # sklearn API: XGBClassifier(n_estimators=rounds - done, callbacks=[cb]).fit(X, y,
        #              xgb_model=model, eval_set=[(X_valid, y_valid)])

    The reported steps continue after the checkpoint's. Without row or column subsampling (and
    with a fixed ``nthread``) the resumed booster is the one an uninterrupted run would give;
    ``subsample``/``colsample_*`` < 1 draw other rows after a resume (xgboost does not save its
    random state), a different but equally valid run.

    Args:
        monitor: ``"<data>-<metric>"``, for example ``validation-auc``, ``validation_0-logloss``
            (sklearn ``eval_set``) or ``test-auc`` (``xgb.cv``).
        report_as: Also report the monitored value under this name (the job's ``objective``).
        interval: Report every ``interval`` rounds (and the last one), for rounds so fast that a report
            per round would cost more than 1% of the training time.
        save_model: Save the booster at the end of training as the trial's model.
        checkpoint_every: Checkpoint the booster after at least this many reports; 0 or None: never.
        checkpoint_budget: The largest share of the training time checkpoints may take (rounds of a
            few milliseconds space them out further, see :class:`hpcore_adapters.CheckpointSchedule`);
            None: exactly every ``checkpoint_every`` reports.

    Attributes:
        stop_reason: Why the last training was stopped, or None.

    Example:
        >>> import numpy as np, xgboost as xgb
        >>> import hpcore
        >>> from hpcore_xgboost import TuningCallback
        >>> d = xgb.DMatrix(np.random.rand(32, 3), label=np.random.rand(32))
        >>> cb = TuningCallback(monitor="train-rmse", checkpoint_every=2, checkpoint_budget=None)
        >>> with hpcore.Reporter(0, {}) as reporter:  # what a tuning job does around a trial
        ...     model, done = cb.restore()
        ...     _ = xgb.train({"nthread": 1}, d, num_boost_round=5 - done, xgb_model=model,
        ...                   evals=[(d, "train")], callbacks=[cb], verbose_eval=False)
        >>> done, cb.last_step, reporter.load_checkpoint().step
        (0, 5, 4)
        >>> with hpcore.Reporter(0, {}, files=reporter.files):  # the trial run again, after round 4
        ...     model, done = cb.restore()
        ...     booster = xgb.train({"nthread": 1}, d, num_boost_round=5 - done, xgb_model=model,
        ...                         evals=[(d, "train")], callbacks=[cb], verbose_eval=False)
        >>> done, cb.last_step, booster.num_boosted_rounds()
        (4, 5, 5)
    """

    def __init__(self, monitor: str = "validation-logloss", report_as: str | None = None, interval: int = 1,
                 save_model: bool = True, checkpoint_every: int | None = 5,
                 checkpoint_budget: float | None = DEFAULT_BUDGET) -> None:
        super().__init__()
        if int(interval) < 1:
            raise ValueError(f"interval={interval}: report every 1 or more rounds")
        if checkpoint_every is not None and int(checkpoint_every) < 0:
            raise ValueError(f"checkpoint_every={checkpoint_every}: checkpoint every 1 or more reports, or 0 "
                             "(or None) for no checkpoints")
        self._link = TrialLink(monitor, "XGBoost", report_as=report_as)
        self.interval = int(interval)
        self.save_model = bool(save_model)
        self.checkpoint_every = int(checkpoint_every or 0)
        self._schedule = CheckpointSchedule(self.checkpoint_every, checkpoint_budget)
        self._rounds = 0
        self._reported_round = 0
        self._unreported: dict[str, float] | None = None

    def restore(self) -> tuple[xgb.Booster | None, int]:
        """The booster of the trial's last checkpoint and its number of boosting rounds.

        Call it before training and pass ``xgb_model=model``, ``num_boost_round=rounds - done``:
        the trial continues where its earlier run stopped, and this callback's steps continue after
        the checkpoint's step (``reporter.load_checkpoint`` sets the trial's last step).

        Returns:
            ``(booster, rounds_done)``; ``(None, 0)`` on a trial's first run, without a checkpoint,
            or outside a tuning job.

        Raises:
            ValueError: When the trial's checkpoint holds no booster (it was saved by other code).
        """
        reporter = hpcore.current_reporter()
        ckpt = reporter.load_checkpoint() if reporter is not None else None
        if ckpt is None:
            return None, 0
        found = [os.path.join(ckpt.path, n) for n in BOOSTER_FILES if os.path.exists(os.path.join(ckpt.path, n))]
        if not found:
            raise ValueError(f"the trial's checkpoint at step {ckpt.step} has no booster ({BOOSTER_FILE}): it was not "
                             "saved by the XGBoost TuningCallback, so boosting cannot resume from it")
        path = found[0]
        booster = xgb.Booster()
        booster.load_model(path)
        return booster, booster.num_boosted_rounds()

    def before_training(self, model: Any) -> Any:
        self._link.begin()
        # Rounds count from the booster's own (a continued booster: xgb_model), so that ``interval``
        # keeps reporting on the same rounds after a resume.
        self._rounds = model.num_boosted_rounds() if isinstance(model, xgb.Booster) else 0
        self._unreported = None
        self._reported_round = self._rounds
        self._schedule.begin()
        return model

    def after_training(self, model: Any) -> Any:
        if self._unreported is not None:  # the last round fell between two intervals
            self._link.report(self._unreported, advance=self._rounds - self._reported_round)
            self._reported_round, self._unreported = self._rounds, None
        sink: Any = self._link.sink  # the trial's Reporter
        if self.save_model and sink is not None and isinstance(model, xgb.Booster):
            config = json.loads(model.save_config())
            sink.save_model(format="xgboost", filename=MODEL_FILE, write=model.save_model,
                            rounds=model.num_boosted_rounds(), objective=config["learner"]["objective"]["name"],
                            xgboost=xgb.__version__)
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[Any]]]) -> bool:
        if not evals_log:
            raise ValueError("hpcore XGBoost TuningCallback: no evaluation results; pass evals=[(dvalid, "
                             "'validation')] to xgb.train or eval_set=[(X_valid, y_valid)] to fit()")
        metrics = flatten_evals_log(evals_log)
        self._rounds += 1
        if self._rounds % self.interval:
            self._link.value(metrics)  # a wrong monitor fails at the first round, not at the first report
            self._unreported = metrics
            return False
        self._unreported = None
        stop = self._link.report(metrics, advance=self._rounds - self._reported_round)
        self._reported_round = self._rounds
        if stop and not isinstance(model, xgb.Booster) and model.attr("best_iteration") is None:
            # xgb.cv trims its history to ``best_iteration`` when a callback stops it, and fails when no
            # early-stopping callback set one: keep every round done so far.
            model.set_attr(best_iteration=str(epoch))
        if self._schedule.due() and not stop:
            self._schedule.timed(lambda: self._checkpoint(model))
        return stop

    def _checkpoint(self, model: Any) -> None:
        sink: Any = self._link.sink  # the trial's Reporter
        if sink is None or not isinstance(model, xgb.Booster):  # outside a trial, or xgb.cv's folds
            return

        def write(folder: str) -> None:
            model.save_model(os.path.join(folder, BOOSTER_FILE))

        sink.save_checkpoint({"rounds": model.num_boosted_rounds()}, step=self._link.last_step, write=write)
