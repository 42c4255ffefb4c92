"""One OpenMP/BLAS/torch thread per process: a benchmark script imports this module first.

The variables must be set before numpy, scipy, torch or xgboost is imported, here and in every
worker process the script spawns (spawned workers import the script, and so this module, again),
so that times do not depend on ``--jobs`` beyond the machine's own load::

    import one_thread  # noqa: F401  (first: before numpy)

``BENCH_THREADS=default`` leaves the variables as they are (unset: every library's own default,
one thread per core), to measure what a user who sets none of them gets::

    BENCH_THREADS=default python benchmarks/compare.py ...
"""

from __future__ import annotations

import os

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")
MODE = os.environ.get("BENCH_THREADS", "1")
if MODE not in ("1", "default"):
    raise SystemExit(f"BENCH_THREADS={MODE!r}: use 1 (one thread per process, the default) or default")

if MODE == "1":
    for _var in VARIABLES:
        os.environ[_var] = "1"


def limit_torch(torch: object) -> None:
    """One torch thread too, unless ``BENCH_THREADS=default`` (then torch keeps its own default)."""
    if MODE == "1":
        torch.set_num_threads(1)  # type: ignore[attr-defined]
