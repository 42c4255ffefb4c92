"""Shared test setup: one thread per library (the suite runs on small shared machines)."""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("KERAS_BACKEND", "torch")

# Training functions used by process-executor tests live in tests/ and must be importable by workers.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
