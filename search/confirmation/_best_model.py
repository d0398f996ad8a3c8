"""``best_model.keras`` and ``best_config.json``: the best confirmed configuration, ready to load."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from search.run_folder import BEST_CONFIG_FILE, BEST_MODEL_FILE, atomic_write_bytes, config_from_row, write_json
from search.verdict import Judgement

MODEL_INPUT = "float32 images shaped (n, 28, 28), pixels scaled to [0, 1]; the output is 10 class probabilities"


def save_best_model(run_dir: Path, judgement: Judgement, rows: list[dict[str, Any]],
                    models: dict[str, tuple[int, bytes]], *, data_sha256: str, train_images: int,
                    versions: Mapping[str, str]) -> str | None:
    """Write ``best_model.keras`` (the best confirmed configuration by mean test accuracy, its
    first seed's model) and ``best_config.json`` with what it scores on the test set; returns
    a line naming it, or None when no searched configuration was confirmed whole."""
    best = judgement.best_searched
    if best is None or best.name not in models:
        return None
    seed, payload = models[best.name]
    row = next(row for row in rows if row["name"] == best.name and row["seed"] == seed)
    verdict = next(v for v in judgement.verdicts if v.summary.name == best.name)
    atomic_write_bytes(run_dir / BEST_MODEL_FILE, payload)
    write_json(run_dir / BEST_CONFIG_FILE, {
        "name": best.name,
        "trial_id": row["trial_id"],
        "config": config_from_row(row),
        "seed": seed,
        "test_accuracy": row["test_accuracy"],
        "test_loss": row["test_loss"],
        "num_params": row["num_params"],
        "mean_test_accuracy": best.mean,
        "min_test_accuracy": best.min,
        "seeds": list(best.seeds),
        "beats_notebook": verdict.beats,
        "verdict": verdict.reason,
        "train_images": train_images,
        "data_sha256": data_sha256,
        "versions": dict(versions),
        "input": MODEL_INPUT,
        "load_with": f"keras.saving.load_model('{BEST_MODEL_FILE}')",
    })
    return f"{best.name}, seed {seed}, test accuracy {row['test_accuracy']:.4f}"
