"""What one decision of a stopper costs on the controller, per report, with 10 and 100 finished trials.

    python benchmarks/bench_stopper_cost.py [--rules auto median asha]

Each rule first sees ``n`` trials of 27 steps run to the end (noisy exponential curves), then 200
more trials report step by step until stopped; the figure is the mean time of ``report`` over
those reports. Compare with the job's own cost of a report (about 0.2 ms, ``bench_overhead.py``).
"""

from __future__ import annotations

import argparse
import math
import random
import time

from hpcore.stopping import create_stopper
from hpcore.trial import TrialState


def per_report(rule: str, finished: int) -> float:
    """Mean seconds of one ``report`` call of ``rule`` with ``finished`` completed trials."""
    s = create_stopper(rule, "minimize")
    rng = random.Random(0)
    for t in range(finished):
        f = rng.uniform(0.1, 0.5)
        for step in range(1, 28):
            s.report(t, step, f + math.exp(-0.3 * step) + rng.gauss(0, 0.004))
        s.finish(t, TrialState.COMPLETED, f)
    n, spent = 0, 0.0
    for t in range(finished, finished + 200):
        f = rng.uniform(0.1, 0.5)
        for step in range(1, 28):
            value = f + math.exp(-0.3 * step) + rng.gauss(0, 0.004)
            start = time.perf_counter()
            stop = s.report(t, step, value)
            spent += time.perf_counter() - start
            n += 1
            if stop:
                s.finish(t, TrialState.STOPPED, value)
                break
        else:
            s.finish(t, TrialState.COMPLETED, value)
    return spent / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", nargs="+", default=["auto", "median", "asha"])
    args = ap.parse_args()
    print("| rule | 10 finished trials | 100 finished trials |\n|---|---|---|")
    for rule in args.rules:
        print(f"| {rule} | {per_report(rule, 10) * 1e6:.0f} µs | {per_report(rule, 100) * 1e6:.0f} µs |")


if __name__ == "__main__":
    main()
