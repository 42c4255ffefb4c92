"""Card-transaction fraud data: a deterministic generator, a CSV loader, splits and ROC AUC.

No download is possible where hpcore runs its examples, so :func:`make_fraud` generates a dataset
shaped like the public credit-card fraud CSV (``Time``, ``V1``..``V28``, ``Amount``, ``Class``):
well under 2% fraud, log-normal amounts, a day/night cycle, PCA-like components on which fraud is
shifted along a few directions only, and some flipped labels so that no model reaches AUC 1.
:func:`load_csv` reads a user's own file (for example the real ``creditcard.csv``) into the same
form. Everything is numpy only, so ``import hpcore`` stays light.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

__all__ = ["FraudData", "auc", "load_csv", "make_fraud", "split"]

N_COMPONENTS = 28
DAY = 86_400.0


@dataclass
class FraudData:
    """Standardised train/validation/test splits of a binary fraud dataset.

    ``mean``/``scale`` are the standardisation fitted on the training split only (so the validation
    and test splits stay unseen); apply them to new rows as ``(x - mean) / scale``.

    Example:
        >>> data = split(*make_fraud(rows=2000, seed=0))
        >>> data.x_train.shape[1] == len(data.columns), round(float(data.x_train.mean()), 6)
        (True, 0.0)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    columns: list[str]
    mean: np.ndarray
    scale: np.ndarray

    def describe(self) -> str:
        """One line: sizes and fraud rates of the splits."""
        parts = [f"{name} {len(y):,} rows ({100 * y.mean():.2f}% fraud)"
                 for name, y in (("train", self.y_train), ("validation", self.y_val), ("test", self.y_test))]
        return f"{len(self.columns)} features; " + ", ".join(parts)


def make_fraud(rows: int = 100_000, fraud_rate: float = 0.008, seed: int = 0,
               label_noise: float = 0.0003) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Generates a realistic, deterministic card-transaction fraud dataset.

    Args:
        rows: Number of transactions.
        fraud_rate: Share of fraudulent transactions before label noise (well under 2%).
        seed: The same seed gives the same data, bit for bit.
        label_noise: Share of labels flipped at random (chargebacks filed late, disputes...).

    Returns:
        ``(x, y, columns)``: features ``Time, V1..V28, Amount``, the 0/1 label, and column names.

    Example:
        >>> x, y, cols = make_fraud(rows=5000, seed=1)
        >>> x.shape, cols[0], cols[-1], bool(0 < y.mean() < 0.02)
        ((5000, 30), 'Time', 'Amount', True)
    """
    if rows < 100:
        raise ValueError(f"rows={rows}: generate at least 100 rows")
    rng = np.random.default_rng(seed)
    fraud = rng.random(rows) < fraud_rate
    n_fraud = int(fraud.sum())
    # Two days of transactions; legitimate ones follow the day (peak mid-afternoon), fraud is flatter
    # and leans to the night, as in the public dataset.
    hour = np.where(fraud, rng.vonmises(np.pi * 2 * 3 / 24, 0.6, rows), rng.vonmises(np.pi * 2 * 15 / 24, 1.2, rows))
    seconds = ((hour % (2 * np.pi)) / (2 * np.pi)) * DAY + rng.integers(0, 2, rows) * DAY
    order = np.argsort(seconds, kind="stable")
    # Anonymised components: decorrelated (PCA-like) with decreasing variance; fraud shifts the mean
    # along a handful of directions, with per-fraudster variation (several fraud patterns).
    var = np.linspace(3.8, 0.1, N_COMPONENTS)
    v = rng.standard_normal((rows, N_COMPONENTS)) * np.sqrt(var)
    shift = np.zeros(N_COMPONENTS)
    shift[[2, 3, 9, 10, 11, 13, 15, 16]] = [-1.2, 1.0, -0.8, 0.9, -1.1, -1.5, -0.7, -1.0]
    patterns = rng.integers(0, 3, n_fraud)
    strength = rng.gamma(3.0, 0.45, n_fraud)[:, None]
    pattern_dirs = np.stack([shift, 0.7 * shift + 0.5 * np.roll(shift, 3), 1.4 * shift])
    v[fraud] += strength * pattern_dirs[patterns] * np.sqrt(var)
    # Amounts: heavy right tail; fraud has many small "test" charges and some large ones.
    amount = np.where(fraud, np.where(rng.random(rows) < 0.4, rng.uniform(0.5, 3.0, rows),
                                      rng.lognormal(4.8, 1.4, rows)),
                      rng.lognormal(3.3, 1.2, rows))
    amount = np.round(amount, 2)
    y = fraud.astype(np.int64)
    flip = rng.random(rows) < label_noise
    y[flip] = 1 - y[flip]
    x = np.column_stack([seconds, v, amount])[order]
    columns = ["Time", *[f"V{i}" for i in range(1, N_COMPONENTS + 1)], "Amount"]
    return x.astype(np.float64), y[order], columns


def load_csv(path: str, target: str = "Class") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Reads a numeric CSV with a header row and a 0/1 target column.

    Args:
        path: The file, for example the public ``creditcard.csv``.
        target: The label column (``Class`` in ``creditcard.csv``).

    Returns:
        ``(x, y, columns)`` with every other column as a feature.

    Raises:
        ValueError: When the target column is missing (the columns are listed), a cell is not a
            number (column and row named), the file is empty, or the target is not 0/1.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
        >>> _ = open(p, "w").write("a,b,Class\\n1,2,0\\n3,4,1\\n")
        >>> x, y, cols = load_csv(p)
        >>> x.tolist(), y.tolist(), cols
        ([[1.0, 2.0], [3.0, 4.0]], [0, 1], ['a', 'b'])
    """
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{path}: the file is empty; expected a header row and data rows") from None
        if target not in header:
            raise ValueError(f"{path}: no target column {target!r}; the columns are: {', '.join(header)}. "
                             "Name the label column with --target")
        rows: list[list[float]] = []
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}, line {lineno}: {len(row)} cells, the header has {len(header)}")
            values = []
            for name, cell in zip(header, row):
                try:
                    values.append(float(cell.strip().strip('"')))
                except ValueError:
                    raise ValueError(f"{path}, line {lineno}, column {name!r}: {cell!r} is not a number; "
                                     "encode categorical columns as numbers first") from None
            rows.append(values)
    if not rows:
        raise ValueError(f"{path}: no data rows after the header")
    data = np.asarray(rows, dtype=np.float64)
    t = header.index(target)
    y = data[:, t]
    if not np.isin(y, (0.0, 1.0)).all():
        bad = sorted(set(np.unique(y).tolist()) - {0.0, 1.0})[:5]
        raise ValueError(f"{path}: target {target!r} must be 0 or 1, found {bad}")
    columns = [h for i, h in enumerate(header) if i != t]
    return np.delete(data, t, axis=1), y.astype(np.int64), columns


def split(x: np.ndarray, y: np.ndarray, columns: list[str], fractions: tuple[float, float] = (0.6, 0.2),
          seed: int = 0) -> FraudData:
    """Stratified train/validation/test split, then standardisation fitted on the train split.

    Args:
        x: Features, one row per example.
        y: 0/1 labels.
        columns: Feature names.
        fractions: Shares of train and validation; the test split gets the rest.
        seed: Seed of the shuffle.

    Returns:
        The standardised :class:`FraudData`.

    Raises:
        ValueError: When a class has fewer than 3 examples (each split needs both classes).
    """
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in (0, 1):
        idx = np.flatnonzero(y == label)
        if len(idx) < 3:
            raise ValueError(f"class {label} has {len(idx)} examples; each split needs at least one of each")
        idx = rng.permutation(idx)
        a = max(1, int(round(fractions[0] * len(idx))))
        b = max(a + 1, min(len(idx) - 1, a + int(round(fractions[1] * len(idx)))))
        for part, chunk in zip(parts, (idx[:a], idx[a:b], idx[b:])):
            part.append(chunk)
    tr, va, te = (np.sort(np.concatenate(p)) for p in parts)
    mean = x[tr].mean(axis=0)
    scale = x[tr].std(axis=0)
    scale[scale == 0] = 1.0  # a constant column stays constant rather than dividing by zero

    def norm(rows: np.ndarray) -> np.ndarray:
        return ((x[rows] - mean) / scale).astype(np.float32)

    return FraudData(norm(tr), y[tr], norm(va), y[va], norm(te), y[te], list(columns), mean, scale)


def auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve, rank-based (Mann-Whitney U), ties counted as one half.

    Example:
        >>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
        0.75
        >>> auc(np.array([0, 1]), np.array([0.5, 0.5]))
        0.5
    """
    y_true = np.asarray(y_true).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    n_pos = int((y_true == 1).sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes in y_true")
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    ranks = np.empty(len(score), dtype=np.float64)
    # Average ranks over runs of equal scores: that is what counts a tie as half a win.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(score)]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[y_true == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
