"""Bundled datasets for the examples (numpy only, generated deterministically)."""

from hpcore.datasets.fraud import FraudData, auc, load_csv, make_fraud, split

__all__ = ["FraudData", "auc", "load_csv", "make_fraud", "split"]
