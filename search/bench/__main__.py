"""``python -m search.bench NAME [--json] [sizes...]``: run one benchmark, print its figures."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Sequence

from search.bench._cli import parse_args
from search.bench._errors import BenchError
from search.bench._machine import machine_info, versions


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter (levers).
    args = parse_args(argv)
    args.progress = sys.stderr
    module = importlib.import_module(f"search.bench.{args.name}")
    try:
        return module.run(args, machine=machine_info(), versions=versions(), stream=sys.stdout)
    except BenchError as error:
        print(f"search.bench {args.name}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"search.bench {args.name}: interrupted; no figures", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
