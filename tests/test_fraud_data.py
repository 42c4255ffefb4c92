"""The fraud dataset generator, the CSV loader, the stratified split and the rank-based AUC."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hpcore.datasets import auc, load_csv, make_fraud, split


def _auc_brute(y, s):
    pos, neg = s[y == 1], s[y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_generator_is_deterministic_and_realistic():
    x, y, cols = make_fraud(rows=20_000, seed=4)
    x2, y2, _ = make_fraud(rows=20_000, seed=4)
    x3, _, _ = make_fraud(rows=20_000, seed=5)
    assert np.array_equal(x, x2) and np.array_equal(y, y2) and not np.array_equal(x, x3)
    assert cols == ["Time", *[f"V{i}" for i in range(1, 29)], "Amount"]
    assert 0.002 < y.mean() < 0.02
    amount = x[:, -1]
    assert amount.min() >= 0 and np.median(amount) < amount.mean()  # right-skewed amounts
    assert x[:, 0].min() >= 0 and x[:, 0].max() <= 28 * 86_400
    assert np.all(np.diff(x[:, 0]) >= 0)  # ordered by time, as the public CSV
    # Label noise: some legitimate-looking rows are labelled fraud, so no single feature is perfect.
    assert max(auc(y, x[:, j]) for j in range(x.shape[1])) < 0.95


def test_auc_matches_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 2, 40)
        y[:2] = [0, 1]
        s = rng.integers(0, 5, 40).astype(float)  # many ties
        assert auc(y, s) == pytest.approx(_auc_brute(y, s))
    with pytest.raises(ValueError, match="both classes"):
        auc(np.zeros(3), np.arange(3.0))


def test_split_is_stratified_and_scaled_on_train_only():
    x, y, cols = make_fraud(rows=10_000, seed=0)
    d = split(x, y, cols, seed=0, order="stratified")
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == len(y)
    rates = [d.y_train.mean(), d.y_val.mean(), d.y_test.mean()]
    assert max(rates) - min(rates) < 0.002
    assert np.allclose(d.x_train.mean(0), 0, atol=1e-4) and np.allclose(d.x_train.std(0), 1, atol=1e-3)
    assert not np.allclose(d.x_val.mean(0), 0, atol=1e-4)  # validation was not used to fit the scaler


def test_load_csv_reads_a_creditcard_like_file(tmp_path):
    path = tmp_path / "cc.csv"
    path.write_text('"Time","V1","Amount","Class"\n0,1.5,10.0,"0"\n1,-2.0,3.5,"1"\n2,0.1,99.0,"0"\n')
    x, y, cols = load_csv(str(path), target="Class")
    assert cols == ["Time", "V1", "Amount"]
    assert x.tolist() == [[0, 1.5, 10.0], [1, -2.0, 3.5], [2, 0.1, 99.0]]
    assert y.tolist() == [0, 1, 0]


def test_load_csv_without_target_lists_the_columns(tmp_path):
    path = tmp_path / "cc.csv"
    path.write_text("Time,V1,Amount,label\n0,1,2,0\n")
    with pytest.raises(ValueError, match="no target column 'Class'.*Time, V1, Amount, label"):
        load_csv(str(path), target="Class")


def test_load_csv_names_column_and_row_of_a_bad_cell(tmp_path):
    path = tmp_path / "cc.csv"
    path.write_text("Time,Merchant,Class\n0,1,0\n1,2,1\n2,grocery,0\n")
    with pytest.raises(ValueError, match=r"line 4, column 'Merchant': 'grocery' is not a number"):
        load_csv(str(path))


def test_load_csv_rejects_a_non_binary_target(tmp_path):
    path = tmp_path / "cc.csv"
    path.write_text("a,Class\n0,0\n1,2\n")
    with pytest.raises(ValueError, match="must be 0 or 1"):
        load_csv(str(path))


def test_default_split_is_time_ordered_and_imbalanced():
    x, y, cols = make_fraud(rows=20_000, seed=0)
    d = split(x, y, cols)
    raw = [part[:, 0] * d.scale[0] + d.mean[0] for part in (d.x_train, d.x_val, d.x_test)]
    assert raw[0].max() <= raw[1].min() and raw[1].max() <= raw[2].min()  # train on the past, test on the future
    assert 0.002 < y.mean() < 0.008
    with pytest.raises(ValueError, match="order='sideways'"):
        split(x, y, cols, order="sideways")


def test_components_are_heavy_tailed_and_the_fraud_pattern_drifts():
    x, y, _ = make_fraud(rows=60_000, seed=3)
    v = x[:, 1:29]
    z = (v - v.mean(0)) / v.std(0)
    assert np.median((z**4).mean(0)) > 20  # kurtosis far above a Gaussian's 3, as in the public V columns
    calm, _, _ = make_fraud(rows=60_000, seed=3, outlier_rate=0.0)
    zc = (calm[:, 1:29] - calm[:, 1:29].mean(0)) / calm[:, 1:29].std(0)
    assert np.median((zc**4).mean(0)) < 3.5
    early, late = x[: len(x) // 3], x[-len(x) // 3:]
    ye, yl = y[: len(y) // 3], y[-len(y) // 3:]

    def fraud_shift(part, labels, col):  # how far fraud's median sits from the legitimate median
        return np.median(part[labels == 1, col]) - np.median(part[labels == 0, col])

    v14, v2 = 14, 2  # column 0 is Time: V14 is column 14
    assert fraud_shift(early, ye, v14) < 1.3 * fraud_shift(late, yl, v14) < 0  # the first pattern fades
    assert abs(fraud_shift(late, yl, v2)) > 2 * abs(fraud_shift(early, ye, v2))  # a second one grows
    still, ys, _ = make_fraud(rows=60_000, seed=3, drift=0.0)
    sl = still[-len(still) // 3:]
    assert abs(fraud_shift(sl, ys[-len(ys) // 3:], v2)) < 0.5 * abs(fraud_shift(late, yl, v2))
