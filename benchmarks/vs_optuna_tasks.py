"""The tuning tasks of ``bench_adapters_vs_optuna.py``: one per framework, runnable through hpcore or Optuna.

Each task is taken from the examples (``examples/lightning_cnn``, ``examples/keras_cnn``,
``examples/xgboost_trees``: same data generators and models, a smaller search space). A fit takes the
trial's parameters and one callback (hpcore's ``TuningCallback`` or Optuna's integration callback) and
trains deterministically (fixed data and model seeds), so a configuration gives the same learning curve
under both libraries. :func:`suggest` asks an Optuna trial for the same ranges and scales as the task's
hpcore search space.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import optuna  # noqa: E402

import hpcore  # noqa: E402

__all__ = ["DEFAULTS", "KERAS_NOISE", "TASKS", "Task", "suggest"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KERAS_NOISE = 0.6  # extra Gaussian noise on the Keras task's images (see keras_task)

# A fit takes the trial's parameters and one callback (hpcore's or Optuna's) and returns the final
# value of the monitored metric.
Fit = Callable[[dict[str, Any], Any], float]


def load_example(name: str) -> ModuleType:
    """Imports ``examples/<name>/tune.py`` under a unique module name (the three files share a name)."""
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / name / "tune.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Task:
    """One framework's tuning task, runnable through either library."""

    framework: str
    space: hpcore.SearchSpace
    objective: str  # hpcore's name of the monitored metric
    direction: str
    trials: int
    steps: int  # max epochs / boosting rounds per trial
    warmup: int  # no stop after the first ``warmup`` steps
    fit: Fit
    hpcore_callback: Callable[[], Any]
    optuna_callback: Callable[[optuna.Trial], Any]
    step_name: str = "epochs"


def cnn_space() -> hpcore.SearchSpace:
    """The space of the Lightning and Keras CNN tasks: optimizer settings, filters and dropout."""
    return hpcore.SearchSpace({
        "optimizer": hpcore.Categorical(["adam", "sgd"], category="optimizer"),
        "lr": hpcore.Float(1e-4, 1e-1, scale="log", category="optimizer"),
        "momentum": hpcore.Float(0.5, 0.95, scale="reverse_log", category="optimizer"),
        "filters": hpcore.Int(2, 16, scale="log"),
        "dropout": hpcore.Float(0.0, 0.5, scale="linear"),
    })


def lightning_task(trials: int, epochs: int) -> Task:
    import lightning.pytorch as pl
    import torch
    from optuna_integration import PyTorchLightningPruningCallback

    from hpcore_lightning import TuningCallback

    torch.set_num_threads(1)
    ex = load_example("lightning_cnn")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning.fabric").setLevel(logging.ERROR)
    train_ds, valid_ds = ex.make_images(512, 0), ex.make_images(256, 1)
    # hflip: the Keras task needs one augmentation layer (an empty one fails); the same here.
    fixed = {"depth": 2, "filter_size": 3, "pooling": "max", "init": "he_normal", "hflip": 0.5}

    def fit(params: dict[str, Any], callback: Any) -> float:
        torch.manual_seed(0)
        train_dl = torch.utils.data.DataLoader(train_ds, batch_size=64, shuffle=True)
        valid_dl = torch.utils.data.DataLoader(valid_ds, batch_size=256)
        trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                             enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                             num_sanity_val_steps=0, callbacks=[callback])
        trainer.fit(ex.BarNet({**fixed, **params}), train_dl, valid_dl)
        return float(trainer.callback_metrics["val_acc"])

    space = cnn_space()
    return Task("Lightning 2 (torch)", space, "val_acc", "maximize", trials, epochs, 1, fit,
                lambda: TuningCallback(monitor="val_acc"),
                lambda trial: PyTorchLightningPruningCallback(trial, monitor="val_acc"))


def add_noise(images: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """``images`` plus Gaussian noise of standard deviation ``sigma`` (a harder version of the data)."""
    return images + sigma * np.random.default_rng(seed).normal(size=images.shape).astype(images.dtype)


def keras_task(trials: int, epochs: int, noise: float = KERAS_NOISE) -> Task:
    import keras
    import torch
    from optuna_integration import KerasPruningCallback

    from hpcore_keras import TuningCallback

    torch.set_num_threads(1)  # the torch backend's
    ex = load_example("keras_cnn")
    (x, y), (xv, yv) = ex.make_images(512, 0), ex.make_images(256, 1)
    # With the example's images most configurations reach val_auc 1.0; extra noise keeps them apart.
    x, xv = add_noise(x, noise, 10), add_noise(xv, noise, 11)
    # hflip: hpcore_keras.make_augmentation without augmentation gives an empty Sequential, which fails.
    fixed = {"depth": 2, "filter_size": 3, "pooling": "max", "init": "he_normal", "hflip": 0.5}

    def fit(params: dict[str, Any], callback: Any) -> float:
        keras.utils.set_random_seed(0)
        history = ex.build({**fixed, **params}).fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=64,
                                                    verbose=0, callbacks=[callback])
        return float(history.history["val_auc"][-1])

    space = cnn_space()
    name = "Keras 3 (torch backend)" + (f", images with extra noise {noise:g}" if noise > 0 else "")
    return Task(name, space, "val_auc", "maximize", trials, epochs, 1, fit,
                lambda: TuningCallback(monitor="val_auc"),
                lambda trial: KerasPruningCallback(trial, monitor="val_auc"))


def xgboost_task(trials: int, rounds: int) -> Task:
    import xgboost as xgb
    from optuna_integration import XGBoostPruningCallback

    import hpcore_xgboost
    from hpcore_xgboost import TuningCallback

    ex = load_example("xgboost_trees")
    x, y = ex.make_data()
    dtrain = xgb.DMatrix(x, label=y)

    def fit(params: dict[str, Any], callback: Any) -> float:
        booster = {"objective": "binary:logistic", "eval_metric": "auc", "nthread": 1, "tree_method": "hist",
                   "max_depth": params["max_depth"], "min_child_weight": params["min_child_weight"],
                   "subsample": params["subsample"], "colsample_bytree": params["colsample_bytree"],
                   **hpcore_xgboost.booster_params(params)}
        history = xgb.cv(booster, dtrain, num_boost_round=rounds, nfold=3, seed=0, callbacks=[callback])
        return float(history["test-auc-mean"].iloc[-1])

    return Task("XGBoost 3 (hist, 3-fold cv)", ex.space(), "test-auc", "maximize", trials, rounds, 5, fit,
                lambda: TuningCallback(monitor="test-auc"),
                lambda trial: XGBoostPruningCallback(trial, observation_key="test-auc"),
                step_name="rounds")


TASKS: dict[str, Callable[..., Task]] = {"lightning": lightning_task, "keras": keras_task,
                                                "xgboost": xgboost_task}
DEFAULTS = {"lightning": (20, 10), "keras": (20, 10), "xgboost": (30, 200)}  # trials, max steps


def suggest(trial: optuna.Trial, space: hpcore.SearchSpace) -> dict[str, Any]:
    """The same ranges and scales as ``space``, asked from an Optuna trial."""
    out: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, hpcore.Categorical):
            out[name] = trial.suggest_categorical(name, p.values)
        elif isinstance(p, hpcore.Int):
            out[name] = trial.suggest_int(name, p.min, p.max, step=p.step, log=p.scale == "log")
        elif p.scale == "reverse_log":  # uniform in log(1 - x), as hpcore's reverse_log
            out[name] = 1.0 - trial.suggest_float(f"1-{name}", 1.0 - p.max, 1.0 - p.min, log=True)
        else:
            out[name] = trial.suggest_float(name, p.min, p.max, log=p.scale == "log")
    return out
