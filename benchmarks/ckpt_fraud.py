"""The cost of checkpoints in the built-in linear learner (the fraud example's trainer), one thread.

``run(epochs, every, seed)`` fits the linear learner on the example's 100,000 generated rows twice, with a
checkpoint every ``every`` epochs and without, and returns the mean epoch time, the mean time of
one checkpoint and the relative overhead. Used by ``bench_checkpoint.py``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from hpcore.algorithms.linear_learner import fit, linear_learner_space, load_data  # noqa: E402
from hpcore.reporter import Reporter  # noqa: E402


def run(epochs: int = 30, every: int = 5, seed: int = 0) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    data = load_data(100_000, 0)
    params = dict(linear_learner_space().defaults(), epochs=epochs)
    fit(dict(params, epochs=2), data, Reporter(0, params), seed=seed, checkpoint_every=1)  # warm-up, untimed
    times: dict[int, float] = {}
    spent: list[float] = []
    for ck in ((0, every) if seed % 2 == 0 else (every, 0)):  # alternate which runs first
        reporter = Reporter(0, params, threads=1)
        save = reporter.save_checkpoint

        def timed(*args: Any, _save: Any = save, **kwargs: Any) -> str:
            t = time.perf_counter()
            out = _save(*args, **kwargs)
            spent.append(time.perf_counter() - t)
            return out

        reporter.save_checkpoint = timed  # type: ignore[method-assign]
        t0 = time.perf_counter()
        fit(params, data, reporter, seed=seed, checkpoint_every=ck)
        times[ck] = time.perf_counter() - t0
    return {"epoch_s": times[0] / epochs, "checkpoint_s": sum(spent) / max(1, len(spent)),
            "ckpt_overhead": (times[every] - times[0]) / times[0]}


if __name__ == "__main__":
    print(run())
