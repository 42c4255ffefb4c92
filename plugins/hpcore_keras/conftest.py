"""Doctest collection of this package: Keras on the torch backend, one thread; skipped without Keras."""

import importlib.util
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras (no TensorFlow here)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# These modules import keras at the top; without it their doctests cannot even be collected.
collect_ignore = [] if importlib.util.find_spec("keras") else ["callback.py", "layers.py"]
