import json
import math

import numpy as np
import pytest

import hpcore
from hpcore import Categorical, Float, Int, SearchSpace, SearchSpaceError, presets


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Float(5, 1), ["min must be less than max", "swap"]),
        (lambda: Int(3, 3), ["min must be less than max"]),
        (lambda: Float(0, 1, scale="log"), ["log scale needs min > 0", "raise min"]),
        (lambda: Float(-1, 1, scale="log"), ["log scale needs min > 0"]),
        (lambda: Int(0, 10, scale="log"), ["log scale needs min > 0"]),
        (lambda: Float(0.5, 1.0, scale="reverse_log"), ["0 <= min < max < 1"]),
        (lambda: Float(-0.1, 0.5, scale="reverse_log"), ["0 <= min < max < 1"]),
        (lambda: Int(1, 10, scale="reverse_log"), ["Float ranges only"]),
        (lambda: Float(0, 1, scale="cubic"), ["unknown scale 'cubic'", "auto, linear, log, reverse_log"]),
        (lambda: Categorical([]), ["at least one value"]),
        (lambda: Categorical(["a", "b", "a"]), ["duplicated value 'a'"]),
        (lambda: Categorical("abc"), ["must be a list"]),
        (lambda: Float(0, 1, category="training"), ["unknown category 'training'", "model, optimizer, data"]),
        (lambda: Float(0, float("inf")), ["must be finite"]),
        (lambda: Int(1.5, 4), ["must be an integer"]),
        (lambda: Int(1, 10, step=0), ["step must be >= 1"]),
        (lambda: Float(0, 1, default=2), ["outside"]),
        (lambda: SearchSpace({}), ["at least one parameter"]),
    ],
)
def test_bad_ranges_name_the_problem_and_the_fix(make, words):
    with pytest.raises(SearchSpaceError) as err:
        make()
    for w in words:
        assert w in str(err.value)


def test_plain_dict_errors_name_the_parameter():
    with pytest.raises(SearchSpaceError, match="parameter 'lr'.*log scale needs min > 0"):
        SearchSpace({"lr": {"type": "float", "min": 0, "max": 1, "scale": "log"}})
    with pytest.raises(SearchSpaceError, match="parameter 'x': unknown key.*maximum.*valid keys"):
        SearchSpace({"x": {"type": "float", "min": 0, "maximum": 1}})
    with pytest.raises(SearchSpaceError, match="parameter 'x': unknown type 'double'"):
        SearchSpace({"x": {"type": "double", "min": 0, "max": 1}})


@pytest.mark.parametrize(
    "param, values",
    [
        (Float(1e-5, 1e-1, scale="log"), [1e-5, 3e-4, 1e-1]),
        (Float(0.5, 0.999, scale="reverse_log"), [0.5, 0.9, 0.99, 0.999]),
        (Float(-3, 7), [-3.0, 0.25, 7.0]),
        (Int(1, 1000, scale="log"), [1, 2, 17, 999, 1000]),
        (Int(0, 100, step=5), [0, 5, 50, 100]),
        (Categorical(["adam", "sgd", None, 3]), ["adam", "sgd", None, 3]),
    ],
)
def test_encode_decode_round_trip(param, values):
    for v in values:
        u = param.encode(v)
        assert 0.0 <= u <= 1.0
        back = param.decode(u)
        if isinstance(v, float):
            assert back == pytest.approx(v, rel=1e-9)
        else:
            assert back == v


def test_log_and_reverse_log_spread_the_sensitive_end():
    lr = Float(1e-6, 1.0, scale="log")
    assert lr.decode(0.5) == pytest.approx(1e-3)
    mom = Float(0.0, 0.999, scale="reverse_log")
    # Half of the unit interval maps above 1 - sqrt(0.001) ~ 0.968: the values close to 1.
    assert mom.decode(0.5) == pytest.approx(1 - math.sqrt(0.001))
    assert mom.decode(0.0) == 0.0 and mom.decode(1.0) == 0.999


def test_integer_sampling_gives_every_value_including_the_ends_the_same_chance():
    p = Int(1, 4)
    counts = np.bincount([p.sample(np.random.default_rng(i)) for i in range(8000)], minlength=5)[1:]
    assert counts.min() > 1800 and counts.max() < 2200
    stepped = Int(0, 9, step=3)
    assert stepped.values() == [0, 3, 6, 9] and stepped.max == 9
    assert Int(0, 10, step=3).max == 9  # max snaps to the step grid


def test_space_categories_filter_and_summary():
    space = SearchSpace({
        "lr": Float(1e-5, 1e-1, scale="log", category="optimizer"),
        "depth": Int(1, 8),
        "flip": Float(0, 0.5, category="data"),
        "opt": Categorical(["adam", "sgd"], category="optimizer"),
    })
    assert list(space.by_category("optimizer")) == ["lr", "opt"]
    assert space.categories() == {"optimizer": ["lr", "opt"], "model": ["depth"], "data": ["flip"]}
    text = space.summary()
    assert text.index("model (1)") < text.index("optimizer (2)") < text.index("data (1)")
    with pytest.raises(SearchSpaceError, match="unknown category"):
        space.by_category("loss")
    assert list(space.subspace(["flip"])) == ["flip"]


def test_validate_names_missing_unknown_and_out_of_range():
    space = SearchSpace({"a": Float(0, 1), "b": Int(1, 3)})
    with pytest.raises(SearchSpaceError, match="missing b; unknown c"):
        space.validate({"a": 0.5, "c": 1})
    with pytest.raises(SearchSpaceError, match=r"b=7 is not in range\(1, 4, 1\)"):
        space.validate({"a": 0.5, "b": 7})
    assert space.validate({"a": 1, "b": 2.0}) == {"a": 1.0, "b": 2}


def test_round_trip_through_dict_json_and_yaml():
    space = SearchSpace({
        "lr": Float(1e-5, 1e-1, scale="log", category="optimizer", default=1e-3),
        "beta2": Float(0.9, 0.9999, scale="reverse_log", category="optimizer"),
        "width": Int(16, 256, scale="log", step=1),
        "blocks": Int(2, 10, step=2),
        "pool": Categorical(["max", "avg"]),
    })
    assert SearchSpace.from_dict(space.to_dict()) == space
    assert SearchSpace.from_json(space.to_json()) == space
    assert SearchSpace.from_yaml(space.to_yaml()) == space
    assert SearchSpace.from_dict(json.loads(space.to_json())).fingerprint() == space.fingerprint()


def test_yaml_job_style_declaration_with_strings_for_numbers():
    space = SearchSpace.from_yaml("lr: {type: float, min: 1e-5, max: 1e-1, scale: log}\nn: {min: 1, max: 5}\n")
    assert space["lr"].min == 1e-5 and isinstance(space["n"], Int)


def test_differences_are_named():
    a = SearchSpace({"x": Float(0, 1), "y": Int(1, 3)})
    b = SearchSpace({"x": Float(0, 2), "z": Int(1, 3)})
    diffs = b.differences(a)
    assert any("'x' changed" in d for d in diffs)
    assert "'z' is new" in diffs and "'y' was removed" in diffs
    assert a.differences(a) == []


def test_defaults_and_sampling_are_valid_and_seeded():
    space = SearchSpace({**presets.optimizer(), **presets.augmentation(), **presets.conv_model()})
    assert space.validate(space.defaults()) == space.defaults()
    assert space.defaults()["lr"] == pytest.approx(1e-3)
    assert space.sample(3) == space.sample(3)
    assert space.sample(3) != space.sample(4)
    for i in range(50):
        space.validate(space.sample(i))


def test_presets_cover_the_three_categories_with_the_documented_names():
    opt = presets.optimizer()
    assert opt["optimizer"].values == ["adam", "adamw", "sgd", "rmsprop"]
    assert opt["init"].values == ["xavier_uniform", "xavier_normal", "he_uniform", "he_normal"]
    assert opt["lr"].scale == "log" and opt["beta1"].scale == "reverse_log"
    assert {p.category for p in opt.values()} == {"optimizer"}
    assert {p.category for p in presets.augmentation(crop_size=(24, 32), resize=(28, 36)).values()} == {"data"}
    model = presets.conv_model()
    assert {"filter_size", "pooling", "stride", "padding", "depth"} <= set(model)
    with pytest.raises(ValueError, match="unknown optimizer"):
        presets.optimizer(optimizers=("adagrad",))


def test_import_hpcore_pulls_no_heavy_framework():
    import subprocess
    import sys

    code = "import sys, hpcore; print([m for m in ('torch','keras','xgboost','lightning') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert hpcore.__all__


@pytest.mark.parametrize("param, scale", [
    (Float(1e-6, 1.0), "log"), (Float(0.001, 0.1), "log"), (Int(1, 256), "log"), (Int(16, 1600, step=16), "log"),
    (Float(0.0, 1.0), "linear"), (Float(0.02, 1.0), "linear"), (Float(-5.0, 10.0), "linear"), (Int(0, 100), "linear"),
    (Int(1, 99), "linear"), (Int(4, 60), "linear"), (Int(4, 32), "linear"), (Int(1, 8), "linear"),
    (Int(4, 64), "log"), (Int(16, 256), "log"), (Int(2, 128), "log"), (Int(1, 16), "log"),
    (Int(16, 256, step=16), "linear"), (Int(16, 256, scale="linear"), "linear"),
    (Float(1e-6, 1.0, scale="linear"), "linear"),
    (Float(0.5, 0.9, scale="log"), "log"),
    (Float(0.9, 0.999, scale="reverse_log"), "reverse_log"),
])
def test_auto_starts_wide_positive_ranges_on_a_log_scale(param, scale):
    """``unit_scale``: an ``auto`` range from min > 0 spanning a factor of 100 or more starts as ``log``,
    and so does an ``auto`` Int between powers of two at least 16 apart (a batch size, a width)
    (encoding, decoding, sampling and the default follow it); a declared scale is kept as it is."""
    assert param.unit_scale == scale
    if param.scale == "auto" and scale == "log":
        declared = type(param)(param.min, param.max, scale="log", **({"step": param.step} if isinstance(param, Int)
                                                                          else {}))
        for u in (0.0, 0.1, 0.37, 0.5, 0.9, 1.0):
            assert param.decode(u) == declared.decode(u)
            assert param.encode(param.decode(u)) == pytest.approx(declared.encode(declared.decode(u)))
        assert param.default == declared.default
        rng = np.random.default_rng(0)
        if isinstance(param, Float):
            below = np.mean([param.sample(rng) <= math.sqrt(param.min * param.max) for _ in range(2000)])
            assert 0.45 < below < 0.55  # half the draws below the geometric middle
