"""Preset values materialised into framework objects by the adapter plugins, registered through the
real package metadata; ``import hpcore`` imports no framework; a missing framework disables a plugin
with a notice instead of failing."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from importlib.metadata import entry_points

import numpy as np
import pytest

from hpcore import plugins

ADAPTERS = {"lightning": "hpcore_lightning.plugin", "keras": "hpcore_keras.plugin", "xgboost": "hpcore_xgboost.plugin"}


def _python(code: str, tmp_path) -> str:
    # Run outside the source tree: a stale hpcore.egg-info there would shadow the installed metadata.
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                          timeout=120, cwd=tmp_path).stdout


def test_entry_points_register_the_three_adapter_plugins():
    found = {ep.name: ep.value for ep in entry_points(group="hpcore")}
    assert {name: found.get(name) for name in ADAPTERS} == ADAPTERS
    pm = plugins.get_plugin_manager()
    for name in ADAPTERS:
        assert pm.has_plugin(name), f"plugin {name} not registered"
    assert not [f for f in plugins.failed_plugins() if f[0].split()[0] in ADAPTERS]


def test_import_hpcore_imports_no_framework(tmp_path):
    out = _python("import sys, hpcore, hpcore.plugins as p; p.get_plugin_manager(); "
                  "print(sorted(m for m in ('torch', 'keras', 'xgboost', 'lightning', 'pytorch_lightning', "
                  "'tensorflow') if m in sys.modules))", tmp_path)
    assert out.strip() == "[]"


def test_a_missing_framework_leaves_the_plugin_inactive_with_a_notice(tmp_path):
    code = ("import importlib.util, logging, sys\n"
            "real = importlib.util.find_spec\n"
            "importlib.util.find_spec = lambda name, *a: None if name == 'xgboost' else real(name, *a)\n"
            "logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s')\n"
            "import hpcore.plugins as p\n"
            "print(p.failed_plugins())\n"
            "print(p.call_hook('hpcore_make_optimizer', framework='xgboost', params={'lr': 0.1}, model=None))\n")
    lines = _python(code, tmp_path).strip().splitlines()
    notices = [ln for ln in lines if "xgboost is not installed" in ln]
    assert len(notices) == 1 and "pip install 'hpcore[xgboost]'" in notices[0]
    assert lines[-2:] == ["[]", "None"]


# ---------------------------------------------------------------------------------------------
# torch (plugin "lightning")
# ---------------------------------------------------------------------------------------------


def test_torch_optimizers_carry_the_preset_values():
    torch = pytest.importorskip("torch")
    import hpcore_lightning

    model = torch.nn.Linear(3, 2)
    adam = hpcore_lightning.make_optimizer({"optimizer": "adam", "lr": 0.01, "beta1": 0.85, "beta2": 0.99,
                                            "weight_decay": 1e-4, "momentum": 0.5}, model)
    assert type(adam) is torch.optim.Adam
    group = adam.param_groups[0]
    assert (group["lr"], group["betas"], group["weight_decay"]) == (0.01, (0.85, 0.99), 1e-4)
    sgd = hpcore_lightning.make_optimizer({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
                                          model.parameters())
    assert type(sgd) is torch.optim.SGD
    assert (sgd.param_groups[0]["momentum"], sgd.param_groups[0]["weight_decay"]) == (0.9, 0.01)
    with pytest.raises(ValueError, match="'adagrad'.*'adam', 'adamw', 'sgd', 'rmsprop'"):
        hpcore_lightning.make_optimizer({"optimizer": "adagrad"}, model)
    assert plugins.call_hook("hpcore_make_optimizer", framework="jax", params={}, model=model) is None


@pytest.mark.parametrize("init, bound", [("xavier_uniform", lambda i, o: math.sqrt(6 / (i + o))),
                                         ("he_uniform", lambda i, o: math.sqrt(6 / i))])
def test_torch_initializers_draw_linear_and_conv_weights(init, bound):
    torch = pytest.importorskip("torch")
    import hpcore_lightning

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(200, 100))
    for p in model.parameters():
        torch.nn.init.constant_(p, 5.0)
    assert hpcore_lightning.init_weights(model, {"init": init}) is model
    model.requires_grad_(False)
    linear = model[2]
    assert float(linear.weight.abs().max()) <= bound(200, 100) + 1e-6
    assert float(linear.weight.abs().max()) > 0.9 * bound(200, 100)  # fills the range: the right scheme
    assert float(model[0].weight.abs().max()) <= bound(27, 72) + 1e-6
    assert float(linear.bias.abs().max()) == 0.0


def test_torch_augmentation_transforms():
    torch = pytest.importorskip("torch")
    import hpcore_lightning
    from hpcore_lightning import transforms as T

    aug = hpcore_lightning.make_augmentation({"crop_scale": 0.5, "crop_size": 8, "hflip": 0.5, "vflip": 0.2,
                                              "rotation": 15.0, "noise_std": 0.1})
    assert [type(m) for m in aug] == [T.RandomResizedCrop, T.RandomFlip, T.RandomFlip, T.RandomRotation,
                                      T.GaussianNoise]
    x = torch.rand(4, 3, 16, 16)
    assert aug(x).shape == (4, 3, 8, 8) and aug(x[0]).shape == (3, 8, 8)
    assert len(hpcore_lightning.make_augmentation({"crop_scale": 1.0, "hflip": 0.0, "rotation": 0.0})) == 0
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(T.RandomFlip(1.0, "vertical")(image), image.flip(-2))
    crop = T.RandomResizedCrop(scale=0.25)
    torch.manual_seed(1)
    zoomed = crop(torch.arange(64.0).reshape(1, 1, 8, 8))
    assert not torch.allclose(zoomed, torch.arange(64.0).reshape(1, 1, 8, 8))  # a zoomed-in view differs
    crop.eval()
    assert torch.equal(crop(image), image)  # no randomness at evaluation
    rot = T.RandomRotation(30.0).eval()
    assert torch.equal(rot(image), image)


# ---------------------------------------------------------------------------------------------
# Keras (plugin "keras")
# ---------------------------------------------------------------------------------------------


def test_keras_optimizers_and_initializers():
    keras = pytest.importorskip("keras")
    import hpcore_keras

    adam = hpcore_keras.make_optimizer({"optimizer": "adam", "lr": 0.01, "beta1": 0.85, "beta2": 0.99,
                                        "weight_decay": 1e-4})
    assert isinstance(adam, keras.optimizers.Adam)
    assert (float(adam.learning_rate), adam.beta_1, adam.beta_2, adam.weight_decay) == pytest.approx(
        (0.01, 0.85, 0.99, 1e-4))
    sgd = hpcore_keras.make_optimizer({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9})
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == pytest.approx(0.9)
    assert isinstance(hpcore_keras.make_initializer({"init": "xavier_normal"}), keras.initializers.GlorotNormal)
    assert isinstance(hpcore_keras.make_initializer({"init": "he_uniform"}), keras.initializers.HeUniform)
    assert hpcore_keras.make_initializer({}) == "glorot_uniform"


def test_keras_augmentation_layers_work_inside_fit_on_torch():
    keras = pytest.importorskip("keras")
    import hpcore_keras

    aug = hpcore_keras.make_augmentation({"crop_scale": 0.6, "crop_size": 8, "hflip": 0.5, "rotation": 10.0,
                                          "noise_std": 0.05})
    assert [type(layer).__name__ for layer in aug.layers] == ["RandomResizedCrop", "RandomFlipProbability",
                                                              "RandomRotation", "GaussianNoise"]
    x = np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32")
    assert tuple(aug(x, training=True).shape) == (8, 8, 8, 3)
    assert tuple(aug(x, training=False).shape) == (8, 8, 8, 3)
    model = keras.Sequential([keras.Input((16, 16, 3)), aug, keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, x.mean(axis=(1, 2, 3)), epochs=1, batch_size=4, verbose=0)  # keras RandomCrop fails here
    assert np.isfinite(history.history["loss"][0])
    flip = hpcore_keras.RandomFlipProbability(p=1.0, direction="vertical")
    assert np.array_equal(np.asarray(flip(x, training=True)), x[:, ::-1])
    assert np.array_equal(np.asarray(flip(x, training=False)), x)


# ---------------------------------------------------------------------------------------------
# XGBoost (plugin "xgboost")
# ---------------------------------------------------------------------------------------------


def test_xgboost_booster_params():
    pytest.importorskip("xgboost")
    import hpcore_xgboost

    assert hpcore_xgboost.booster_params({"optimizer": "adam", "lr": 0.2, "weight_decay": 0.5, "beta1": 0.9}) == {
        "learning_rate": 0.2, "reg_lambda": 0.5}


def test_keras_augmentation_without_active_values_is_the_identity():
    keras = pytest.importorskip("keras")
    import numpy as np

    import hpcore

    aug = hpcore.plugins.call_hook("hpcore_make_augmentation", framework="keras",
                                   params={"hflip": 0.0, "rotation": 0.0, "crop_scale": 1.0})
    x = np.random.default_rng(0).random((2, 8, 8, 1)).astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 1)), aug])
    out = keras.ops.convert_to_numpy(model(x, training=True))
    assert np.array_equal(out, x)
