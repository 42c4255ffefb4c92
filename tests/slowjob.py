"""A job that writes its store slowly, for tests that watch a running job: ``slowjob.py STORE SLEEP N``."""

import sys
import time

import hpcore


def train(params, reporter):
    loss = None
    for step in range(1, 6):
        loss = (params["x"] - 0.3) ** 2 + 1 / step + 0.1 * params["k"]
        if reporter.report(step, loss=loss):
            break
        time.sleep(float(sys.argv[2]))
    if params["x"] > 0.85:
        raise ValueError(f"x={params['x']:.2f} diverged")
    return {"loss": loss}


if __name__ == "__main__":
    space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0), "k": hpcore.Int(1, 4),
                                "opt": hpcore.Categorical(["adam", "sgd"])})
    hpcore.TuningJob(train, space, objective="loss", store=sys.argv[1], strategy="random", max_trials=int(sys.argv[3]),
                     early_stopping="median", seed=0, progress=False, fail_fast=None,
                     name=sys.argv[4] if len(sys.argv) > 4 else "default").run()
