"""Tunes a small Lightning CNN: model shape, optimizer and data augmentation, with early stopping.

The images are generated here: 16x16 noisy pictures of a horizontal or a vertical bar, to tell apart.
Run it with ``python examples/lightning_cnn/tune.py`` (about 2-3 minutes on 2 CPU cores) or
``--trials 2 --epochs 2`` for a quick look.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread per trial: more is slower on small models

import lightning.pytorch as pl  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import hpcore  # noqa: E402
import hpcore_lightning  # noqa: E402
from hpcore import presets  # noqa: E402
from hpcore_lightning import TuningCallback  # noqa: E402

logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no per-trial banners
warnings.filterwarnings("ignore", message=".*treespec.*")  # a torch deprecation inside Lightning


def make_images(n: int, seed: int) -> torch.utils.data.TensorDataset:
    """``n`` noisy 1x16x16 images of a bar, horizontal (label 0) or vertical (label 1), anywhere."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    images = 0.6 * torch.randn(n, 1, 16, 16, generator=g)
    where = torch.randint(2, 14, (n, 2), generator=g)
    for i in range(n):
        r, c = int(where[i, 0]), int(where[i, 1])
        if labels[i] == 0:
            images[i, 0, r, max(c - 5, 0):c + 5] += 1.5
        else:
            images[i, 0, max(r - 5, 0):r + 5, c] += 1.5
    return torch.utils.data.TensorDataset(images, labels)


class BarNet(pl.LightningModule):
    """A CNN whose shape (model), optimizer and augmentation (data) come from the trial's parameters."""

    def __init__(self, params: dict) -> None:
        super().__init__()
        self.params = params
        self.augment = hpcore_lightning.make_augmentation(params)  # data: crop, flip, rotation, noise
        layers: list[nn.Module] = []
        channels, width = 1, int(params["filters"])
        pool = nn.MaxPool2d if params["pooling"] == "max" else nn.AvgPool2d
        for _block in range(int(params["depth"])):
            k = int(params["filter_size"])
            layers += [nn.Conv2d(channels, width, k, padding=k // 2), nn.ReLU(), pool(2)]
            channels, width = width, width * 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(float(params["dropout"])),
                                  nn.Linear(channels, 2))
        hpcore_lightning.init_weights(self, params)  # optimizer category: Xavier or He

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def training_step(self, batch, _idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self(self.augment(x)), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, _idx):
        x, y = batch
        self.log("val_acc", (self(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return hpcore_lightning.make_optimizer(self.params, self)  # the trial's optimizer, active values only


def train(params: dict, reporter: hpcore.Reporter, epochs: int = 6) -> None:
    torch.manual_seed(0)
    train_dl = torch.utils.data.DataLoader(make_images(512, 0), batch_size=64, shuffle=True)
    valid_dl = torch.utils.data.DataLoader(make_images(256, 1), batch_size=128)
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[TuningCallback(monitor="val_acc")])
    trainer.fit(BarNet(params), train_dl, valid_dl)
    # Returning nothing: the trial's objective is the last val_acc the callback reported.


def space() -> hpcore.SearchSpace:
    return hpcore.SearchSpace({
        **presets.conv_model(filter_size=(3, 5), filters=(4, 16), depth=(1, 2), stride=None, padding=None,
                             dropout=(0.0, 0.3)),
        **presets.optimizer(lr=(1e-3, 1e-1), beta1=None, beta2=None, momentum=(0.5, 0.95),
                            weight_decay=(1e-6, 1e-3), init=("xavier_uniform", "he_normal")),
        **presets.augmentation(crop_scale=(0.7, 1.0), hflip=(0.0, 0.5), rotation=(0.0, 10.0)),
    })


def main(argv: list[str] | None = None) -> hpcore.TuningResult:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--parallel", type=int, default=1, help="trials at once (one per CPU core)")
    args = parser.parse_args(argv)
    job = hpcore.TuningJob(functools.partial(train, epochs=args.epochs), space(), objective="val_acc",
                           direction="maximize", strategy="random", max_trials=args.trials,
                           max_parallel=args.parallel, early_stopping="median", seed=0, progress=False)
    result = job.run()
    print(result.summary())
    return result


if __name__ == "__main__":
    main()
