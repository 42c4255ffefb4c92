"""The linear learner: logistic regression trained with Adam, in torch, as SageMaker's Linear Learner.

It reports ``validation_auc`` (SageMaker's ``validation:roc_auc_score``) after every epoch, so the
``median`` and ``asha`` stoppers can end poor trials early. In a tuning job each trial keeps its
model (a :class:`LinearModel`, ``result.best.load_model()``) and checkpoints every 5 epochs, from
which a trial run again (its worker died, the job was resumed) continues. torch is imported inside the functions:
``import hpcore`` never loads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore.datasets.fraud import FraudData, auc, load_csv, make_fraud, split
from hpcore.space import Float, Int, SearchSpace

__all__ = ["FraudTask", "LinearLearner", "LinearModel", "fit", "linear_learner_space", "load_data"]

OBJECTIVE = "validation_auc"
_DATA: dict[tuple[Any, ...], FraudData] = {}


def linear_learner_space(n_features: int | None = None, large: bool = False) -> SearchSpace:
    """SageMaker's Linear Learner ranges for Adam: learning rate 1e-5..1, betas, epochs.

    The defaults are SageMaker's (``beta_1=0.9``, ``beta_2=0.999``, 15 epochs) with Adam's usual
    learning rate 0.001: together they are the "untuned" configuration the example compares against.

    Args:
        n_features: When given, adds ``features``: how many of the data's ``n_features`` columns
            the model uses (the most correlated with the label on the training split), from 1 to all
            (the default), on a log scale: the model's size, to trade against its AUC.
        large: Adds SageMaker's regularisation and data settings: ``weight_decay`` (L2, 0..0.01),
            ``l1`` (0..0.001), ``pos_weight`` (the weight of a fraud in the loss, SageMaker's
            ``positive_example_weight_mult``, 1..300, log) and ``batch_size`` (``mini_batch_size``,
            100..5000, log). Their defaults (0, 0, 1, 1000) are the plain learner's, so the default
            configuration trains exactly as in the small space.

    Example:
        >>> sorted(linear_learner_space(large=True).defaults().items())[:4]
        [('batch_size', 1000), ('beta_1', 0.9), ('beta_2', 0.999), ('epochs', 15)]
    """
    ranges: dict[str, Any] = {
        "learning_rate": Float(1e-5, 1.0, scale="log", category="optimizer", default=1e-3),
        "beta_1": Float(0.5, 0.999, scale="reverse_log", category="optimizer", default=0.9),
        "beta_2": Float(0.9, 0.99999, scale="reverse_log", category="optimizer", default=0.999),
        "epochs": Int(1, 30, category="optimizer", default=15),
    }
    if large:
        ranges["weight_decay"] = Float(0.0, 0.01, scale="linear", category="model", default=0.0)
        ranges["l1"] = Float(0.0, 0.001, scale="linear", category="model", default=0.0)
        ranges["pos_weight"] = Float(1.0, 300.0, scale="log", category="data", default=1.0)
        ranges["batch_size"] = Int(100, 5000, scale="log", category="data", default=1000)
    if n_features is not None:
        ranges["features"] = Int(1, int(n_features), scale="log", category="model", default=int(n_features))
    return SearchSpace(ranges)


def feature_order(data: FraudData) -> np.ndarray:
    """Column indices from the most to the least correlated with the label (training split)."""
    x, y = data.x_train.astype(np.float64), data.y_train.astype(np.float64)
    xc, yc = x - x.mean(axis=0), y - y.mean()
    denom = np.sqrt((xc**2).sum(axis=0) * (yc**2).sum()) + 1e-300
    return np.argsort(-np.abs(xc.T @ yc) / denom, kind="stable")


def load_data(rows: int = 50_000, seed: int = 0, data: str | None = None, target: str = "Class") -> FraudData:
    """The split, standardised dataset: generated (``rows``, ``seed``) or read from the CSV ``data``.

    Split in time order (see :func:`~hpcore.datasets.fraud.split`): a CSV's rows must be oldest
    first, as in the public ``creditcard.csv``.
    Cached per process: trials in the same worker share one copy instead of regenerating it.
    """
    key = (rows, seed, data, target)
    if key not in _DATA:
        x, y, columns = load_csv(data, target) if data else make_fraud(rows=rows, seed=seed)
        _DATA[key] = split(x, y, columns, seed=seed)
    return _DATA[key]


@dataclass
class LinearModel:
    """A trained linear learner with the standardisation of its training split: scores raw rows.

    Example:
        >>> m = LinearModel(np.array([2.0, 0.0]), -1.0, np.array([1.0, 0.0]), np.array([1.0, 1.0]), ["a", "b"])
        >>> m.decision_function(np.array([[2.0, 5.0]])).tolist()
        [1.0]
    """

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    columns: list[str]

    def decision_function(self, rows: np.ndarray, standardized: bool = False) -> np.ndarray:
        """Fraud scores (logits; higher: more likely fraud) of raw rows (or of standardised ones)."""
        x = np.asarray(rows, dtype=np.float64)
        if not standardized:
            x = (x - self.mean) / self.scale
        return predict(self.weights, self.bias, x)

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """The probability of fraud of each raw row."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(rows)))


def fit(params: dict[str, Any], data: FraudData, reporter: Any = None, seed: int = 0,
        batch_size: int = 1000, checkpoint_every: int = 5) -> tuple[np.ndarray, float, float]:
    """Trains one logistic regression with Adam; returns ``(weights, bias, best validation AUC)``.

    Args:
        params: ``learning_rate``, ``beta_1``, ``beta_2``, ``epochs``; optionally ``features``
            (the model then uses that many columns, the others' weights are 0), ``weight_decay``
            (L2 penalty, Adam's coupled decay), ``l1`` (L1 penalty on the weights, added to the
            loss), ``pos_weight`` (weight of a positive example in the loss) and ``batch_size``
            (overrides the argument). Missing ones train as the plain learner (0, 0, 1).
        data: The splits (see :func:`load_data`).
        reporter: When given, receives ``validation_auc`` and ``validation_loss`` after each epoch,
            and training ends early when it answers stop.
        seed: Seeds the initial weights and the order of the mini-batches.
        batch_size: SageMaker's default ``mini_batch_size``.
        checkpoint_every: Epochs between two checkpoints of the weights, Adam's state and the
            batch order's generator, through the reporter (0: none); a run with a checkpoint
            continues after it.

    Returns:
        The weights and bias of the last epoch (as SageMaker keeps the final model) and its
        validation AUC.
    """
    import torch  # lazily: hpcore must import without torch

    torch.set_num_threads(max(1, int(getattr(reporter, "threads", None) or 1)))
    gen = torch.Generator().manual_seed(seed)
    n_cols = data.x_train.shape[1]
    keep = np.sort(feature_order(data)[: int(params["features"])]) if "features" in params else np.arange(n_cols)
    x = torch.from_numpy(np.ascontiguousarray(data.x_train[:, keep]))
    y = torch.from_numpy(data.y_train.astype(np.float32))
    x_val = torch.from_numpy(np.ascontiguousarray(data.x_val[:, keep]))
    y_val = torch.from_numpy(data.y_val.astype(np.float32))
    # SageMaker's init_method=uniform, init_scale=0.07
    w = ((torch.rand(x.shape[1], generator=gen) * 2 - 1) * 0.07).requires_grad_()
    b = torch.zeros(1, requires_grad=True)
    batch_size = int(params.get("batch_size", batch_size))
    l1 = float(params.get("l1", 0.0))
    opt = torch.optim.Adam([w, b], lr=float(params["learning_rate"]),
                           betas=(float(params["beta_1"]), float(params["beta_2"])),
                           weight_decay=float(params.get("weight_decay", 0.0)))
    pos_weight = float(params.get("pos_weight", 1.0))
    loss_fn = torch.nn.BCEWithLogitsLoss()  # validation loss: every example counts once
    train_loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight)) if pos_weight != 1.0 else loss_fn
    value, start = float("nan"), 1
    ckpt = reporter.load_checkpoint() if hasattr(reporter, "load_checkpoint") else None
    if ckpt is not None and ckpt.state is not None:
        with torch.no_grad():
            w.copy_(ckpt.state["w"])
            b.copy_(ckpt.state["b"])
        opt.load_state_dict(ckpt.state["opt"])
        gen.set_state(ckpt.state["gen"])
        value, start = ckpt.state["value"], ckpt.step + 1
    for epoch in range(start, int(params["epochs"]) + 1):
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            opt.zero_grad()
            loss = train_loss(x[idx] @ w + b, y[idx])
            if l1:
                loss = loss + l1 * w.abs().sum()
            loss.backward()
            opt.step()
        with torch.no_grad():
            logits = x_val @ w + b
            val_loss = float(loss_fn(logits, y_val))
            scores = logits.numpy()
        # A diverged run (huge learning rate) gives inf/nan scores: rank it as a coin flip.
        value = auc(data.y_val, scores) if np.isfinite(scores).all() else 0.5
        if not math.isfinite(val_loss):
            val_loss = 1e6
        if reporter is not None and reporter.report(epoch, validation_auc=value, validation_loss=val_loss):
            break
        if checkpoint_every and epoch % checkpoint_every == 0 and hasattr(reporter, "save_checkpoint"):
            reporter.save_checkpoint({"w": w.detach().clone(), "b": b.detach().clone(), "opt": opt.state_dict(),
                                      "gen": gen.get_state(), "value": value}, step=epoch)
    weights = np.zeros(n_cols, dtype=np.float32)
    weights[keep] = w.detach().numpy()
    return weights, float(b.detach()[0]), value


def predict(weights: np.ndarray, bias: float, x: np.ndarray) -> np.ndarray:
    """Fraud scores (logits) of standardised rows."""
    return np.asarray(x, dtype=np.float64) @ weights.astype(np.float64) + bias


@dataclass
class FraudTask:
    """What every built-in fraud trainer trains on: generated data (``rows``, ``seed``) or a CSV.

    Example:
        >>> d = FraudTask(rows=2000).dataset()
        >>> len(d.x_train) + len(d.x_val) + len(d.x_test)
        2000
    """

    rows: int = 50_000
    seed: int = 0
    data: str | None = None
    target: str = "Class"

    def dataset(self) -> FraudData:
        return load_data(self.rows, self.seed, self.data, self.target)


@dataclass
class LinearLearner(FraudTask):
    """A picklable training function ``(params, reporter) -> metrics`` for one fraud dataset.

    Args:
        rows: Rows of the generated dataset (ignored when ``data`` is given).
        seed: Seeds the data, its split, the initial weights and the batch order.
        data: A CSV file of the user's own data, instead of the generated one.
        target: The 0/1 label column of ``data``.
        batch_size: Mini-batch size.

    Example:
        >>> from hpcore.reporter import Reporter
        >>> train = LinearLearner(rows=3000, seed=0)
        >>> metrics = train({"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epochs": 2},
        ...                 Reporter(0, {}))
        >>> 0.5 < metrics["validation_auc"] <= 1.0
        True
    """

    batch_size: int = 1000

    def __call__(self, params: dict[str, Any], reporter: Any = None) -> dict[str, float]:
        """Trains one configuration; returns ``validation_auc`` and ``model_size`` (weights used).

        Inside a tuning job it saves the trained :class:`LinearModel` as the trial's model.
        """
        data = self.dataset()
        weights, bias, value = fit(params, data, reporter, seed=self.seed, batch_size=self.batch_size)
        if hasattr(reporter, "save_model"):
            reporter.save_model(LinearModel(weights, bias, data.mean, data.scale, list(data.columns)))
        return {OBJECTIVE: value, "model_size": float(np.count_nonzero(weights) + 1)}

    def final_model(self, params: dict[str, Any]) -> dict[str, Any]:
        """Retrains ``params`` (deterministic per seed) and returns weights, scaler and AUCs."""
        data = self.dataset()
        weights, bias, val_auc = fit(params, data, None, seed=self.seed, batch_size=self.batch_size)
        test_scores = predict(weights, bias, data.x_test)
        test_auc = auc(data.y_test, test_scores) if np.isfinite(test_scores).all() else 0.5
        return {"weights": weights, "bias": bias, "mean": data.mean, "scale": data.scale,
                "columns": data.columns, "validation_auc": val_auc, "test_auc": test_auc}
