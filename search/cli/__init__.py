"""The command line of ``python -m search.run``: parsing and checking every flag before Ray
starts or anything is written, and the flag types the benchmarks share."""

from search._text import OneLineParser
from search.cli._arguments import fraction, non_negative_int, number, parse_duration, positive_int, resource_share
from search.cli._options import (
    DEFAULT_NUM_SAMPLES,
    RunOptions,
    UsageError,
    check_results_folder,
    parse_options,
)

__all__ = [
    "DEFAULT_NUM_SAMPLES",
    "OneLineParser",
    "RunOptions",
    "UsageError",
    "check_results_folder",
    "fraction",
    "non_negative_int",
    "number",
    "parse_duration",
    "parse_options",
    "positive_int",
    "resource_share",
]
