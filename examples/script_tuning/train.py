"""A stand-alone training script that knows nothing of hpcore (any language would do).

It reads its hyperparameters from the command line (``--lr 0.01 --momentum 0.9``), trains a small
least-squares model by gradient descent with momentum, and prints one line per epoch:
``epoch=3 val_loss=0.1234``. hpcore reads those lines with the regexes of ``job.yaml``.
"""

import argparse
import math
import random
import signal
import sys


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--momentum", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=20)
    args = p.parse_args()
    # Early stopping sends SIGTERM: leave cleanly, as a real trainer would after saving a checkpoint.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    rng = random.Random(0)
    xs = [rng.uniform(-1, 1) for _ in range(200)]
    ys = [3.0 * x - 0.5 + rng.gauss(0, 0.1) for x in xs]
    w = b = vw = vb = 0.0
    for epoch in range(1, args.epochs + 1):
        gw = sum(2 * (w * x + b - y) * x for x, y in zip(xs, ys)) / len(xs)
        gb = sum(2 * (w * x + b - y) for x, y in zip(xs, ys)) / len(xs)
        vw, vb = args.momentum * vw - args.lr * gw, args.momentum * vb - args.lr * gb
        w, b = w + vw, b + vb
        loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
        if not math.isfinite(loss):
            print("diverged", flush=True)
            return 1
        print(f"epoch={epoch} val_loss={loss:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
