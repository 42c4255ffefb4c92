"""CPU thread limits: per trial, as cluster schedulers set them, and for a strategy's asks.

Numerical libraries start one thread per core by default; several trials side by side then fight
over the cores (on small shared machines, 2 OpenMP threads per trial can run many times slower than
one). Each trial gets ``cores // max_parallel`` threads (at least one) unless told otherwise.

A model-based ask factorises matrices of at most a few hundred rows. Spreading them over several
BLAS threads does not pay: starting and synchronising the threads costs more than the arithmetic,
and on a machine whose cores are busy (a trial training next to the controller, other users) one
waiting thread stalls the others. So :meth:`hpcore.strategies.base.Strategy.ask` runs inside
:func:`blas_threads`, which limits the BLAS libraries loaded in the process (numpy's and scipy's
OpenBLAS, MKL, BLIS) to ``HPCORE_BLAS_THREADS`` threads (default 1; 0 turns the limit off) for the
ask and restores them afterwards; the training code's own pools (torch, XGBoost) are not touched.
Both limits use threadpoolctl when it is installed (with scikit-learn, or ``hpcore[threads]``);
without it only the environment variables apply.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

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


_lock = threading.Lock()
_controller: Any = None
_modules_seen = -1  # len(sys.modules) when the controller was made


def blas_limit() -> int:
    """The number of BLAS threads an ask runs with (0: no limit), from ``HPCORE_BLAS_THREADS``."""
    raw = os.environ.get("HPCORE_BLAS_THREADS", "1").strip()
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"HPCORE_BLAS_THREADS={raw!r}: give a whole number of threads (0 for no limit)") from None
    if n < 0:
        raise ValueError(f"HPCORE_BLAS_THREADS={raw!r}: give a whole number of threads >= 0 (0 for no limit)")
    return n


def _get_controller() -> Any:
    """threadpoolctl's view of the loaded libraries (None without threadpoolctl), made again when
    modules were imported since: an import can load another BLAS (scipy.linalg brings its own)."""
    global _controller, _modules_seen
    with _lock:
        if _modules_seen != len(sys.modules):
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                _controller = None
            else:
                _controller = ThreadpoolController()
            _modules_seen = len(sys.modules)
    return _controller


@contextlib.contextmanager
def blas_threads() -> Iterator[None]:
    """Limits the BLAS to :func:`blas_limit` threads inside the block (a no-op without threadpoolctl).

    Example:
        >>> import numpy as np
        >>> with blas_threads():
        ...     float(np.linalg.cholesky(np.eye(3))[0, 0])
        1.0
    """
    n = blas_limit()
    controller = _get_controller() if n else None
    if controller is None:
        yield
        return
    with controller.limit(limits=n, user_api="blas"):
        yield
