"""The search spaces: plain Optuna define-by-run functions, no Keras, no Ray."""

from __future__ import annotations

import optuna
import pytest

from spaces import (
    DERIVED_KEYS,
    NOTEBOOK_POINTS,
    NOTEBOOK_SPACE,
    SPACES,
    config_from_point,
    get_space,
    notebook_config,
    start_points,
)
from spaces._registry import UnknownSpaceError, notebook_points


@pytest.mark.parametrize("model", sorted(NOTEBOOK_POINTS))
def test_each_notebook_model_lies_in_its_space(model: str) -> None:
    point = NOTEBOOK_POINTS[model]
    space = get_space(NOTEBOOK_SPACE[model], max_epochs=SPACES[NOTEBOOK_SPACE[model]].max_epochs)
    trial = optuna.trial.FixedTrial(point)
    space(trial)
    # Every value of the point is suggested by the space (none ignored, none missing) ...
    assert trial.params == point
    # ... and lies inside the distribution the space gives it.
    study = optuna.create_study()
    study.enqueue_trial(point)
    enqueued = study.ask()
    space(enqueued)
    for name, distribution in enqueued.distributions.items():
        assert distribution._contains(distribution.to_internal_repr(point[name])), name


@pytest.mark.parametrize("model", sorted(NOTEBOOK_POINTS))
def test_notebook_points_hold_no_constant_of_the_space(model: str) -> None:
    """A constant returned by a define-by-run function overrides an enqueued value (ray issue 35319)."""
    space = get_space(NOTEBOOK_SPACE[model], max_epochs=SPACES[NOTEBOOK_SPACE[model]].max_epochs)
    constants = space(optuna.trial.FixedTrial(NOTEBOOK_POINTS[model]))
    assert not set(constants) & set(NOTEBOOK_POINTS[model])


def test_notebook_configs_keep_the_notebooks_training_values() -> None:
    assert notebook_config("dense_256") == {**NOTEBOOK_POINTS["dense_256"], "family": "dense"}
    cnn = notebook_config("cnn_small")
    assert (cnn["optimizer"], cnn["batch_size"], cnn["epochs"], cnn["family"]) == ("adam", 32, 5, "cnn")
    deep = notebook_config("dense_deep")
    assert (deep["optimizer"], deep["batch_size"], deep["epochs"]) == ("rmsprop", 128, 15)


def test_notebook_points_are_capped_at_max_epochs() -> None:
    points = notebook_points("dense", max_epochs=12)
    assert sorted(points) == ["dense_256", "dense_deep"]
    assert points["dense_256"]["epochs"] == 10
    assert points["dense_deep"]["epochs"] == 12
    assert sorted(notebook_points("cnn", max_epochs=3)) == ["cnn_small"]


@pytest.mark.parametrize("name", sorted(SPACES))
def test_spaces_sample_every_required_key(name: str) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    space = get_space(name, max_epochs=4)
    for _ in range(30):
        trial = study.ask()
        constants = space(trial)
        config = {**trial.params, **constants}
        study.tell(trial, 0.5)
        assert config["family"] == name
        assert config["optimizer"] in {"adam", "adamw", "rmsprop", "sgd"}
        assert 1e-4 <= config["learning_rate"] <= 3e-2
        assert 1 <= config["epochs"] <= 4
        if name == "dense":
            assert 1 <= config["n_layers"] <= 4
            assert all(f"units_{i}" in config and f"dropout_{i}" in config for i in range(config["n_layers"]))
        else:
            assert 1 <= config["n_blocks"] <= 3
            assert all(f"filters_{i}" in config and f"kernel_{i}" in config for i in range(config["n_blocks"]))
            assert isinstance(config["augment"], bool)


def test_one_or_two_conv_blocks_pad_valid_and_three_pad_same() -> None:
    """Three 5x5 'valid' blocks would shrink a 28x28 image to nothing; fewer pad like the notebook."""
    two = config_from_point("cnn", NOTEBOOK_POINTS["cnn_small"], max_epochs=5)
    one = config_from_point("cnn", dict(NOTEBOOK_POINTS["cnn_small"], n_blocks=1), max_epochs=5)
    three = config_from_point("cnn", dict(NOTEBOOK_POINTS["cnn_small"], n_blocks=3, filters_2=32, kernel_2=5),
                              max_epochs=5)
    assert (one["padding"], two["padding"], three["padding"]) == ("valid", "valid", "same")


def test_the_cnn_space_leaves_out_what_two_searches_showed_is_wasted_time() -> None:
    """No SGD, no learning rate below 3e-4, no filters above 32 (docstring of spaces._cnn)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    space = get_space("cnn", max_epochs=6)
    for _ in range(60):
        trial = study.ask()
        constants = space(trial)
        config = {**trial.params, **constants}
        study.tell(trial, 0.5)
        assert config["optimizer"] in {"adam", "adamw", "rmsprop"}
        assert 3e-4 <= config["learning_rate"] <= 1e-2
        assert all(8 <= config[f"filters_{b}"] <= 32 for b in range(config["n_blocks"]))
        assert config["lr_schedule"] in {"constant", "cosine"}


def test_notebook_models_train_with_a_constant_learning_rate() -> None:
    assert {notebook_config(model)["lr_schedule"] for model in NOTEBOOK_POINTS} == {"constant"}


def test_an_unknown_space_is_refused_with_the_choices() -> None:
    with pytest.raises(UnknownSpaceError, match=r"unknown space 'resnet': choose one of cnn, dense"):
        get_space("resnet", max_epochs=3)


def test_spaces_do_not_import_keras_ray_or_the_models_code() -> None:
    """A space only suggests values: a fresh interpreter shows that ``import spaces`` loads no
    Keras, TensorFlow or Ray, and nothing of ``mnist_models`` (which reads the spaces' geometry)."""
    import subprocess
    import sys

    code = ("import sys, spaces; print(any(m.split('.')[0] in ('keras', 'tensorflow', 'ray', 'mnist_models') "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("space", sorted(SPACES))
def test_the_search_starts_from_known_designs_then_the_notebooks_models_then_the_same_with_a_cosine_schedule(
        space: str) -> None:
    points = start_points(space, max_epochs=20)
    models = sorted(notebook_points(space, max_epochs=20))
    designs = [*SPACES[space].long_training_start_points, *SPACES[space].design_start_points]
    assert list(points) == [*designs, *models, *(f"{model}+cosine" for model in models)]
    for model in models:
        assert points[f"{model}+cosine"] == {**points[model], "lr_schedule": "cosine"}
    for name, point in points.items():
        trial = optuna.trial.FixedTrial(point)
        get_space(space, max_epochs=20)(trial)
        assert trial.params == point, name


def test_a_dense_search_starts_from_a_wide_augmented_net_capped_at_its_epochs() -> None:
    point = start_points("dense", max_epochs=12)["wide_augmented"]
    assert (point["augment"], point["batch_norm"], point["units_0"], point["epochs"]) == (True, True, 1024, 12)


def test_a_cnn_search_starts_from_the_best_design_of_earlier_searches_capped_at_its_epochs() -> None:
    from mnist_models import parameter_count

    point = start_points("cnn", max_epochs=3)["two_blocks_5x5_3x3"]
    assert (point["n_blocks"], point["kernel_0"], point["kernel_1"], point["epochs"]) == (2, 5, 3, 3)
    assert parameter_count(config_from_point("cnn", point, max_epochs=3)) == 94_437


def test_a_cnn_search_that_trains_long_also_offers_a_second_convolution_a_block() -> None:
    """From an epoch cap of 10 (the cap of an hour's search is 15) the space suggests one or two
    convolutions a block; below it, one, and the configurations carry no such key."""
    from spaces import parameter_names

    assert "convs_per_block" not in parameter_names("cnn", max_epochs=9)
    assert "convs_per_block" in parameter_names("cnn", max_epochs=10)
    study = optuna.create_study()
    trial = study.ask()
    get_space("cnn", max_epochs=15)(trial)
    assert (trial.distributions["convs_per_block"].low, trial.distributions["convs_per_block"].high) == (1, 2)


def test_a_cnn_search_that_trains_long_starts_from_two_convolutions_a_block_and_the_rest_with_one() -> None:
    from mnist_models import parameter_count

    points = start_points("cnn", max_epochs=15)
    assert list(points)[0] == "double_conv_16_32"
    design = config_from_point("cnn", points["double_conv_16_32"], max_epochs=15)
    assert (design["convs_per_block"], design["batch_norm"], design["epochs"], design["padding"]) == (2, True, 15, "valid")
    assert parameter_count(design) == 83_610
    for name, point in list(points.items())[1:]:
        trial = optuna.trial.FixedTrial(point)
        get_space("cnn", max_epochs=15)(trial)
        assert trial.params == point and point["convs_per_block"] == 1, name
    # A shorter search, and a size-aware one (its own designs), do not start from it.
    assert "double_conv_16_32" not in start_points("cnn", max_epochs=9)
    assert "double_conv_16_32" not in start_points("cnn", max_epochs=15, size_aware=True)
    # A point of a shorter search, given to a longer one, means one convolution a block.
    assert config_from_point("cnn", notebook_points("cnn", max_epochs=5)["cnn_small"], max_epochs=15)[
        "convs_per_block"] == 1


def test_a_size_aware_search_takes_the_designs_with_the_size_aware_keys_fixed() -> None:
    point = start_points("cnn", max_epochs=15, size_aware=True)["two_blocks_5x5_3x3"]
    assert (point["head"], point["separable"], point["convs_per_block"]) == ("flatten", False, 1)
    trial = optuna.trial.FixedTrial(point)
    get_space("cnn", max_epochs=15, size_aware=True)(trial)
    assert trial.params == point


def test_a_size_aware_search_also_starts_from_a_small_design_under_five_thousand_parameters() -> None:
    from mnist_models import parameter_count

    points = start_points("cnn", max_epochs=15, size_aware=True)
    assert list(points)[0] == "deep_gap"
    assert parameter_count(config_from_point("cnn", points["deep_gap"], max_epochs=15, size_aware=True)) == 4_542
