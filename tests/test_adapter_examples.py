"""The adapter examples run end to end with a tiny budget (one command each, as documented)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    ("lightning_cnn", "lightning", ["--trials", "2", "--epochs", "1"], "val_acc"),
    ("keras_cnn", "keras", ["--trials", "2", "--epochs", "1"], "val_auc"),
    ("xgboost_trees", "xgboost", ["--trials", "2", "--rounds", "10"], "test-auc"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, framework, args, objective", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_runs_with_a_tiny_budget(name, framework, args, objective, tmp_path):
    pytest.importorskip(framework)
    env = {**os.environ, "KERAS_BACKEND": "torch", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / name / "tune.py"), *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 trials" in proc.stdout and f"{objective} = " in proc.stdout, proc.stdout
