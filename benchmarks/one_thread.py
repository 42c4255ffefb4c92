"""One OpenMP/BLAS/torch thread per process: a benchmark script imports this module first.

The variables must be set before numpy, scipy, torch or xgboost is imported, here and in every
worker process the script spawns (spawned workers import the script, and so this module, again),
so that times do not depend on ``--jobs`` beyond the machine's own load::

    import one_thread  # noqa: F401  (first: before numpy)
"""

from __future__ import annotations

import os

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")

for _var in VARIABLES:
    os.environ[_var] = "1"
