"""A small end-to-end tuning job with numpy only: ridge-regularised logistic regression by gradient
descent on generated data, tuning the learning rate, the L2 penalty and the number of epochs.

    hpcore example quickstart --trials 20 --store hpcore-runs/quickstart.db
"""

from __future__ import annotations

import argparse

import numpy as np

import hpcore


def make_data(seed: int = 0, n: int = 2000, d: int = 20) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d) * (rng.random(d) < 0.4)
    x = rng.normal(size=(n, d))
    y = (x @ w + rng.normal(scale=1.0, size=n) > 0).astype(float)
    split = n * 3 // 4
    return x[:split], y[:split], x[split:], y[split:]


def train(params: dict, reporter: hpcore.Reporter) -> dict:
    """Trains the model for ``params["epochs"]`` epochs, reporting validation log loss each epoch."""
    xtr, ytr, xva, yva = make_data()
    w = np.zeros(xtr.shape[1])
    loss = float("nan")
    for epoch in range(1, params["epochs"] + 1):
        p = 1 / (1 + np.exp(-xtr @ w))
        w -= params["lr"] * (xtr.T @ (p - ytr) / len(ytr) + params["l2"] * w)
        q = np.clip(1 / (1 + np.exp(-xva @ w)), 1e-9, 1 - 1e-9)
        loss = float(-np.mean(yva * np.log(q) + (1 - yva) * np.log(1 - q)))
        if reporter.report(epoch, val_loss=loss):
            break
    return {"val_loss": loss}


SPACE = hpcore.SearchSpace({
    "lr": hpcore.Float(1e-3, 10.0, scale="log", category="optimizer"),
    "l2": hpcore.Float(1e-6, 1.0, scale="log", category="optimizer"),
    "epochs": hpcore.Int(5, 60, category="model"),
})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hpcore example quickstart", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--strategy", default="bayesian" if "bayesian" in hpcore.plugins.registry("strategies")
                    else "random")
    ap.add_argument("--store", default="hpcore-runs/quickstart.db")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    job = hpcore.TuningJob(train, SPACE, objective="val_loss", direction="minimize", strategy=a.strategy,
                           max_trials=a.trials, store=a.store, seed=a.seed, name=f"quickstart-{a.strategy}")
    result = job.run()
    print(result.summary())
    print(f"store: {a.store}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
