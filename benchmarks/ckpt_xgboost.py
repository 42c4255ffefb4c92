"""The cost of checkpoints in the XGBoost adapter: a realistic small boosting run, one thread.

``run(rounds, every, seed)`` boosts depth-6 trees on 20,000 generated rows of 20 features (a
binary task, 5,000 validation rows evaluated every round) with ``TuningCallback``, inside a
:class:`hpcore.Reporter` context (what a tuning job gives a trial; its folder is a temporary one),
twice: with a checkpoint every ``every`` reports (the booster's JSON, ``checkpoint_every=every``)
and without (``checkpoint_every=0``). Neither saves the final model, so only checkpoints differ.
It returns the mean round time without checkpoints (``epoch_s``), the mean time of one
checkpoint (``checkpoint_s``, measured around ``reporter.save_checkpoint``) and the end-to-end
relative difference (``ckpt_overhead``). A checkpoint's JSON grows with the rounds boosted, so
``checkpoint_s`` is the mean over a run. Used by ``bench_checkpoint.py``::

    python benchmarks/ckpt_xgboost.py
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "plugins"))
import one_thread  # noqa: E402,F401  (first: before numpy)
from ckpt_common import compare, time_checkpoints  # noqa: E402

ROWS, FEATURES, VALID = 20_000, 20, 5_000


def make_data(seed: int) -> tuple[Any, Any]:
    """A binary task with interactions: training and validation DMatrix."""
    import numpy as np
    import xgboost as xgb

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(ROWS + VALID, FEATURES)).astype(np.float32)
    logit = x[:, 0] * x[:, 1] + np.sin(3 * x[:, 2]) + 0.5 * x[:, 3:8].sum(axis=1) + rng.normal(size=len(x))
    y = (logit > 0).astype(np.float32)
    return (xgb.DMatrix(x[:ROWS], label=y[:ROWS], nthread=1),
            xgb.DMatrix(x[ROWS:], label=y[ROWS:], nthread=1))


def boost(dtrain: Any, dvalid: Any, rounds: int, every: int, budget: float | None, seed: int,
          spent: list[float]) -> float:
    """Seconds of one run of ``rounds`` rounds with a checkpoint every ``every`` reports, and each checkpoint's."""
    import xgboost as xgb

    import hpcore
    from hpcore_xgboost import TuningCallback

    params = {"objective": "binary:logistic", "eval_metric": "logloss", "max_depth": 6, "eta": 0.1,
              "nthread": 1, "seed": seed, "tree_method": "hist"}
    with hpcore.Reporter(0, {}) as reporter:
        time_checkpoints(reporter, spent)
        cb = TuningCallback(monitor="validation-logloss", save_model=False, checkpoint_every=every,
                            checkpoint_budget=budget)
        t0 = time.perf_counter()
        xgb.train(params, dtrain, num_boost_round=rounds, evals=[(dvalid, "validation")], callbacks=[cb],
                  verbose_eval=False)
        return time.perf_counter() - t0


def run(rounds: int = 100, every: int = 5, seed: int = 0) -> dict[str, Any]:
    """The fit without checkpoints, with one exactly every ``every`` reports and with the defaults:
    the figures of :func:`ckpt_common.compare`."""
    import warnings

    warnings.simplefilter("ignore")
    dtrain, dvalid = make_data(seed)
    boost(dtrain, dvalid, 5, 1, None, seed, [])  # warm-up (data quantiles, first checkpoint), untimed
    return compare(lambda ck, budget, spent: boost(dtrain, dvalid, rounds, ck, budget, seed, spent), rounds, every,
                   seed)


if __name__ == "__main__":
    print(run())
