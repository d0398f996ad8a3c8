"""A configuration in words, and the notebook model a configuration is."""

from __future__ import annotations

import pytest

from spaces import describe, notebook_config, notebook_model_of

CNN = {"family": "cnn", "n_blocks": 2, "filters_0": 32, "filters_1": 64, "kernel_0": 3, "kernel_1": 5,
       "padding": "valid", "pooling": "max", "batch_norm": True, "augment": False, "dropout": 0.25,
       "dense_units": 128, "dense_dropout": 0.1, "optimizer": "adam", "learning_rate": 0.0012,
       "lr_schedule": "cosine", "batch_size": 128, "epochs": 4}
WIDE_DENSE = {"family": "dense", "n_layers": 4, "units_0": 1024, "units_1": 1024, "units_2": 1024, "units_3": 1024,
              "dropout_0": 0.5, "dropout_1": 0.0, "dropout_2": 0.0, "dropout_3": 0.0, "activation": "relu",
              "optimizer": "rmsprop", "learning_rate": 0.00001234, "lr_schedule": "constant", "batch_size": 1024,
              "epochs": 20}


def test_the_model_in_a_few_characters() -> None:
    assert describe(CNN, detail="model") == "conv 32-64 bn"
    assert describe({**CNN, "n_blocks": 1, "batch_norm": False, "augment": True}, detail="model") == "conv 32 aug"
    assert describe(WIDE_DENSE, detail="model") == "dense 1024-1024-1024-1024 relu"
    assert describe({"family": "dense", "n_layers": 1, "units_0": 64}, detail="model") == "dense 64"


def test_the_short_form_adds_the_training_values() -> None:
    assert describe(CNN) == "conv 32-64 bn adam lr=0.0012 cos b=128"
    assert describe(WIDE_DENSE) == "dense 1024-1024-1024-1024 relu rmsprop lr=1.2e-05 b=1024"


def test_the_full_form_names_every_choice() -> None:
    assert describe(CNN, detail="full") == (
        "conv [32x3, 64x5] padding valid, max pooling, batch norm, dropout 0.25, dense 128 (dropout 0.10); "
        "adam lr 0.0012 cosine-decayed, batch 128, 4 epoch(s)")
    assert describe(notebook_config("dense_256"), detail="full") == (
        "dense [256 (dropout 0.20), 256 (dropout 0.00)] relu; rmsprop lr 0.001, batch 128, 10 epoch(s)")


def test_an_unknown_detail_is_refused() -> None:
    with pytest.raises(ValueError, match="'model', 'short' or 'full'"):
        describe(CNN, detail="long")  # type: ignore[arg-type]


@pytest.mark.parametrize("model", ["dense_256", "dense_deep", "cnn_small"])
def test_a_notebook_model_is_named_whatever_its_epochs_and_its_cosine_variant_too(model: str) -> None:
    config = notebook_config(model)
    assert notebook_model_of(config) == model
    assert notebook_model_of({**config, "epochs": 1}) == model
    assert notebook_model_of({**config, "lr_schedule": "cosine"}) == f"{model}+cosine"


def test_a_configuration_that_differs_in_one_choice_is_no_notebook_model() -> None:
    config = notebook_config("cnn_small")
    assert notebook_model_of({**config, "dropout": 0.3}) is None
    assert notebook_model_of({**config, "family": "dense"}) is None
    assert notebook_model_of(CNN) is None and notebook_model_of({}) is None


def test_a_tiny_cnn_names_its_head_and_its_separable_convolutions() -> None:
    tiny = {**CNN, "head": "gap", "separable": True}
    assert describe(tiny, detail="model").startswith("conv ") and " gap sep" in describe(tiny, detail="model")
    full = describe(tiny, detail="full")
    assert "global average pooling head" in full and "separable after the first" in full and "dense " not in full
    assert " 1x1" in describe({**CNN, "head": "conv1x1"}, detail="model")


def test_blocks_of_several_convolutions_say_how_many() -> None:
    deep = {**CNN, "head": "gap", "convs_per_block": 3}
    assert describe(deep, detail="model") == "conv 32x3-64x3 gap bn"
    assert "3 convolutions a block" in describe(deep, detail="full")


def test_a_notebook_model_with_blocks_of_several_convolutions_is_no_notebook_model() -> None:
    assert notebook_model_of({**notebook_config("cnn_small"), "convs_per_block": 2}) is None
    assert notebook_model_of({**notebook_config("cnn_small"), "convs_per_block": 1}) == "cnn_small"
