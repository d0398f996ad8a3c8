"""The command line of ``python -m benchmarks NAME [--json] [--seed N] [its own flags]``."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable, Sequence

from benchmarks._machine import cpu_count
from search.cli import OneLineParser, fraction, non_negative_int, number, parse_duration, positive_int, resource_share

BENCHMARKS = {
    "overhead": "the service against a plain Optuna loop on a fixed list of CNN configurations",
    "target": "wall time until a trial first reaches a validation accuracy: service, Optuna, KerasTuner",
    "utilization": "share of the machine's CPU time that goes to the trials during a search",
    "gpu": "epochs per minute with 1, 2, 4, 8 trials sharing one GPU",
    "scale": "the driver's own costs with thousands of trials on many simulated slots",
    "memory": "a reused trial slot's memory over a long run of one-epoch trials",
    "asha": "how often ASHA's first rung stopped a trial that would have ended among a run's best",
    "ensemble_members": "which members make the best ensemble of a run's configurations, on its validation split",
    "longer_training": "what longer training and wider filters than the CNN space's buy, on the search split",
}


def counts(flag: str) -> Callable[[str], list[int]]:
    """'1,2,4,8' -> [1, 2, 4, 8], each >= 1."""
    def parse(text: str) -> list[int]:
        try:
            values = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            values = []
        if not values or min(values) < 1:
            raise argparse.ArgumentTypeError(f"{flag} is {text!r}, but must be whole numbers >= 1 "
                                             f"separated by commas, like 1,2,4,8")
        return values

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m benchmarks",
        description="Benchmarks of the search service (not tests): a table for people, or --json "
                    "for one JSON object per line.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    common.add_argument("--seed", type=non_negative_int("--seed"), default=0, help="seed of the data split, samplers and trials (default 0)")
    names = parser.add_subparsers(dest="name", metavar="NAME", parser_class=OneLineParser)
    names.required = True
    nproc = cpu_count()
    for name, description in BENCHMARKS.items():
        sub = names.add_parser(name, parents=[common], help=description, description=description)
        # Each benchmark's module adds its own flags; only the one asked for runs.
        module = importlib.import_module(f"benchmarks.{name}")
        module.add_arguments(sub, positive_int=positive_int, nproc=nproc, duration=_duration,
                             fraction=fraction, counts=counts, number=number, resource_share=resource_share)
    return parser


def _duration(text: str) -> float:
    return parse_duration(text)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
