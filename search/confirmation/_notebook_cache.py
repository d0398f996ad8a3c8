"""A cache of the notebook models' confirmation measurements, so a second run does not pay again.

The notebook's three models are re-measured with every run's confirmation seeds; the answer
depends only on the data, the model, the seed, the training images and the libraries that
trained it. Each measurement is one small JSON file in ``RESULTS/.notebook-cache/``, named
by the model, the seed and a hash of everything it depends on (the key). Another seed,
another data checksum, another TensorFlow/Keras/NumPy/Python version or another Keras backend
is another key, so a stale measurement is never used, and a run on JAX re-measures the
notebook's models on JAX rather than comparing its models with TensorFlow's figures; delete the
folder to measure again from scratch.
JSON only: nothing in the cache is executed or unpickled.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from search.run_folder import NOTEBOOK_CACHE_FOLDER, atomic_write_bytes

CACHE_FORMAT = 1
# The libraries whose versions change what training produces (and, on another Keras backend, that backend's).
KEY_LIBRARIES = ("python", "tensorflow", "keras", "numpy")
DEFAULT_BACKEND = "tensorflow"


def cache_key(
    *, model: str, config: Mapping[str, Any], seed: int, data_sha256: str, train_images: int,
    versions: Mapping[str, str], device: str, backend: str,
) -> dict[str, Any]:
    """Everything a notebook model's measurement depends on, as plain JSON values.

    The Keras backend is in the key only when it is not TensorFlow, so that the measurements a
    TensorFlow run cached before the backend was a choice are still found."""
    libraries = KEY_LIBRARIES if backend == DEFAULT_BACKEND else (*KEY_LIBRARIES, backend)
    key = {
        "format": CACHE_FORMAT,
        "model": model,
        "config": dict(sorted(config.items())),
        "seed": int(seed),
        "data_sha256": data_sha256,
        "train_images": int(train_images),
        "versions": {name: versions.get(name, "unknown") for name in libraries},
        "device": device,
    }
    return key if backend == DEFAULT_BACKEND else {**key, "backend": backend}


class BaselineCache:
    """Measurements of the notebook models, one JSON file per key, under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @classmethod
    def for_results(cls, results: str | Path) -> "BaselineCache":
        return cls(Path(results).expanduser().resolve() / NOTEBOOK_CACHE_FOLDER)

    def path(self, key: Mapping[str, Any]) -> Path:
        digest = hashlib.sha256(_canonical(key).encode()).hexdigest()[:16]
        return self.folder / f"{key['model']}-seed{key['seed']}-{digest}.json"

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stored measurement for ``key``, or None (missing, unreadable, or another key)."""
        path = self.path(key)
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict) or _canonical(document.get("key", {})) != _canonical(key):
            return None
        try:
            measurement = dict(document["measurement"])
            measurement["test_correct"] = _unpack(measurement.pop("test_correct_packed"),
                                                  int(measurement["test_images"]))
        except (KeyError, TypeError, ValueError):
            return None
        return measurement

    def put(self, key: Mapping[str, Any], measurement: Mapping[str, Any]) -> Path:
        """Store ``measurement`` (with its boolean ``test_correct`` vector) under ``key``, atomically."""
        stored = {name: value for name, value in measurement.items() if name != "test_correct"}
        correct = np.asarray(measurement["test_correct"], dtype=bool)
        stored["test_images"] = int(correct.size)
        stored["test_correct_packed"] = base64.b64encode(np.packbits(correct).tobytes()).decode()
        document = {"key": dict(key), "measurement": stored,
                    "stored": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        path = self.path(key)
        atomic_write_bytes(path, (json.dumps(document, indent=1, sort_keys=True, default=_plain) + "\n").encode())
        return path


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _unpack(packed: str, size: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(base64.b64decode(packed), dtype=np.uint8))
    if bits.size < size:
        raise ValueError(f"packed vector holds {bits.size} bits, fewer than {size}")
    return bits[:size].astype(bool)
