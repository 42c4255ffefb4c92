"""A feed-forward network as a scikit-learn estimator: trained with torch, predicting with numpy.

:class:`TorchMLPClassifier` (softmax cross-entropy) and :class:`TorchMLPRegressor` (squared error on a
standardised target) train ``layers`` ReLU layers of ``hidden_units`` with dropout, Adam and L2
weight decay; with ``layers=0`` they are the linear learner (logistic, softmax or least-squares
regression). The fitted weights are kept as numpy arrays (``coefs_``, ``intercepts_``, as
scikit-learn's own ``MLPClassifier``), so a saved model predicts, pickles and loads without torch.
torch is imported inside :meth:`fit` only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["EpochCallback", "TorchMLPClassifier", "TorchMLPRegressor"]

# on_epoch(epoch, predict) -> stop?  ``predict(x)`` gives the model's outputs as they are after ``epoch``:
# class probabilities (n, k) of a classifier, values (n,) of a regressor.
EpochCallback = Callable[[int, Callable[[Any], np.ndarray]], bool]


class _TorchMLP(BaseEstimator):
    """The shared network, optimiser and training loop; see the module docstring."""

    def __init__(self, hidden_units: int = 128, layers: int = 2, dropout: float = 0.1, learning_rate: float = 1e-3,
                 weight_decay: float = 1e-5, epochs: int = 30, batch_size: int = 128,
                 random_state: int | None = 0, n_threads: int = 1) -> None:
        self.hidden_units = hidden_units
        self.layers = layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.n_threads = n_threads

    def _forward(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, dtype=np.float64)
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            h = h @ w + b
            if i < len(self.coefs_) - 1:
                h = np.maximum(h, 0.0)
        return h

    def _train(self, x: np.ndarray, target: np.ndarray, n_out: int, classify: bool,
               on_epoch: EpochCallback | None, predict: Callable[[Any], np.ndarray]) -> None:
        import torch

        if self.layers < 0 or self.hidden_units < 1 or self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"{type(self).__name__}: layers >= 0, hidden_units, epochs and batch_size >= 1 "
                             f"(got {self.layers}, {self.hidden_units}, {self.epochs}, {self.batch_size})")
        torch.set_num_threads(max(1, int(self.n_threads)))  # the cores this fit was given
        seed = 0 if self.random_state is None else int(self.random_state)
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        modules: list[Any] = []
        width = x.shape[1]
        for _ in range(int(self.layers)):
            modules += [torch.nn.Linear(width, int(self.hidden_units)), torch.nn.ReLU(),
                        torch.nn.Dropout(float(self.dropout))]
            width = int(self.hidden_units)
        modules.append(torch.nn.Linear(width, n_out))
        net = torch.nn.Sequential(*modules)
        linears = [m for m in modules if isinstance(m, torch.nn.Linear)]
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        yt = torch.from_numpy(target)
        loss_fn: Any = torch.nn.CrossEntropyLoss() if classify else torch.nn.MSELoss()
        opt = torch.optim.Adam(net.parameters(), lr=float(self.learning_rate),
                               weight_decay=float(self.weight_decay))

        def export() -> None:
            self.coefs_ = [m.weight.detach().double().numpy().T.copy() for m in linears]
            self.intercepts_ = [m.bias.detach().double().numpy().copy() for m in linears]

        for epoch in range(1, int(self.epochs) + 1):
            net.train()
            for idx in torch.randperm(len(xt), generator=gen).split(int(self.batch_size)):
                opt.zero_grad()
                out = net(xt[idx])
                loss = loss_fn(out, yt[idx]) if classify else loss_fn(out[:, 0], yt[idx])
                loss.backward()
                opt.step()
            if on_epoch is not None:
                export()
                self.n_epochs_ = epoch
                if on_epoch(epoch, predict):
                    break
        export()
        self.n_epochs_ = epoch

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class TorchMLPClassifier(ClassifierMixin, _TorchMLP):
    """A ReLU network classifier (``layers=0``: logistic or softmax regression) with scikit-learn's API.

    Args:
        hidden_units: Width of each hidden layer.
        layers: Number of hidden layers; 0 is the linear learner.
        dropout: Dropout after each hidden layer, while training.
        learning_rate: Adam's learning rate.
        weight_decay: Adam's L2 weight decay.
        epochs: Passes over the training rows.
        batch_size: Rows per mini-batch.
        random_state: Seeds the initial weights and the batch order.
        n_threads: torch threads while fitting.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(200, 3))
        >>> y = np.where(x[:, 0] > 0, "fraud", "ok")
        >>> clf = TorchMLPClassifier(layers=0, learning_rate=0.05, epochs=20).fit(x, y)
        >>> clf.classes_.tolist(), clf.score(x, y) > 0.9, clf.predict_proba(x[:2]).shape
        (['fraud', 'ok'], True, (2, 2))
    """

    def fit(self, X: Any, y: Any, on_epoch: EpochCallback | None = None) -> TorchMLPClassifier:
        """Trains on ``X`` and the labels ``y`` (any values: text or numbers).

        Args:
            X: The features, a float matrix or a numeric DataFrame.
            y: The class of each row.
            on_epoch: Called after each epoch as ``on_epoch(epoch, predict_proba)``; training ends
                when it returns True.
        """
        x, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y has {len(self.classes_)} class: TorchMLPClassifier needs at least 2 classes")
        self._train(x, codes.astype(np.int64), len(self.classes_), True, on_epoch, self.predict_proba)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """The probability of each class (columns in the order of ``classes_``)."""
        check_is_fitted(self, "coefs_")
        logits = self._forward(validate_data(self, X, dtype=np.float64, reset=False))
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class TorchMLPRegressor(RegressorMixin, _TorchMLP):
    """A ReLU network regressor (``layers=0``: least squares) with scikit-learn's API.

    It learns the standardised target, so one learning-rate range suits targets in any unit. The
    arguments are those of :class:`TorchMLPClassifier`.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(300, 2))
        >>> reg = TorchMLPRegressor(layers=0, learning_rate=0.05, epochs=30).fit(x, 100 + 5 * x[:, 0])
        >>> reg.score(x, 100 + 5 * x[:, 0]) > 0.95
        True
    """

    def fit(self, X: Any, y: Any, on_epoch: EpochCallback | None = None) -> TorchMLPRegressor:
        """Trains on ``X`` and the values ``y``; ``on_epoch(epoch, predict)`` as the classifier's."""
        x, y = validate_data(self, X, y, dtype=np.float32, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self.y_mean_, self.y_scale_ = float(np.mean(y)), float(np.std(y)) or 1.0
        self._train(x, ((y - self.y_mean_) / self.y_scale_).astype(np.float32), 1, False, on_epoch, self.predict)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted value of each row."""
        check_is_fitted(self, "coefs_")
        out = self._forward(validate_data(self, X, dtype=np.float64, reset=False))[:, 0]
        return out * self.y_scale_ + self.y_mean_
