"""The command line of ``python -m search.run``: parsing and checking every flag before Ray
starts or anything is written, and the flag types the benchmarks share."""

from search.cli._arguments import (
    NAME_PATTERN,
    OneLineParser,
    fraction,
    non_negative_int,
    number,
    parse_duration,
    positive_int,
    run_name,
)
from search.cli._options import (
    DEFAULT_CONFIRM_BUDGET_S,
    DEFAULT_MAX_EPOCHS,
    DEFAULT_NUM_SAMPLES,
    DEFAULT_TIME_BUDGET_S,
    DEFAULT_TOP_K,
    PARETO_TOP_K,
    SIZE_AWARE_DEFAULTS,
    RunOptions,
    UsageError,
    build_parser,
    check_results_folder,
    parse_options,
    smallest_model,
)

__all__ = [
    "DEFAULT_CONFIRM_BUDGET_S",
    "DEFAULT_MAX_EPOCHS",
    "DEFAULT_NUM_SAMPLES",
    "DEFAULT_TIME_BUDGET_S",
    "DEFAULT_TOP_K",
    "PARETO_TOP_K",
    "SIZE_AWARE_DEFAULTS",
    "NAME_PATTERN",
    "OneLineParser",
    "RunOptions",
    "UsageError",
    "build_parser",
    "check_results_folder",
    "fraction",
    "non_negative_int",
    "number",
    "parse_duration",
    "parse_options",
    "positive_int",
    "run_name",
    "smallest_model",
]
