"""The Lightning adapter keeps the trial's model and checkpoints: ``result.best.load_model()`` gives back
the monitored-best (or last) state as a LightningModule, and a trial run again after an error resumes its
fit from the checkpoint (``ckpt_path=cb.ckpt_path``) with its reported steps continuing."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

import hpcore  # noqa: E402
from hpcore.models import ModelNotFound  # noqa: E402
from hpcore_lightning import TuningCallback  # noqa: E402
from hpcore_lightning.plugin import ModelClassNotFound  # noqa: E402

FIXED = torch.linspace(-1.0, 1.0, 12).reshape(3, 4)  # the input whose predictions identify a state
PREDS: dict[Any, dict[int, torch.Tensor]] = {}  # (tag, trial id) -> epoch -> predictions on FIXED
EVENTS: dict[Any, list[tuple[str, int]]] = {}  # tag -> ("epoch"/"val", epoch) in the order they happened


class Regressor(pl.LightningModule):
    """A small MLP regressor; it logs ``val_loss`` and ``val_error``, whose best is at epoch ``peak``."""

    def __init__(self, lr: float = 0.05, hidden: int = 8, peak: int = 2) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
        self.tag: Any = None
        self.fail_at: int | None = None

    def forward(self, x):
        return self.net(x).squeeze(-1)

    def training_step(self, batch, _idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch, _idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y), sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        self.log("val_error", float(abs(self.current_epoch - self.hparams.peak)), sync_dist=True)
        with torch.no_grad():
            PREDS.setdefault(self.tag, {})[self.current_epoch] = self(FIXED).clone()
        EVENTS.setdefault(self.tag, []).append(("val", self.current_epoch))

    def on_train_epoch_start(self) -> None:
        EVENTS.setdefault(self.tag, []).append(("epoch", self.current_epoch))
        if self.current_epoch == self.fail_at:
            raise RuntimeError(f"injected failure at epoch {self.fail_at}")

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def loaders(n: int = 48):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 0.1 * torch.randn(n, generator=g)
    ds = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(ds, batch_size=16), torch.utils.data.DataLoader(ds, batch_size=48)


def make_trainer(cb: Any, max_epochs: int) -> Any:
    return pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, num_sanity_val_steps=0, max_epochs=max_epochs, callbacks=[cb])


def predict(model: Any) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(FIXED)


@pytest.mark.parametrize("save_model, kept_epoch", [(True, 2), ("last", 4)])
def test_best_trial_loads_the_monitored_best_or_the_last_state(tmp_path, save_model, kept_epoch):
    tag = ("models", save_model)

    def train(params: dict[str, Any], reporter: Any) -> None:
        cb = TuningCallback(monitor="val_error", save_model=save_model, checkpoint_every=0)
        assert cb.mode == "min"  # inferred from the name
        pl.seed_everything(reporter.trial_id, verbose=False)
        model = Regressor(lr=params["lr"])
        model.tag = (tag, reporter.trial_id)
        make_trainer(cb, max_epochs=5).fit(model, *loaders())
        assert cb.best == (0.0 if save_model is True else None)

    result = hpcore.TuningJob(train, {"lr": hpcore.Float(0.01, 0.1)}, objective="val_loss", strategy="random",
                              max_trials=2, seed=0, store=str(tmp_path / "t.db"), progress=False).run()
    assert [t.state.value for t in result.trials] == ["completed", "completed"], [t.error for t in result.trials]
    best = result.best
    assert {"model/model.ckpt", "hpcore-model.json"} <= {a.path for a in best.artifacts}
    model = best.load_model()
    assert not model.training  # eval mode: ready to predict
    assert type(model) is Regressor and model.hparams.lr == best.params["lr"]
    preds = PREDS[(tag, best.id)]
    assert torch.equal(predict(model), preds[kept_epoch])
    other = 4 if kept_epoch == 2 else 2
    assert not torch.allclose(predict(model), preds[other])  # the states differ: the check means something
    again = hpcore.TuningResult.from_store(str(tmp_path / "t.db")).best.load_model()  # read back from the store
    assert torch.equal(predict(again), preds[kept_epoch])


def test_save_model_false_saves_nothing_and_a_local_class_needs_model_class(tmp_path):
    class Local(Regressor):
        pass

    def train(params: dict[str, Any], reporter: Any) -> None:
        keep = reporter.trial_id == 1
        cb = TuningCallback(monitor="val_loss", save_model=keep, checkpoint_every=0)
        model = (Local if keep else Regressor)(lr=params["lr"])
        make_trainer(cb, max_epochs=2).fit(model, *loaders())

    result = hpcore.TuningJob(train, {"lr": hpcore.Float(0.01, 0.1)}, objective="val_loss", strategy="random",
                              max_trials=2, seed=0, store=str(tmp_path / "t.db"), progress=False).run()
    nothing, local = result.trials
    assert nothing.artifacts == []
    with pytest.raises(ModelNotFound, match="saved no model"):
        nothing.load_model()
    with pytest.raises(ModelClassNotFound, match=r"<locals>\.Local.*load_model\(model_class=MyModule\)"):
        local.load_model()
    assert type(local.load_model(model_class=Local)) is Local


def test_a_module_without_saved_hyperparameters_warns_when_its_model_is_kept():
    class Bare(pl.LightningModule):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, width)

        def training_step(self, batch, _idx):
            return self.layer(batch[0]).pow(2).mean()

        def validation_step(self, batch, _idx):
            self.log("val_loss", self.layer(batch[0]).pow(2).mean())

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    with hpcore.Reporter(0, {}) as reporter, pytest.warns(UserWarning, match=r"self\.save_hyperparameters\(\)"):
        make_trainer(TuningCallback(monitor="val_loss"), max_epochs=1).fit(Bare(2), *loaders())
    assert reporter.files.dir and (reporter.last_step == 1)


def test_a_failed_trial_resumes_its_fit_from_the_checkpoint(tmp_path):
    epochs, fail_at, every = 8, 4, 2

    def train(params: dict[str, Any], reporter: Any) -> None:
        cb = TuningCallback(monitor="val_loss", checkpoint_every=every, checkpoint_budget=None)
        pl.seed_everything(0, verbose=False)
        model = Regressor(lr=params["lr"])
        model.tag = "resumed"
        model.fail_at = fail_at if reporter.attempt == 0 else None
        make_trainer(cb, max_epochs=epochs).fit(model, *loaders(), ckpt_path=cb.ckpt_path)

    db = str(tmp_path / "t.db")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ignored, it does not follow step.*")
        job = hpcore.TuningJob(train, {"lr": hpcore.Categorical([0.05])}, objective="val_loss", strategy="random",
                               max_trials=1, max_retries=1, seed=0, store=db, progress=False)
        job.run()
    result = hpcore.TuningResult.from_store(db)
    trial = result.trials[0]
    assert trial.state.value == "completed" and trial.attempt == 1, trial.error
    curve = result.curves[trial.id]
    assert [s for s, _ in curve] == list(range(1, epochs + 1))  # no duplicate, no gap

    # The rerun started at the epoch after the checkpoint (step 4 = 4 validations), not at epoch 0:
    # fewer epochs ran in total than a restart would, one validation per epoch (one per step).
    started = [e for kind, e in EVENTS["resumed"] if kind == "epoch"]
    assert started == [*range(fail_at + 1), *range(fail_at, epochs)]
    assert len(started) < fail_at + 1 + epochs
    assert [e for kind, e in EVENTS["resumed"] if kind == "val"] == [*range(fail_at), *range(fail_at, epochs)]

    # The resumed fit is the uninterrupted one: weights, optimizer and loops came back from the checkpoint.
    seen: list[float] = []
    with hpcore.Reporter(0, {}, send=lambda step, m: seen.append(m["val_loss"]) or False):
        cb = TuningCallback(monitor="val_loss", checkpoint_every=0)
        pl.seed_everything(0, verbose=False)
        reference = Regressor(lr=0.05)
        reference.tag = "reference"
        make_trainer(cb, max_epochs=epochs).fit(reference, *loaders())
    assert [m["val_loss"] for _, m in curve] == pytest.approx(seen, rel=1e-5)
    best_epoch = min(range(epochs), key=lambda e: seen[e])
    assert math.isclose(cb.best, seen[best_epoch])
    assert torch.allclose(predict(trial.load_model()), PREDS["reference"][best_epoch], atol=1e-5)


class Logged(Regressor):
    """Regressor that appends ``rank epoch`` lines to a file when an epoch starts (ranks run in other processes)."""

    def on_train_epoch_start(self) -> None:
        with open(self.tag, "a") as f:
            f.write(f"{self.global_rank} {self.current_epoch}\n")
        if self.current_epoch == self.fail_at:
            raise RuntimeError(f"injected failure at epoch {self.fail_at}")


def _ddp_train(params: dict[str, Any], reporter: Any) -> None:
    cb = TuningCallback(monitor="val_loss", checkpoint_every=1, checkpoint_budget=None)
    model = Logged(lr=0.05)
    model.tag, model.fail_at = params["log"], (2 if reporter.attempt == 0 else None)
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_spawn", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, max_epochs=4,
                         callbacks=[cb])
    trainer.fit(model, *loaders(), ckpt_path=cb.ckpt_path)


@pytest.mark.slow
def test_ddp_spawn_ranks_save_the_model_and_resume_from_the_checkpoint(tmp_path):
    log = tmp_path / "epochs.log"
    db = str(tmp_path / "t.db")
    hpcore.TuningJob(_ddp_train, {"log": hpcore.Categorical([str(log)])}, objective="val_loss", strategy="random",
                     max_trials=1, max_retries=1, seed=0, store=db, progress=False).run()
    result = hpcore.TuningResult.from_store(db)
    trial = result.trials[0]
    assert trial.state.value == "completed" and trial.attempt == 1, trial.error
    assert [s for s, _ in result.curves[trial.id]] == [1, 2, 3, 4]
    started = [line.split() for line in log.read_text().splitlines()]
    for rank in ("0", "1"):  # both ranks resumed at epoch 2, after the checkpoint of step 2
        assert [int(e) for r, e in started if r == rank] == [0, 1, 2, 2, 3]
    losses = [m["val_loss"] for _, m in result.curves[trial.id]]
    model = trial.load_model()
    assert type(model) is Logged and "model/model.ckpt" in {a.path for a in trial.artifacts}
    x, y = next(iter(loaders()[1]))  # the kept state is the one of the best validation (both ranks' halves)
    model.eval()
    with torch.no_grad():
        assert torch.nn.functional.mse_loss(model(x), y).item() == pytest.approx(min(losses), rel=1e-5)
