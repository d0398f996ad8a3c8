"""The notebook models' measurement cache: hit, miss, invalidation by another seed or version."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from search.confirmation._notebook_cache import BaselineCache, cache_key
from search.run_folder import NOTEBOOK_CACHE_FOLDER
from spaces import notebook_config

VERSIONS = {"python": "3.11.7", "tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6", "ray": "2.60.0"}


def key(**changes) -> dict:
    arguments = dict(model="cnn_small", config=notebook_config("cnn_small"), seed=0, data_sha256="abc123",
                     train_images=60_000, versions=VERSIONS, device="cpu", backend="tensorflow")
    arguments.update(changes)
    return cache_key(**arguments)


def measurement() -> dict:
    correct = np.random.default_rng(0).random(10_000) < 0.99
    return {"test_accuracy": float(correct.mean()), "test_loss": 0.04, "seconds": 61.5,
            "num_params": 38_390, "train_images": 60_000, "test_correct": correct}


@pytest.fixture
def cache(tmp_path: Path) -> BaselineCache:
    return BaselineCache.for_results(tmp_path)


def test_the_cache_is_a_folder_of_json_files_in_the_results_folder(cache: BaselineCache, tmp_path: Path) -> None:
    path = cache.put(key(), measurement())
    assert path.parent == tmp_path / NOTEBOOK_CACHE_FOLDER
    assert path.name.startswith("cnn_small-seed0-") and path.suffix == ".json"
    assert json.loads(path.read_text())["key"]["data_sha256"] == "abc123"


def test_a_stored_measurement_is_a_hit_with_the_same_numbers_and_vector(cache: BaselineCache) -> None:
    stored = measurement()
    cache.put(key(), stored)
    hit = cache.get(key())
    assert hit is not None
    assert hit["test_accuracy"] == stored["test_accuracy"] and hit["seconds"] == 61.5
    assert np.array_equal(hit["test_correct"], stored["test_correct"])


def test_nothing_stored_is_a_miss(cache: BaselineCache) -> None:
    assert cache.get(key()) is None


@pytest.mark.parametrize("change", [
    {"seed": 1},
    {"versions": {**VERSIONS, "tensorflow": "2.22.0"}},
    {"versions": {**VERSIONS, "keras": "3.16.0"}},
    {"data_sha256": "def456"},
    {"train_images": 3_000},
    {"device": "gpu"},
    {"config": {**notebook_config("cnn_small"), "epochs": 4}},
    {"backend": "jax"},
], ids=["another seed", "another tensorflow", "another keras", "other data", "fewer images", "gpu",
        "other epochs", "another keras backend"])
def test_another_seed_version_or_data_is_a_miss(cache: BaselineCache, change: dict) -> None:
    cache.put(key(), measurement())
    assert cache.get(key(**change)) is None
    assert cache.get(key()) is not None


def test_a_version_of_a_library_that_does_not_train_keeps_the_hit(cache: BaselineCache) -> None:
    cache.put(key(), measurement())
    assert cache.get(key(versions={**VERSIONS, "ray": "2.61.0"})) is not None


def test_a_jax_measurement_is_kept_apart_by_jaxs_version(cache: BaselineCache) -> None:
    cache.put(key(backend="jax", versions={**VERSIONS, "jax": "0.10.2"}), measurement())
    assert cache.get(key(backend="jax", versions={**VERSIONS, "jax": "0.10.2"})) is not None
    assert cache.get(key(backend="jax", versions={**VERSIONS, "jax": "0.10.3"})) is None


def test_a_tensorflow_measurement_cached_before_the_backend_was_a_choice_is_still_a_hit(cache: BaselineCache) -> None:
    older_key = {"format": 1, "model": "cnn_small", "config": dict(sorted(notebook_config("cnn_small").items())),
                 "seed": 0, "data_sha256": "abc123", "train_images": 60_000, "device": "cpu",
                 "versions": {name: VERSIONS[name] for name in ("python", "tensorflow", "keras", "numpy")}}
    cache.put(older_key, measurement())
    assert cache.get(key(backend="tensorflow")) is not None
    assert cache.get(key(backend="jax")) is None


def test_a_damaged_file_is_a_miss_and_is_replaced(cache: BaselineCache) -> None:
    path = cache.put(key(), measurement())
    path.write_text("{ not json")
    assert cache.get(key()) is None
    cache.put(key(), measurement())
    assert cache.get(key()) is not None


def test_deleting_the_folder_empties_the_cache(cache: BaselineCache) -> None:
    import shutil

    cache.put(key(), measurement())
    shutil.rmtree(cache.folder)
    assert cache.get(key()) is None
