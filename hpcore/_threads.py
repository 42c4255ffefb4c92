"""Per-trial CPU thread limits, as cluster schedulers set them.

Numerical libraries start one thread per core by default; several trials side by side then fight
over the cores (on small shared machines, 2 OpenMP threads per trial can run many times slower than
one). Each trial gets ``cores // max_parallel`` threads (at least one) unless told otherwise.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_trial(max_parallel: int, cores: int | None = None) -> int:
    return max(1, (cores or available_cores()) // max(1, max_parallel))


def thread_env(n: int) -> dict[str, str]:
    """Environment variables that cap the thread pools of libraries loaded after they are set."""
    return {var: str(n) for var in THREAD_VARS}


@contextlib.contextmanager
def limit_threads(n: int | None) -> Iterator[None]:
    """Caps threads for libraries loaded later (environment) and already loaded (torch, BLAS)."""
    if not n:
        yield
        return
    saved_env = {var: os.environ.get(var) for var in THREAD_VARS}
    os.environ.update(thread_env(n))
    torch = sys.modules.get("torch")
    saved_torch = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    limiter = None
    try:
        import threadpoolctl  # optional: caps BLAS/OpenMP pools already loaded
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        limiter = threadpoolctl.threadpool_limits(limits=n)
    try:
        yield
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
        if torch is not None and saved_torch is not None:
            torch.set_num_threads(saved_torch)
        for var, value in saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
