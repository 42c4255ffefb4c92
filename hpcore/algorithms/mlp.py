"""The multilayer perceptron (and the linear learner on tables): feed-forward networks in torch.

The network is trained with torch directly rather than through the Lightning or Keras adapters: an
autopilot trial fits it once per cross-validation fold, and a Lightning ``Trainer`` costs about a
second of set-up per fit, more than the whole fit of a small table. The ``mlp`` algorithm registered
for ``hpcore tune --algorithm mlp`` trains the same network on the bundled fraud data. torch is
imported inside the functions: ``import hpcore`` never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore.algorithms.linear_learner import FraudTask
from hpcore.algorithms.tabular import EpochCallback, mlp_tabular_space
from hpcore.datasets.fraud import auc
from hpcore.space import SearchSpace

__all__ = ["MLPTrainer", "NetModel", "fit_linear", "fit_mlp", "mlp_space"]


@dataclass
class NetModel:
    """A fitted network; ``predict`` returns class probabilities ``(n, k)`` or values (regression)."""

    net: Any
    problem_type: str
    y_mean: float = 0.0
    y_scale: float = 1.0

    def predict(self, x: np.ndarray) -> np.ndarray:
        import torch

        self.net.eval()
        with torch.no_grad():
            out = self.net(torch.from_numpy(np.asarray(x, dtype=np.float32)))
        if self.problem_type == "regression":
            return out[:, 0].double().numpy() * self.y_scale + self.y_mean
        return torch.softmax(out.double(), dim=1).numpy()


def _fit_net(params: dict[str, Any], x: np.ndarray, y: np.ndarray, problem_type: str, n_classes: int,
             hidden: list[int], dropout: float, seed: int, threads: int, on_epoch: EpochCallback | None) -> NetModel:
    import torch

    torch.set_num_threads(max(1, threads))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    layers: list[Any] = []
    width = x.shape[1]
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
        width = h
    regression = problem_type == "regression"
    layers.append(torch.nn.Linear(width, 1 if regression else n_classes))
    net = torch.nn.Sequential(*layers)
    model = NetModel(net, problem_type)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
    if regression:
        # Standardised targets: one learning-rate range fits targets in the units of any dataset.
        model.y_mean, model.y_scale = float(np.mean(y)), float(np.std(y)) or 1.0
        yt = torch.from_numpy(((y - model.y_mean) / model.y_scale).astype(np.float32))[:, None]
        loss_fn: Any = torch.nn.MSELoss()
    else:
        yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
        loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(net.parameters(), lr=float(params["learning_rate"]),
                           weight_decay=float(params["weight_decay"]))
    batch = int(params["batch_size"])
    for epoch in range(1, int(params["epochs"]) + 1):
        net.train()
        for idx in torch.randperm(len(xt), generator=gen).split(batch):
            opt.zero_grad()
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        if on_epoch is not None and on_epoch(epoch, model):
            break
    net.eval()
    return model


def fit_mlp(params: dict[str, Any], x: np.ndarray, y: np.ndarray, problem_type: str, n_classes: int,
            seed: int = 0, threads: int = 1, on_epoch: EpochCallback | None = None) -> NetModel:
    """Trains an MLP of ``layers`` ReLU layers of ``hidden_units`` with dropout, Adam and weight decay."""
    hidden = [int(params["hidden_units"])] * int(params["layers"])
    return _fit_net(params, x, y, problem_type, n_classes, hidden, float(params["dropout"]), seed, threads,
                    on_epoch)


def fit_linear(params: dict[str, Any], x: np.ndarray, y: np.ndarray, problem_type: str, n_classes: int,
               seed: int = 0, threads: int = 1, on_epoch: EpochCallback | None = None) -> NetModel:
    """Trains the linear learner: logistic/softmax/least-squares regression with Adam and L2 decay."""
    return _fit_net(params, x, y, problem_type, n_classes, [], 0.0, seed, threads, on_epoch)


def mlp_space() -> SearchSpace:
    """The MLP's search space (the same as the autopilot's): model, optimizer and data parameters."""
    return mlp_tabular_space("binary")


@dataclass
class MLPTrainer(FraudTask):
    """A picklable training function for the MLP on the fraud data, reporting ``validation_auc`` per epoch.

    Args:
        rows: Rows of the generated dataset (ignored when ``data`` is given).
        seed: Seeds the data, its split and the network.
        data: A CSV file of the user's own data, instead of the generated one.
        target: The 0/1 label column of ``data``.

    Example:
        >>> from hpcore.reporter import Reporter
        >>> train = MLPTrainer(rows=3000)
        >>> params = dict(mlp_space().defaults(), epochs=2)
        >>> 0.5 < train(params, Reporter(0, {}))["validation_auc"] <= 1.0  # doctest: +SKIP
        True
    """


    def __call__(self, params: dict[str, Any], reporter: Any = None) -> dict[str, float]:

        d = self.dataset()
        last = {"value": 0.5}

        def on_epoch(epoch: int, model: NetModel) -> bool:
            scores = model.predict(d.x_val)[:, 1]
            last["value"] = auc(d.y_val, scores) if np.isfinite(scores).all() else 0.5
            return bool(reporter is not None and reporter.report(epoch, validation_auc=last["value"]))

        fit_mlp(params, d.x_train, d.y_train.astype(np.int64), "binary", 2, seed=self.seed,
                threads=int(getattr(reporter, "threads", None) or 1), on_epoch=on_epoch)
        return {"validation_auc": last["value"]}
