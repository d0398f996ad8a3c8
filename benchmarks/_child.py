"""``python -m benchmarks._child ARM SPEC OUT``: run one arm in this fresh process.

Each arm runs in a process of its own, so each starts cold (imports, Ray, TensorFlow's
thread pools) as a user's command would, and no arm inherits another's state. The spec and
the result are JSON files; a failure is written as ``{"error": ...}`` and exit status 1.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path

# Each arm's module, imported in the arm's own process only: a plain loop never pays for Ray.
ARM_MODULES = {
    "service_fixed": "benchmarks._service_arms",
    "service_target": "benchmarks._service_arms",
    "plain_fixed": "benchmarks._plain_arms",
    "optuna_target": "benchmarks._plain_arms",
    "kerastuner_target": "benchmarks._plain_arms",
    "scale": "benchmarks._scale_arm",
    "scale_bare_tune": "benchmarks._scale_arm",
}


def main(argv: list[str]) -> int:
    arm, spec_path, out_path = argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    spec = json.loads(Path(spec_path).read_text())
    try:
        result = importlib.import_module(ARM_MODULES[arm]).ARMS[arm](spec)
    except Exception as error:  # Reported to the parent, which names the arm and the cause.
        Path(out_path).write_text(json.dumps({"error": f"{type(error).__name__}: {error}",
                                              "traceback": traceback.format_exc()[-4000:]}))
        return 1
    Path(out_path).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
