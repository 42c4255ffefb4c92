"""The cost of the Lightning adapter's checkpoints: a small but realistic Lightning fit, one thread.

``run(epochs, every, seed)`` trains an MLP (32 features, 128-64 hidden units, Adam) on 5,000 generated
rows, validated on 1,000 each epoch, twice inside a trial's reporter: once with
``TuningCallback(checkpoint_every=every)`` and once with ``checkpoint_every=0``; neither keeps the
model, so only checkpoints differ. It returns the mean epoch time without checkpoints, the mean
time of one checkpoint (a full ``last.ckpt``: weights, optimizer state, loops, callbacks, measured
around ``reporter.save_checkpoint``) and the end-to-end relative difference::

    python benchmarks/ckpt_lightning.py
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import one_thread  # noqa: E402,F401  (first: before numpy and torch)
from ckpt_common import compare, time_checkpoints  # noqa: E402

sys.path.insert(0, os.path.dirname(HERE))

ROWS, VALID, FEATURES = 5_000, 1_000, 32


def _loaders(seed: int) -> tuple[Any, Any]:
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(ROWS + VALID, FEATURES, generator=g)
    w = torch.randn(FEATURES, generator=g)
    y = ((x @ w + 0.5 * torch.sin(3 * x[:, 0]) + 0.5 * torch.randn(ROWS + VALID, generator=g)) > 0).float()
    data = torch.utils.data.TensorDataset(x, y)
    train = torch.utils.data.Subset(data, range(ROWS))
    valid = torch.utils.data.Subset(data, range(ROWS, ROWS + VALID))
    return (torch.utils.data.DataLoader(train, batch_size=64, shuffle=True, generator=g),
            torch.utils.data.DataLoader(valid, batch_size=500))


def _module() -> Any:
    import lightning.pytorch as pl
    import torch

    class MLP(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(FEATURES, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                                           torch.nn.ReLU(), torch.nn.Linear(64, 1))

        def _loss(self, batch: Any) -> Any:
            x, y = batch
            return torch.nn.functional.binary_cross_entropy_with_logits(self.net(x).squeeze(-1), y)

        def training_step(self, batch: Any, _: int) -> Any:
            return self._loss(batch)

        def validation_step(self, batch: Any, _: int) -> None:
            self.log("val_loss", self._loss(batch))

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    return MLP()


def _fit(epochs: int, every: int, budget: float | None, seed: int, spent: list[float]) -> float:
    """Seconds of one fit with a checkpoint every ``every`` epochs; appends each checkpoint's seconds."""
    import lightning.pytorch as pl

    from hpcore.reporter import Reporter
    from hpcore_lightning import TuningCallback

    pl.seed_everything(seed, verbose=False)
    with Reporter(0, {}, threads=1) as reporter:
        time_checkpoints(reporter, spent)
        cb = TuningCallback(monitor="val_loss", save_model=False, checkpoint_every=every,
                            checkpoint_budget=budget)
        trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, callbacks=[cb],
                             enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                             num_sanity_val_steps=0)
        t0 = time.perf_counter()
        trainer.fit(_module(), *_loaders(seed))
        return time.perf_counter() - t0


def run(epochs: int = 20, every: int = 5, seed: int = 0) -> dict[str, Any]:
    """The fit without checkpoints, with one exactly every ``every`` reports and with the defaults:
    the figures of :func:`ckpt_common.compare`."""
    import logging

    import torch

    one_thread.limit_torch(torch)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    _fit(2, 1, None, seed, [])  # warm-up (imports, first-call costs, one checkpoint), untimed
    return compare(lambda ck, budget, spent: _fit(epochs, ck, budget, seed, spent), epochs, every, seed)


if __name__ == "__main__":
    print(run())
