"""The presets say what goes together: each optimizer's own ranges exist only when it is chosen,
crop and rotation sit behind switches, a pool size only with pooling; configurations drawn from the
preset spaces (by ``sample`` and by a real tuning job) hold exactly their active values and
materialise into real torch and Keras objects carrying those values."""

from __future__ import annotations

import os

import pytest

from hpcore import SearchSpace, TuningJob, presets
from hpcore.errors import SearchSpaceError

os.environ.setdefault("KERAS_BACKEND", "torch")
torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
import hpcore_keras  # noqa: E402
import hpcore_lightning  # noqa: E402
from hpcore_lightning import transforms as T  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

ALWAYS = {"optimizer", "lr", "weight_decay", "init"}
OWN = {"adam": {"beta1", "beta2"}, "adamw": {"beta1", "beta2"}, "sgd": {"momentum", "nesterov"},
       "rmsprop": {"rho", "momentum"}}
TORCH = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
         "rmsprop": torch.optim.RMSprop}
KERAS = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW, "sgd": keras.optimizers.SGD,
         "rmsprop": keras.optimizers.RMSprop}


def check_torch(params: dict) -> None:
    opt = hpcore_lightning.make_optimizer(params, torch.nn.Linear(3, 2))
    assert type(opt) is TORCH[params["optimizer"]]
    group = opt.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (params["lr"], params["weight_decay"])
    if "beta1" in params:
        assert group["betas"] == (params["beta1"], params["beta2"])
    if "momentum" in params:
        assert group["momentum"] == params["momentum"]
    if "nesterov" in params:  # Nesterov with no momentum is plain SGD, which torch insists on
        assert group["nesterov"] is (params["nesterov"] and params["momentum"] > 0)
    if "rho" in params:
        assert group["alpha"] == params["rho"]


def check_keras(params: dict) -> None:
    opt = hpcore_keras.make_optimizer(params)
    cls = KERAS[params["optimizer"]]  # the backend's subclass of it, and not AdamW for Adam
    assert isinstance(opt, cls) and type(opt).__name__ == cls.__name__
    assert float(opt.learning_rate) == pytest.approx(params["lr"], rel=1e-6)
    assert opt.weight_decay == params["weight_decay"]
    if "beta1" in params:
        assert (opt.beta_1, opt.beta_2) == (params["beta1"], params["beta2"])
    if "momentum" in params:
        assert opt.momentum == params["momentum"]
    if "nesterov" in params:
        assert opt.nesterov is params["nesterov"]
    if "rho" in params:
        assert opt.rho == params["rho"]


def test_each_range_is_declared_for_the_optimizers_that_read_it():
    space = SearchSpace(presets.optimizer())
    assert space["optimizer"].values == ["adam", "adamw", "sgd", "rmsprop"]
    assert {name: space[name].when for name in space.conditional} == {
        "beta1": {"optimizer": ("adam", "adamw")}, "beta2": {"optimizer": ("adam", "adamw")},
        "momentum": {"optimizer": ("sgd", "rmsprop")}, "nesterov": {"optimizer": ("sgd",)},
        "rho": {"optimizer": ("rmsprop",)}}
    assert space.summary().splitlines()[0] == "optimizer (9, 5 conditional)"
    two = SearchSpace(presets.optimizer(optimizers=("adam", "sgd"), init=None))
    assert two.summary().splitlines()[0] == "optimizer (7, 4 conditional)"
    assert "rho" not in two and two["momentum"].when == {"optimizer": ("sgd",)}
    # A range no offered optimizer reads is left out; one all of them read has no condition.
    adam = SearchSpace(presets.optimizer(optimizers=("adam",)))
    assert set(adam) == ALWAYS | OWN["adam"] and adam.conditional == []
    sgd = SearchSpace(presets.optimizer(optimizers=("sgd",), nesterov=False))
    assert set(sgd) == ALWAYS | {"momentum"} and sgd.conditional == []
    again = SearchSpace.from_yaml(space.to_yaml())
    assert {n: again[n].when for n in again.conditional} == {n: space[n].when for n in space.conditional}
    with pytest.raises(SearchSpaceError, match="never"):  # why the preset leaves such ranges out
        SearchSpace({**presets.optimizer(optimizers=("adam",)),
                     "rho": presets.optimizer()["rho"]})


@pytest.mark.parametrize("name", presets.OPTIMIZERS)
def test_sampled_configurations_hold_their_optimizers_values_and_materialise(name):
    space = SearchSpace(presets.optimizer())
    picked = [c for c in (space.sample(seed) for seed in range(200)) if c["optimizer"] == name][:4]
    assert len(picked) == 4
    for params in picked:
        assert set(params) == ALWAYS | OWN[name]
        check_torch(params)
        check_keras(params)


def test_a_tuning_job_over_the_presets_stores_and_materialises_only_active_values(tmp_path):
    built: list[tuple[dict, object, object, object]] = []

    def train(params, reporter):
        built.append((dict(params), hpcore_lightning.make_optimizer(params, torch.nn.Linear(2, 1)),
                      hpcore_keras.make_optimizer(params), hpcore_lightning.make_augmentation(params)))
        return 0.0

    space = SearchSpace({**presets.optimizer(), **presets.augmentation(crop_size=(6, 8))})
    job = TuningJob(train, space, strategy="random", max_trials=24, seed=3, progress=False,
                    store=str(tmp_path / "s.db"))
    trials = job.run().trials
    assert {t.params["optimizer"] for t in trials} == set(presets.OPTIMIZERS)
    assert {t.params["crop"] for t in trials} == {False, True}
    for trial, (params, _, _, aug) in zip(trials, built, strict=True):
        assert trial.params == params == space.validate(params)
        assert set(params) == ALWAYS | OWN[params["optimizer"]] | {"crop", "hflip", "rotate"} | (
            {"crop_scale", "crop_size"} if params["crop"] else set()) | ({"rotation"} if params["rotate"] else set())
        check_torch(params)
        check_keras(params)
        crops = [m for m in aug if isinstance(m, T.RandomResizedCrop)]
        assert [(c.scale, c.size) for c in crops] == ([(params["crop_scale"], params["crop_size"])]
                                                      if params["crop"] else [])


def test_absent_values_take_the_frameworks_defaults():
    model = torch.nn.Linear(3, 2)
    adamw = hpcore_lightning.make_optimizer({"optimizer": "adamw", "lr": 0.01}, model).param_groups[0]
    assert (adamw["betas"], adamw["weight_decay"]) == ((0.9, 0.999), 0.01)
    half = hpcore_lightning.make_optimizer({"optimizer": "adam", "beta2": 0.95}, model).param_groups[0]
    assert (half["lr"], half["betas"], half["weight_decay"]) == (1e-3, (0.9, 0.95), 0.0)
    sgd = hpcore_lightning.make_optimizer({"optimizer": "sgd", "lr": 0.1, "nesterov": True}, model)
    assert (sgd.param_groups[0]["momentum"], sgd.param_groups[0]["nesterov"]) == (0, False)
    rms = hpcore_lightning.make_optimizer({"optimizer": "RMSprop", "rho": 0.95}, model).param_groups[0]
    assert (rms["alpha"], rms["momentum"], rms["weight_decay"]) == (0.95, 0, 0)
    # values another optimizer reads are ignored (flat spaces written by hand)
    assert "betas" not in hpcore_lightning.make_optimizer({"optimizer": "sgd", "beta1": 0.5}, model).defaults
    k_adamw = hpcore_keras.make_optimizer({"optimizer": "adamw"})
    assert (k_adamw.weight_decay, k_adamw.beta_1) == (0.004, 0.9)
    k_adam = hpcore_keras.make_optimizer({"optimizer": "adam", "weight_decay": 0.0, "momentum": 0.9})
    assert k_adam.weight_decay is None
    k_rms = hpcore_keras.make_optimizer({"optimizer": "rmsprop", "momentum": 0.5})
    assert (k_rms.rho, k_rms.momentum) == (0.9, 0.5)


def test_augmentation_switches_decide_the_transforms():
    space = SearchSpace(presets.augmentation(crop_size=(6, 8), vflip=(0.0, 0.3)))
    assert space.conditional == ["crop_scale", "crop_size", "rotation"]
    assert space.summary().splitlines()[0] == "data (7, 3 conditional)"
    configs = [space.sample(seed) for seed in range(40)]
    assert {(c["crop"], c["rotate"]) for c in configs} == {(False, False), (False, True), (True, False), (True, True)}
    for params in configs:
        assert ("crop_scale" in params) is ("crop_size" in params) is params["crop"]
        assert ("rotation" in params) is params["rotate"]
        torch_kinds = {type(m) for m in hpcore_lightning.make_augmentation(params)}
        keras_kinds = {type(layer).__name__ for layer in hpcore_keras.make_augmentation(params).layers}
        assert (T.RandomResizedCrop in torch_kinds) is ("RandomResizedCrop" in keras_kinds) is params["crop"]
        assert (T.RandomRotation in torch_kinds) is ("RandomRotation" in keras_kinds) is params["rotate"]
        if params["rotate"]:
            rotation = next(m for m in hpcore_lightning.make_augmentation(params) if isinstance(m, T.RandomRotation))
            assert rotation.degrees == params["rotation"]
    off = {"crop": False, "crop_scale": 0.5, "crop_size": 8, "rotate": "false", "rotation": 15.0}
    assert len(hpcore_lightning.make_augmentation(off)) == 0  # an off switch wins over its values
    assert [type(x).__name__ for x in hpcore_keras.make_augmentation(off).layers] == ["Identity"]
    flat = presets.augmentation(switches=False)
    assert sorted(flat) == ["crop_scale", "hflip", "rotation"] and not any(p.when for p in flat.values())
    assert SearchSpace(flat).defaults() == {"crop_scale": 1.0, "hflip": 0.0, "rotation": 0.0}


def test_pool_size_exists_only_with_pooling():
    assert "pool_size" not in presets.conv_model()
    assert presets.conv_model(pool_size=(2, 3))["pool_size"].when == {}  # every choice pools
    space = SearchSpace(presets.conv_model(pooling=("max", "avg", "none"), pool_size=(2, 3)))
    assert space.conditional == ["pool_size"] and space["pool_size"].when == {"pooling": ("max", "avg")}
    configs = [space.sample(seed) for seed in range(30)]
    assert {c["pooling"] for c in configs} == {"max", "avg", "none"}
    assert all(("pool_size" in c) is (c["pooling"] != "none") for c in configs)
    with pytest.raises(ValueError, match="pool_size needs a pooling other than 'none'"):
        presets.conv_model(pooling=("none",), pool_size=(2, 3))
    with pytest.raises(ValueError, match="unknown pooling/padding \\['min'\\]"):
        presets.conv_model(pooling=("min",))
