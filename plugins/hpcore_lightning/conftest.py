"""Doctest collection of this package: skips what needs torch or Lightning when they are missing."""

import importlib.util
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
collect_ignore = []
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("transforms.py")
if importlib.util.find_spec("lightning") is None and importlib.util.find_spec("pytorch_lightning") is None:
    collect_ignore.append("callback.py")
