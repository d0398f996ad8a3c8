"""``python -m benchmarks NAME [--json] [--seed N] [its own flags]``: run one benchmark, print its figures."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Sequence

from benchmarks._cli import parse_args
from benchmarks._errors import BenchError
from benchmarks._machine import machine_info, versions


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter.
    args = parse_args(argv)
    args.progress = sys.stderr
    module = importlib.import_module(f"benchmarks.{args.name}")
    try:
        return module.run(args, machine=machine_info(), versions=versions(), stream=sys.stdout)
    except BenchError as error:
        print(f"benchmarks {args.name}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"benchmarks {args.name}: interrupted; no figures", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
