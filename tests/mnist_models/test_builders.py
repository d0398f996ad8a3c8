"""Model builders: the notebook's architectures exactly, and every point of every space builds."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from mnist_models import build_model
from mnist_models._builders import ConfigError, learning_rate_of
from spaces import SPACES, get_space, notebook_config

NOTEBOOK_PARAMETERS = {"dense_256": 269_322, "dense_deep": 575_050, "cnn_small": 38_390}


@pytest.mark.parametrize("model_name, parameters", sorted(NOTEBOOK_PARAMETERS.items()))
def test_notebook_models_have_the_notebooks_parameter_counts(model_name: str, parameters: int) -> None:
    assert build_model(notebook_config(model_name)).count_params() == parameters


@pytest.mark.parametrize("model_name", sorted(NOTEBOOK_PARAMETERS))
def test_models_map_a_batch_of_images_to_class_probabilities(model_name: str) -> None:
    model = build_model(notebook_config(model_name))
    probabilities = np.asarray(model(np.zeros((3, 28, 28), dtype=np.float32), training=False))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("space_name", sorted(SPACES))
def test_every_sampled_configuration_builds(space_name: str) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
    space = get_space(space_name, max_epochs=3)
    for _ in range(8):
        trial = study.ask()
        constants = space(trial)
        config = {**trial.params, **constants}
        study.tell(trial, 0.0)
        output = build_model(config, decay_steps=10)(np.zeros((2, 28, 28), dtype=np.float32), training=False)
        assert tuple(output.shape) == (2, 10)


def test_a_config_of_an_unknown_family_is_refused() -> None:
    with pytest.raises(ConfigError, match="family is 'resnet'"):
        build_model({"family": "resnet"})


def test_conv_blocks_that_leave_no_pixels_are_refused_with_the_fix() -> None:
    config = dict(notebook_config("cnn_small"), n_blocks=3, filters_2=8, kernel_2=5)
    with pytest.raises(ConfigError, match="use padding 'same' or fewer blocks"):
        build_model(config)


def test_the_optimizer_takes_the_configured_learning_rate() -> None:
    model = build_model(dict(notebook_config("dense_256"), optimizer="sgd", learning_rate=0.02))
    assert model.optimizer.__class__.__name__ == "SGD"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.02)


def test_a_cosine_schedule_decays_the_learning_rate_to_zero_over_training() -> None:
    config = dict(notebook_config("cnn_small"), lr_schedule="cosine", learning_rate=0.002)
    schedule = learning_rate_of(config, 100)
    assert float(schedule(0)) == pytest.approx(0.002)
    assert float(schedule(50)) == pytest.approx(0.001, rel=1e-3)
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ConfigError, match="needs decay_steps"):
        build_model(config)


def test_the_parameter_count_known_before_training_is_the_models_own() -> None:
    """--max-params and --objective pareto count parameters from the configuration alone; the
    count must be what Keras builds, over every branch of the spaces."""
    import optuna

    from mnist_models import parameter_count
    from spaces import config_from_point, get_space

    for space_name, size_aware in (("cnn", True), ("cnn", False), ("dense", False)):
        space = get_space(space_name, max_epochs=3, size_aware=size_aware)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
        for _ in range(8):
            trial = study.ask()
            space(trial)
            study.tell(trial, 0.0)
            config = config_from_point(space_name, trial.params, max_epochs=3, size_aware=size_aware)
            assert parameter_count(config) == build_model(config, decay_steps=100).count_params(), config


def test_a_block_of_several_convolutions_feeds_a_global_head_without_pooling() -> None:
    """Two blocks of three 3x3 'valid' convolutions: 28 -> 22, pooled to 11 -> 5; the global
    average pooling head takes the 5x5 maps (a 2x2 pooling before it measured worse)."""
    from mnist_models import parameter_count
    from mnist_models._architecture import conv_sides
    from spaces import config_from_point

    point = {"n_blocks": 2, "filters_0": 8, "kernel_0": 3, "filters_1": 12, "kernel_1": 3, "convs_per_block": 3,
             "head": "gap", "separable": False, "pooling": "max", "batch_norm": True, "dropout": 0.0,
             "augment": False, "optimizer": "adam", "learning_rate": 3e-3, "lr_schedule": "cosine",
             "batch_size": 64, "epochs": 15}
    config = config_from_point("cnn", point, max_epochs=15, size_aware=True)
    model = build_model(config, decay_steps=10)
    convolutions = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert len(convolutions) == 6 and conv_sides(config) == [11, 5]
    assert tuple(model.layers[-3].output.shape) == (None, 5, 5, 12)  # the last convolution's, unpooled
    assert parameter_count(config) == model.count_params() == 5_050
    separable = build_model({**config, "separable": True}, decay_steps=10)
    kinds = [layer.__class__.__name__ for layer in separable.layers if "Conv" in layer.__class__.__name__]
    assert kinds == ["Conv2D"] + ["SeparableConv2D"] * 5
    assert parameter_count({**config, "separable": True}) == separable.count_params()
