"""``best_model.keras`` and ``best_config.json``: the best confirmed configuration, ready to load."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from search.run_folder import (
    BEST_CONFIG_FILE,
    BEST_MODEL_FILE,
    SMALLEST_CONFIG_FILE,
    SMALLEST_MODEL_FILE,
    atomic_write_bytes,
    config_from_row,
    write_json,
)
from search.verdict import Judgement, Summary

MODEL_INPUT = "float32 images shaped (n, 28, 28), pixels scaled to [0, 1]; the output is 10 class probabilities"


def save_best_model(run_dir: Path, judgement: Judgement, rows: list[dict[str, Any]],
                    models: dict[str, tuple[int, bytes]], *, data_sha256: str, train_images: int,
                    versions: Mapping[str, str], ensemble: Mapping[str, Any] | None = None) -> str | None:
    """Write ``best_model.keras`` (the best confirmed configuration by mean test accuracy, its
    first seed's model) and ``best_config.json`` with what it scores on the test set, and, when
    a configuration beats the notebook, ``smallest_beating_model.keras`` and its
    ``smallest_beating_config.json`` (the smallest of them); returns a line naming the best, or
    None when no searched configuration was confirmed whole. ``best_config.json`` names the
    ensemble too (``ensemble``: its members, score, verdict and file, or why there is none)."""
    details = {"data_sha256": data_sha256, "train_images": train_images, "versions": dict(versions)}
    small = judgement.smallest_beating
    if small is not None and small.name in models:
        _save(run_dir, small, judgement, rows, models, files=(SMALLEST_MODEL_FILE, SMALLEST_CONFIG_FILE), **details)
    best = judgement.best_searched
    if best is None or best.name not in models:
        return None
    return _save(run_dir, best, judgement, rows, models, files=(BEST_MODEL_FILE, BEST_CONFIG_FILE),
                 extra={"ensemble": dict(ensemble)} if ensemble is not None else {}, **details)


def _save(run_dir: Path, chosen: Summary, judgement: Judgement, rows: list[dict[str, Any]],
          models: dict[str, tuple[int, bytes]], *, files: tuple[str, str], extra: Mapping[str, Any] | None = None,
          **details: Any) -> str:
    model_file, config_file = files
    seed, payload = models[chosen.name]
    row = next(row for row in rows if row["name"] == chosen.name and row["seed"] == seed)
    verdict = next(v for v in judgement.verdicts if v.summary.name == chosen.name)
    atomic_write_bytes(run_dir / model_file, payload)
    write_json(run_dir / config_file, {
        "name": chosen.name,
        "trial_id": row["trial_id"],
        "config": config_from_row(row),
        "seed": seed,
        "test_accuracy": row["test_accuracy"],
        "test_loss": row["test_loss"],
        "num_params": row["num_params"],
        "mean_test_accuracy": chosen.mean,
        "min_test_accuracy": chosen.min,
        "seeds": list(chosen.seeds),
        "beats_notebook": verdict.beats,
        "verdict": verdict.reason,
        **details,
        "input": MODEL_INPUT,
        "load_with": f"keras.saving.load_model('{model_file}')",
        **(extra or {}),
    })
    return f"{chosen.name}, seed {seed}, test accuracy {row['test_accuracy']:.4f}"
