"""The search spaces: plain Optuna define-by-run functions, no Keras, no Ray."""

from __future__ import annotations

import optuna
import pytest

from spaces import (
    NOTEBOOK_POINTS,
    NOTEBOOK_SPACE,
    SPACES,
    UnknownSpaceError,
    config_from_point,
    get_space,
    notebook_config,
    notebook_points,
)


@pytest.mark.parametrize("model", sorted(NOTEBOOK_POINTS))
def test_each_notebook_model_lies_in_its_space(model: str) -> None:
    point = NOTEBOOK_POINTS[model]
    space = get_space(NOTEBOOK_SPACE[model], max_epochs=20)
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
    space = get_space(NOTEBOOK_SPACE[model], max_epochs=20)
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


def test_three_conv_blocks_always_use_same_padding() -> None:
    point = dict(NOTEBOOK_POINTS["cnn_small"], n_blocks=3, filters_2=32, kernel_2=5)
    del point["padding"]
    config = config_from_point("cnn", point, max_epochs=5)
    assert config["padding"] == "same"


def test_an_unknown_space_is_refused_with_the_choices() -> None:
    with pytest.raises(UnknownSpaceError, match=r"unknown space 'resnet': choose one of cnn, dense"):
        get_space("resnet", max_epochs=3)


def test_spaces_do_not_import_keras_or_ray() -> None:
    import subprocess
    import sys

    code = "import sys, spaces; print(any(m.split('.')[0] in ('keras', 'tensorflow', 'ray') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
