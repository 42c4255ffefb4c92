"""Card-transaction fraud data: a deterministic generator, a CSV loader, splits and ROC AUC.

No download is possible where hpcore runs its examples, so :func:`make_fraud` generates a dataset
shaped like the public credit-card fraud CSV (``Time``, ``V1``..``V28``, ``Amount``, ``Class``)
with the properties that make real fraud data hard to learn:

- **Heavy class imbalance**: 0.5% fraud by default (1 in 200; the public CSV has 0.17%), so a
  mini-batch of 1000 rows holds about 5 frauds and the per-epoch signal is small.
- **Four weeks of transactions**, ordered by ``Time`` (seconds), with a day cycle (legitimate
  spending peaks mid-afternoon, fraud is flatter and leans to the night).
- **Heavy-tailed features on very different scales**: ``Amount`` is log-normal (dollars, up to
  thousands), ``Time`` runs to 2.4 million seconds, and the PCA-like components ``V1``..``V28``
  have decreasing variance and rare one-sided extreme values (0.3% of the values, about 30
  standard deviations out: refunds, corporate payments, data-entry errors), as the real ``V``
  columns have kurtoses in the hundreds. Standardisation cannot undo such tails: the outliers set
  the scale, so the bulk of each column, where fraud differs, shrinks towards 0.
- **A few strong components and many weak ones**: fraud is shifted a lot along ``V14``, ``V17`` and
  ``V12`` (the strongest columns of the public data too) and a little along 14 others, by a strength
  that varies per fraud.
- **Drift**: fraudsters adapt. Over the four weeks the original pattern fades to half its strength
  while a second one (other components) grows, so later days look different from earlier ones.
- **Label noise**: a few labels are flipped (late chargebacks, disputes), so no model reaches AUC 1.

:func:`split` is time-ordered by default, as a deployed model is trained on the past and used on
the future: train on the earliest 60% of the rows, validate on the next 20%, test on the latest.
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


def make_fraud(rows: int = 50_000, fraud_rate: float = 0.005, seed: int = 0, label_noise: float = 0.0002,
               days: int = 28, drift: float = 1.0, outlier_rate: float = 0.003
               ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Generates a realistic, deterministic card-transaction fraud dataset (see the module doc).

    Args:
        rows: Number of transactions.
        fraud_rate: Share of fraudulent transactions before label noise.
        seed: The same seed gives the same data, bit for bit.
        label_noise: Share of labels flipped at random (chargebacks filed late, disputes...).
        days: Days the transactions span (``Time`` runs from 0 to ``days * 86400`` seconds).
        drift: How much the fraud pattern changes over the period: 0 none, 1 (the default) the
            original pattern fades to half while a second one grows to full strength.
        outlier_rate: Share of the component values that are rare extreme ones (0: Gaussian).

    Returns:
        ``(x, y, columns)``: features ``Time, V1..V28, Amount``, the 0/1 label, and column names,
        ordered by ``Time``.

    Example:
        >>> x, y, cols = make_fraud(rows=5000, seed=1)
        >>> x.shape, cols[0], cols[-1], bool(0 < y.mean() < 0.02)
        ((5000, 30), 'Time', 'Amount', True)
    """
    if rows < 100:
        raise ValueError(f"rows={rows}: generate at least 100 rows")
    if days < 1:
        raise ValueError(f"days={days}: use at least 1 day")
    rng = np.random.default_rng(seed)
    fraud = rng.random(rows) < fraud_rate
    n_fraud = int(fraud.sum())
    hour = np.where(fraud, rng.vonmises(np.pi * 2 * 3 / 24, 0.6, rows), rng.vonmises(np.pi * 2 * 15 / 24, 1.2, rows))
    seconds = ((hour % (2 * np.pi)) / (2 * np.pi)) * DAY + rng.integers(0, days, rows) * DAY
    when = seconds / (days * DAY)  # 0 at the start of the period, 1 at its end
    var = np.linspace(3.8, 0.1, N_COMPONENTS)
    z = rng.standard_normal((rows, N_COMPONENTS))
    strong = [13, 16, 11]  # V14, V17, V12
    # Rare extreme values, on the side away from fraud (fraud lowers the strong components).
    extreme = rng.random((rows, N_COMPONENTS)) < outlier_rate
    z = np.where(extreme, np.abs(z) * 30.0, z)
    v = z * np.sqrt(var)
    shift = np.zeros(N_COMPONENTS)
    shift[strong] = [-2.5, -2.125, -1.875]
    weak = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 17]
    shift[weak] = 0.3 * np.where(np.arange(len(weak)) % 2, 1, -1)
    second = np.zeros(N_COMPONENTS)
    second[[1, 4, 6, 8, 17, 20]] = np.array([-1.0, 0.8, -0.9, 1.1, -0.8, 0.7]) * 1.25
    t = when[fraud][:, None]
    pattern = (1 - drift * 0.5 * t) * shift + drift * t * second
    strength = rng.gamma(3.0, 1 / 3, n_fraud)[:, None]
    v[fraud] += strength * pattern * np.sqrt(var)
    # Amounts: heavy right tail; fraud has many small "test" charges and some large ones.
    amount = np.where(fraud, np.where(rng.random(rows) < 0.4, rng.uniform(0.5, 3.0, rows),
                                      rng.lognormal(4.8, 1.4, rows)),
                      rng.lognormal(3.3, 1.2, rows))
    amount = np.round(amount, 2)
    y = fraud.astype(np.int64)
    flip = rng.random(rows) < label_noise
    y[flip] = 1 - y[flip]
    order = np.argsort(seconds, kind="stable")
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
          seed: int = 0, order: str = "time") -> FraudData:
    """Train/validation/test split, then standardisation fitted on the train split.

    Args:
        x: Features, one row per example.
        y: 0/1 labels.
        columns: Feature names.
        fractions: Shares of train and validation; the test split gets the rest.
        seed: Seed of the shuffle (``order="stratified"`` only).
        order: ``"time"``: the rows are taken in their order (oldest first, as :func:`make_fraud`
            and the public CSV give them): train on the earliest, validate on the next, test on the
            latest. ``"stratified"``: a random split with the same fraud rate in each part.

    Returns:
        The standardised :class:`FraudData`.

    Raises:
        ValueError: When ``order`` is unknown or a split would miss a class.

    Example:
        >>> x, y, cols = make_fraud(rows=4000, seed=0)
        >>> d = split(x, y, cols)
        >>> bool(d.x_train[:, 0].max() <= d.x_val[:, 0].min()), len(d.y_train), len(d.y_val)
        (True, 2400, 800)
    """
    if order == "time":
        n = len(y)
        a, b = int(round(fractions[0] * n)), int(round((fractions[0] + fractions[1]) * n))
        tr, va, te = np.arange(a), np.arange(a, b), np.arange(b, n)
        for name, part in (("train", tr), ("validation", va), ("test", te)):
            if len(np.unique(y[part])) < 2:
                raise ValueError(f"the {name} split ({len(part)} rows) has only one class; "
                                 "use more rows or order='stratified'")
    elif order == "stratified":
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
    else:
        raise ValueError(f"order={order!r}: use 'time' or 'stratified'")
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
