"""The Lightning adapter: the callback's hooks on a fake trainer, then real fits inside tuning jobs
(one stopped by a deterministic test stopper, one with two validations per epoch, one under 2-process
CPU DDP), both Lightning distributions, and the torch hooks."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

import hpcore  # noqa: E402
from hpcore.errors import MetricError  # noqa: E402
from hpcore.testing import stop_at_step  # noqa: E402
from hpcore_lightning import TuningCallback  # noqa: E402


@pytest.fixture
def stop_at():
    with stop_at_step("test_stop_at") as seen:
        yield seen


# ---------------------------------------------------------------------------------------------
# Layer 1: the callback's hooks called directly with a fake trainer.
# ---------------------------------------------------------------------------------------------


def fake_trainer(metrics: dict[str, float], *, sanity: bool = False, fn: str = "fit", rank0: bool = True,
                 broadcast_to: bool | None = None) -> SimpleNamespace:
    broadcast = (lambda obj, src=0: obj) if broadcast_to is None else (lambda obj, src=0: broadcast_to)
    return SimpleNamespace(callback_metrics=metrics, sanity_checking=sanity, is_global_zero=rank0,
                           state=SimpleNamespace(fn=fn), strategy=SimpleNamespace(broadcast=broadcast),
                           should_stop=False)


def test_hooks_report_steps_skip_sanity_and_stop_on_fake_trainer():
    sent: list[tuple[int, dict[str, float]]] = []
    reporter = hpcore.Reporter(0, {}, send=lambda step, m: sent.append((step, m)) or step >= 2)
    with reporter:
        cb = TuningCallback(monitor="val_auc")
        trainer = fake_trainer({"val_auc": torch.tensor(0.5), "val_loss": 1.0, "hist": torch.ones(3)})
        cb.on_fit_start(trainer, None)
        cb.on_validation_end(fake_trainer({"val_auc": 0.1}, sanity=True), None)  # sanity check: skipped
        cb.on_validation_end(fake_trainer({"val_auc": 0.1}, fn="validate"), None)  # not fitting: skipped
        cb.on_validation_end(trainer, None)
        assert not trainer.should_stop and cb.stop_reason is None
        trainer.callback_metrics = {"val_auc": 0.7, "val_loss": 0.5}
        cb.on_validation_end(trainer, None)
    assert [s for s, _ in sent] == [1, 2]
    assert sent[0][1] == {"val_auc": 0.5, "val_loss": 1.0}  # the 3-element tensor is not a scalar
    assert trainer.should_stop is True
    assert cb.stop_reason == "hpcore stopped the trial at step 2 (val_auc=0.7)"


def test_second_fit_continues_steps_and_resets_state():
    reporter = hpcore.Reporter(0, {}, send=lambda step, m: False)
    with reporter:
        cb = TuningCallback(monitor="acc")
        for _fit in range(2):
            trainer = fake_trainer({"acc": 0.5})
            cb.on_fit_start(trainer, None)
            cb.on_validation_end(trainer, None)
            cb.on_validation_end(trainer, None)
    assert reporter.last_step == 4 and cb.last_step == 4


def test_non_zero_rank_follows_the_broadcast_decision_without_reporting():
    with hpcore.Reporter(0, {}, send=lambda step, m: pytest.fail("rank 1 must not report")):
        cb = TuningCallback(monitor="acc")
        trainer = fake_trainer({"acc": 0.5}, rank0=False, broadcast_to=True)
        cb.on_fit_start(trainer, None)
        cb.on_validation_end(trainer, None)
    assert trainer.should_stop is True and "rank 0" in cb.stop_reason


def test_missing_metric_lists_the_available_names():
    with hpcore.Reporter(0, {}, send=lambda step, m: False):
        cb = TuningCallback(monitor="val_auc")
        trainer = fake_trainer({"val_loss": 0.3, "train_loss": 0.4})
        cb.on_fit_start(trainer, None)
        with pytest.raises(MetricError, match=r"'val_auc'.*available: 'train_loss', 'val_loss'"):
            cb.on_validation_end(trainer, None)


def test_outside_a_job_does_nothing_and_warns_once():
    cb = TuningCallback(monitor="acc")
    trainer = fake_trainer({"acc": 0.5})
    with pytest.warns(UserWarning, match="not inside a tuning trial") as caught:
        for _ in range(2):
            cb.on_fit_start(trainer, None)
            cb.on_validation_end(trainer, None)
    assert len([w for w in caught if "tuning trial" in str(w.message)]) == 1
    assert trainer.should_stop is False and cb.stop_reason is None


def test_callback_is_a_callback_of_each_installed_distribution():
    cb = TuningCallback(monitor="acc")
    assert isinstance(cb, pl.Callback)
    try:
        import pytorch_lightning
    except ModuleNotFoundError:
        return
    cb = TuningCallback(monitor="acc")
    assert isinstance(cb, pl.Callback) and isinstance(cb, pytorch_lightning.Callback)


# ---------------------------------------------------------------------------------------------
# Layer 2: real fits inside tuning jobs.
# ---------------------------------------------------------------------------------------------


class TinyModel(pl.LightningModule):
    """A linear classifier on random data that logs ``val_acc`` and records its last epoch."""

    def __init__(self, record: str | None = None) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(8, 2)
        self.record = record

    def training_step(self, batch, _idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self.layer(x), y)

    def validation_step(self, batch, _idx):
        x, y = batch
        self.log("val_acc", (self.layer(x).argmax(1) == y).float().mean(), sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def on_train_end(self) -> None:
        if self.record:
            with open(f"{self.record}.{self.global_rank}", "w") as f:
                json.dump({"epoch": self.current_epoch, "should_stop": self.trainer.should_stop}, f)


def loaders(n: int = 64, batch: int = 16):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] > 0).long()
    ds = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(ds, batch_size=batch), torch.utils.data.DataLoader(ds, batch_size=batch)


def trainer_for(module=pl, **kwargs) -> Any:
    base = dict(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                enable_model_summary=False, max_epochs=6)
    base.update(kwargs)
    return module.Trainer(**base)


def run_job(train, stop_at_step: int = 3) -> tuple[Any, Any]:
    job = hpcore.TuningJob(train, {"lr": hpcore.Float(0.01, 0.1)}, objective="val_acc", direction="maximize",
                           strategy="random", max_trials=1, early_stopping="test_stop_at",
                           stopper_options={"at": stop_at_step}, seed=0, progress=False)
    return job, job.run()


def test_real_fit_is_stopped_at_the_stoppers_step(stop_at):
    def train(params, reporter):
        cb = TuningCallback(monitor="val_acc")
        trainer = trainer_for(callbacks=[cb])
        trainer.fit(TinyModel(), *loaders())
        assert trainer.should_stop and trainer.current_epoch == 3  # 3 validations, then stopped
        assert cb.stop_reason.startswith("hpcore stopped the trial at step 3")

    job, result = run_job(train)
    record = result.trials[0]
    assert record.state.value == "stopped" and record.step == 3 and record.reason == "test stop at step 3"
    assert [s for _, s, _ in stop_at] == [1, 2, 3]
    assert record.value == pytest.approx(stop_at[-1][2])  # the objective is the last value reported
    reported = [m["val_acc"] for *_, m in job.store.reports(job.name, record.id)]
    assert reported == pytest.approx([v for *_, v in stop_at])


def test_two_validations_per_epoch_use_distinct_steps(stop_at):
    def train(params, reporter):
        trainer = trainer_for(callbacks=[TuningCallback(monitor="val_acc")], max_epochs=2, val_check_interval=0.5)
        trainer.fit(TinyModel(), *loaders())

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ignored, it does not follow step.*")
        _, result = run_job(train, stop_at_step=99)
    assert [s for _, s, _ in stop_at] == [1, 2, 3, 4]
    assert result.trials[0].state.value == "completed" and result.trials[0].step == 4


def test_pytorch_lightning_trainer_accepts_the_callback(stop_at):
    ptl = pytest.importorskip("pytorch_lightning")

    class PTLModel(ptl.LightningModule):
        training_step = TinyModel.training_step
        validation_step = TinyModel.validation_step
        configure_optimizers = TinyModel.configure_optimizers

        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(8, 2)

    def train(params, reporter):
        trainer = trainer_for(ptl, callbacks=[TuningCallback(monitor="val_acc")])
        trainer.fit(PTLModel(), *loaders())

    _, result = run_job(train, stop_at_step=2)
    assert result.trials[0].state.value == "stopped" and result.trials[0].step == 2


def _ddp_train(params: dict[str, Any], reporter: Any) -> None:
    trainer = trainer_for(callbacks=[TuningCallback(monitor="val_acc")], strategy="ddp_spawn", devices=2,
                          max_epochs=6)
    trainer.fit(TinyModel(record=params["record"]), *loaders())


@pytest.mark.slow
def test_ddp_spawn_two_processes_stop_together(stop_at, tmp_path):
    record = str(tmp_path / "rank")
    job = hpcore.TuningJob(_ddp_train, {"lr": hpcore.Float(0.01, 0.1), "record": hpcore.Categorical([record])},
                           objective="val_acc", direction="maximize", strategy="random", max_trials=1,
                           early_stopping="test_stop_at", stopper_options={"at": 2}, seed=0, progress=False)
    result = job.run()
    trial = result.trials[0]
    assert trial.state.value == "stopped" and trial.step == 2, trial.error
    assert [s for _, s, _ in stop_at] == [1, 2]  # only rank 0 reported
    assert trial.value == pytest.approx(stop_at[-1][2])
    assert os.path.exists(f"{record}.1"), "rank 1 did not finish its fit"
    ranks = [json.loads(Path(f"{record}.{rank}").read_text()) for rank in (0, 1)]
    assert ranks[0] == ranks[1] == {"epoch": 2, "should_stop": True}


class PresetModel(TinyModel):
    """TinyModel whose optimizer comes from the trial's optimizer preset values."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__()
        self.params = params

    def configure_optimizers(self):
        import hpcore_lightning

        return hpcore_lightning.make_optimizer(self.params, self)


def test_every_preset_optimizer_trains_a_real_fit():
    used: list[tuple[dict[str, Any], Any]] = []

    def train(params, reporter):
        trainer = trainer_for(callbacks=[TuningCallback(monitor="val_acc")], max_epochs=2)
        trainer.fit(PresetModel(params), *loaders())
        used.append((params, trainer.optimizers[0]))

    space = hpcore.presets.optimizer(lr=(0.01, 0.1), init=None)
    job = hpcore.TuningJob(train, space, objective="val_acc", direction="maximize", strategy="random",
                           max_trials=6, seed=10, progress=False)  # seed 10 draws all four
    trials = job.run().trials
    assert all(t.state.value == "completed" and t.step == 2 for t in trials), [t.error for t in trials]
    assert {type(opt).__name__.lower() for _, opt in used} == {"adam", "adamw", "sgd", "rmsprop"}
    for params, opt in used:
        assert type(opt).__name__.lower() == params["optimizer"]
        assert opt.param_groups[0]["lr"] == params["lr"]
        if "momentum" in params:
            assert opt.param_groups[0]["momentum"] == params["momentum"]


class LrModel(TinyModel):
    def __init__(self, lr: float) -> None:
        super().__init__()
        self.lr = lr

    def validation_step(self, batch, _idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.cross_entropy(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def test_the_auto_stopper_stops_real_fits_that_barely_learn():
    def train(params, reporter):
        torch.manual_seed(0)
        trainer_for(callbacks=[TuningCallback(monitor="val_loss", save_model=False)], max_epochs=10).fit(
            LrModel(params["lr"]), *loaders())

    result = hpcore.TuningJob(train, {"lr": hpcore.Float(1e-5, 1.0, scale="log")}, objective="val_loss",
                              strategy="random", early_stopping="auto", max_trials=10, seed=1, progress=False).run()
    stopped = [t for t in result.trials if t.state.value == "stopped"]
    assert stopped and all(t.reason.startswith("auto:") and 2 < t.step < 10 for t in stopped), \
        [(t.params, t.state, t.step) for t in result.trials]
    assert max(t.params["lr"] for t in stopped) < result.best.params["lr"]
