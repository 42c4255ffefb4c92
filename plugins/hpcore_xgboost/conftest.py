"""Doctest collection of this package: skips the modules that import xgboost when it is missing."""

import importlib.util
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
collect_ignore = [] if importlib.util.find_spec("xgboost") else ["callback.py"]
