"""The command line of ``python -m search.run``: parsing and checking every flag.

Every check happens here, before Ray starts or anything is written, and a bad value gets
one line that names the value, the rule and the fix.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from mnist_models import parameter_count
from search._text import OneLineParser
from search.cli._arguments import (fraction, non_negative_int, parse_duration, positive_int, resource_share,
                                   run_name)
from search.run_folder import StorageError, check_run_uri, is_uri, staging_folder
from search.study import OBJECTIVES, size_aware
from spaces import SPACES, smallest_candidates

# With the confirmation's budget, a default run on a 2-core machine ends within 20 minutes:
# about half a minute to start, 9 of search, at most 9 of confirmation (by the search's
# epoch times, which overestimate the retraining a little), and the report.
DEFAULT_TIME_BUDGET_S = 9 * 60
DEFAULT_CONFIRM_BUDGET_S = 9 * 60
DEFAULT_NUM_SAMPLES = 200
# A longer --time-budget given without --num-samples or --confirm-budget: the trial cap grows
# with the budget (at the default's rate, 200 trials per 9 minutes, which a search on a 2-core
# machine does not reach), so that the time asked for is the time searched; and the
# confirmation may take up to two fifths of the search's time (24 minutes for an hour; measured:
# docs/PERFORMANCE.md, "Longer searches"), since a long search's best configurations may be
# larger and slower to retrain: those of an hour's search train up to 15 epochs.
LONG_SEARCH_CONFIRM_SHARE = 0.4
# A search of an hour or more, for accuracy alone: its trials may train longer
# (``Space.long_search_max_epochs``: 15 for cnn, where the space then offers two convolutions a
# block too), since it has the time for enough of them; shorter searches keep the cap at which
# the most trials finish (measured: docs/PERFORMANCE.md, "Longer searches").
LONG_SEARCH_MIN_BUDGET_S = 60 * 60
DEFAULT_TOP_K = 3
# A size-aware search (--objective pareto, or any --max-params): small models need more epochs
# (cheap ones: ``Space.size_aware_max_epochs``; docs/PERFORMANCE.md, "Choices measured", gives
# the small designs' curves), so the search and the confirmation get more time; a default run
# on a 2-core machine ends within 30 minutes. The confirmation's budget holds a 15-epoch small CNN's three seeds beside
# the notebook's models and the most accurate configuration (docs/PERFORMANCE.md). A pareto
# search confirms more configurations, spread along the front.
SIZE_AWARE_TIME_BUDGET_S = 12 * 60
SIZE_AWARE_CONFIRM_BUDGET_S = 14 * 60
PARETO_TOP_K = 6
# How many times a trial that crashed is run again, from its last epoch's checkpoint, before it
# counts as failed. A lost node (a spot worker reclaimed) costs a retry the epoch in progress
# only, so a spot search can afford several; a trial that fails for a reason of its own (a
# configuration that exhausts a node's memory) must not loop: it fails after this many, having
# cost at most this many epochs in progress more. (A trial refused its GPU is never retried:
# it stops the search, see search/tuning/_device_refusal.py.)
DEFAULT_MAX_FAILURES = 3
# The largest seed numpy, Optuna's sampler and Keras's set_random_seed take (32 bits).
MAX_SEED = 2**32 - 1


class UsageError(ValueError):
    """A bad command-line value; the message is the one line the user sees."""


@dataclass(frozen=True)
class RunOptions:
    space: str
    num_samples: int
    time_budget_s: float
    max_epochs: int
    max_concurrent: int | None
    cpus_per_trial: float
    gpus_per_trial: float
    seed: int
    results: str
    name: str | None
    data: str | None
    train_limit: int | None
    address: str | None
    dashboard: bool
    max_failures: int
    argv: tuple[str, ...]
    resume: str | None = None
    # The flags the command line gave (argparse's names: "time_budget", "confirm", ...); a
    # resumed run refuses a setting that differs from the run's own.
    given: frozenset[str] = frozenset()
    top_k: int = 3
    confirm_seeds: int = 3
    confirm: bool = True
    confirm_train_limit: int | None = None
    confirm_budget_s: float | None = DEFAULT_CONFIRM_BUDGET_S
    objective: str = "accuracy"
    max_params: int | None = None
    warm_start: tuple[str, ...] = ()
    stop_at: float | None = None

    @property
    def size_aware(self) -> bool:
        """Whether the search weighs parameters (its space then offers what small models need)."""
        return size_aware(self.objective, self.max_params)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m search.run",
        description="Search hyperparameters of MNIST Keras models with Ray Tune, Optuna TPE and ASHA.",
    )
    parser.add_argument("--space", default=None, help=f"search space: {', '.join(sorted(SPACES))} (default cnn)")
    parser.add_argument("--num-samples", type=positive_int("--num-samples"), default=None,
                        help=f"most trials to run (default {DEFAULT_NUM_SAMPLES} per {DEFAULT_TIME_BUDGET_S // 60} "
                             f"minutes of --time-budget; the time budget usually ends the search first)")
    parser.add_argument("--objective", default="accuracy",
                        help="accuracy (validation accuracy alone, the default) or pareto (validation accuracy "
                             "and parameter count together: the trade-off)")
    parser.add_argument("--max-params", type=positive_int("--max-params"), default=None,
                        help="search only models of at most N parameters (either objective)")
    parser.add_argument("--time-budget", type=parse_duration, default=None,
                        help="wall-clock budget of the search, like 90s, 20m, 1h (default 9m; 12m with pareto or "
                             "--max-params)")
    parser.add_argument("--max-epochs", type=positive_int("--max-epochs"), default=None,
                        help=f"most epochs a trial trains (default {SPACES['cnn'].max_epochs} for cnn, "
                             f"{SPACES['cnn'].long_search_max_epochs} with a --time-budget of "
                             f"{LONG_SEARCH_MIN_BUDGET_S // 3600}h or more, "
                             f"{SPACES['cnn'].size_aware_max_epochs} with pareto or --max-params; "
                             f"{SPACES['dense'].max_epochs} for dense)")
    parser.add_argument("--max-concurrent", type=positive_int("--max-concurrent"), default=None,
                        help="most trials at once (default: as many as the cluster's CPUs and GPUs allow)")
    parser.add_argument("--cpus-per-trial", type=resource_share("--cpus-per-trial", allow_zero=False), default=1.0,
                        help="CPUs each trial holds; TensorFlow uses as many threads (default 1)")
    parser.add_argument("--gpus-per-trial", type=resource_share("--gpus-per-trial", allow_zero=True), default=0.0,
                        help="GPUs each trial holds; fractions share a GPU, 0.25 = four trials a GPU (default 0)")
    parser.add_argument("--seed", type=non_negative_int("--seed"), default=0,
                        help="seed of the sampler, the validation split and every trial (default 0)")
    parser.add_argument("--results", default="results",
                        help="folder of runs, or an s3://, gs:// or file:// URI (default ./results)")
    parser.add_argument("--name", type=run_name, default=None, help="run name (default SPACE-DATE-TIME)")
    parser.add_argument("--data", default=None, help="an .npz with x_train, y_train, x_test, y_test (default: the shipped MNIST)")
    parser.add_argument("--train-limit", type=positive_int("--train-limit"), default=None,
                        help="search on the first N training images only (smoke runs, tests)")
    parser.add_argument("--warm-start", nargs="+", type=run_name, default=(), metavar="RUN",
                        help="start from the finished trials of earlier runs RUN ... of the same space (in --results)")
    parser.add_argument("--stop-at", type=fraction("--stop-at"), default=None, metavar="ACC",
                        help="end the search once a trial reaches validation accuracy ACC (in (0, 1])")
    _add_confirmation_arguments(parser)
    _add_cluster_arguments(parser)
    return parser


def _add_confirmation_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top-k", type=positive_int("--top-k"), default=None,
                        help="distinct configurations to confirm on the test set after the search (default 3: the "
                             "best; 6 with pareto: spread along the front)")
    parser.add_argument("--confirm-seeds", type=positive_int("--confirm-seeds"), default=3,
                        help="seeds each confirmed configuration and notebook model is retrained with (default 3)")
    parser.add_argument("--confirm-budget", type=parse_duration, default=None,
                        help="most wall-clock time the confirmation's training may take by the search's epoch "
                             "times; a configuration that would not fit is passed over for the next best "
                             "(default 9m, 14m with pareto or --max-params, or two fifths of a longer --time-budget)")
    parser.add_argument("--no-confirm", dest="confirm", action="store_false",
                        help="search only: no retraining on all training images, no test scores")
    # Smoke runs and tests only, hence hidden from --help: the confirmation trains on the first
    # N training images, so its verdicts are not results (the report and the table say so).
    parser.add_argument("--confirm-train-limit", type=positive_int("--confirm-train-limit"), default=None,
                        help=argparse.SUPPRESS)


def _add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default=None,
                        help="an existing Ray cluster ('auto' or HOST:PORT); default: start Ray here")
    parser.add_argument("--no-dashboard", dest="dashboard", action="store_false",
                        help="do not start the Ray dashboard of the embedded cluster")
    parser.add_argument("--resume", type=run_name, default=None, metavar="NAME",
                        help="continue the interrupted run NAME in --results with the settings it started with (a flag "
                             "that asks for another value is refused)")
    parser.add_argument("--max-failures", type=non_negative_int("--max-failures"), default=DEFAULT_MAX_FAILURES,
                        help="retries of a trial that crashed (a lost node, a reclaimed spot worker), each from its "
                             "last epoch, before it counts as failed; a retry costs at most the epoch in progress, "
                             f"and a trial failing for a reason of its own stops after that many (default "
                             f"{DEFAULT_MAX_FAILURES})")


def parse_options(argv: Sequence[str] | None = None) -> RunOptions:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    given = _given_flags(parser, argv, names=vars(args))
    args.space = args.space or "cnn"
    _check_choices(args)
    _check_seeds(args)
    pareto = args.objective == "pareto"
    weighs_size = size_aware(args.objective, args.max_params)
    time_budget_s = float(args.time_budget if args.time_budget is not None else
                          SIZE_AWARE_TIME_BUDGET_S if weighs_size else DEFAULT_TIME_BUDGET_S)
    confirm_budget_s = max(float(SIZE_AWARE_CONFIRM_BUDGET_S if weighs_size else DEFAULT_CONFIRM_BUDGET_S),
                           LONG_SEARCH_CONFIRM_SHARE * time_budget_s)
    options = RunOptions(
        space=args.space, num_samples=args.num_samples or default_num_samples(time_budget_s),
        time_budget_s=time_budget_s,
        max_epochs=args.max_epochs or default_max_epochs(args.space, time_budget_s, size_aware=weighs_size),
        max_concurrent=args.max_concurrent, cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
        seed=args.seed, results=args.results, name=args.name, data=args.data, train_limit=args.train_limit,
        address=args.address, dashboard=args.dashboard, max_failures=args.max_failures, argv=tuple(argv),
        resume=args.resume, given=given, top_k=args.top_k or (PARETO_TOP_K if pareto else DEFAULT_TOP_K),
        confirm_seeds=args.confirm_seeds, confirm=args.confirm, confirm_train_limit=args.confirm_train_limit,
        confirm_budget_s=args.confirm_budget if args.confirm_budget is not None else confirm_budget_s,
        objective=args.objective, max_params=args.max_params, warm_start=tuple(args.warm_start),
        stop_at=args.stop_at,
    )
    if options.max_params is not None:
        _check_budget(options)
    return options


def default_max_epochs(space_name: str, time_budget_s: float, *, size_aware: bool) -> int:
    """The epoch cap of a search not given ``--max-epochs``: the space's, its size-aware one, or
    for a search of ``LONG_SEARCH_MIN_BUDGET_S`` or more its long one."""
    space = SPACES[space_name]
    if size_aware:
        return space.size_aware_max_epochs
    if time_budget_s >= LONG_SEARCH_MIN_BUDGET_S and space.long_search_max_epochs is not None:
        return space.long_search_max_epochs
    return space.max_epochs


def default_num_samples(time_budget_s: float) -> int:
    """The trial cap of a search not given ``--num-samples``: ``DEFAULT_NUM_SAMPLES`` per
    ``DEFAULT_TIME_BUDGET_S`` of its time budget, and never fewer."""
    return max(DEFAULT_NUM_SAMPLES, math.ceil(DEFAULT_NUM_SAMPLES * time_budget_s / DEFAULT_TIME_BUDGET_S))


def _given_flags(parser: argparse.ArgumentParser, argv: Sequence[str], *, names: Iterable[str]) -> frozenset[str]:
    """The flags ``argv`` gives, of ``parser``'s ``names``: parsed again into a namespace whose
    every name already holds a marker, which argparse keeps where no flag sets it (no default)."""
    unset = object()
    parsed = parser.parse_args(argv, argparse.Namespace(**dict.fromkeys(names, unset)))
    return frozenset(name for name, value in vars(parsed).items() if value is not unset)


def _check_choices(args: argparse.Namespace) -> None:
    if args.space not in SPACES:
        raise UsageError(f"--space {args.space!r} is not a search space: choose one of {', '.join(sorted(SPACES))}")
    if args.objective not in OBJECTIVES:
        raise UsageError(f"--objective {args.objective!r} is not an objective: choose one of "
                         f"{', '.join(OBJECTIVES)}")
    if args.gpus_per_trial > 1 and not float(args.gpus_per_trial).is_integer():
        raise UsageError(
            f"--gpus-per-trial is {args.gpus_per_trial:g}, but above 1 it must be a whole number "
            f"(Ray shares a GPU only in fractions below 1): use 1, 2, ... or a fraction like 0.25"
        )


def _check_seeds(args: argparse.Namespace) -> None:
    """The run's seed and the confirmation's (the next ``--confirm-seeds - 1``) fit where they go."""
    last = args.seed + args.confirm_seeds - 1
    if last > MAX_SEED:
        raise UsageError(f"--seed is {args.seed}, but the confirmation's seeds run from it to {last}, and a seed "
                         f"must be at most {MAX_SEED} (32 bits, as numpy, Optuna and Keras take it): give a "
                         f"smaller --seed")


def smallest_model(space: str, *, size_aware: bool) -> int:
    """The fewest parameters a model of ``space`` can have."""
    return min(parameter_count(config) for config in smallest_candidates(space, size_aware=size_aware))


def _check_budget(options: RunOptions) -> None:
    smallest = smallest_model(options.space, size_aware=True)
    if options.max_params < smallest:
        raise UsageError(f"--max-params is {options.max_params:,}, but the smallest model space {options.space!r} "
                         f"can build has {smallest:,} parameters: give at least {smallest}")


def check_results_folder(results: str, name: str) -> Path:
    """The run's folder ``results/name``: refused if it exists or cannot be written.

    For a storage URI (``s3://``, ``gs://``, ``file://``) the same checks run there, and the
    folder returned is the run's local staging copy (``search.run_folder``).
    """
    if is_uri(results):
        try:
            check_run_uri(results, name)
        except StorageError as error:
            raise UsageError(str(error)) from error
        return staging_folder(results, name)
    results_dir = Path(results).expanduser().resolve()
    run_dir = results_dir / name
    if run_dir.exists():
        raise UsageError(
            f"run {name!r} already exists in {str(results_dir)!r}: pick another --name, or continue "
            f"it with --resume {name} (nothing was changed)"
        )
    existing = results_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"--results {results!r} is not a folder ({str(existing)!r} is a file): give a folder path")
    _check_writable(existing, results)
    return run_dir


def _check_writable(folder: Path, results: str) -> None:
    """Probe with a real temporary file: permission bits say nothing for root or read-only mounts."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise UsageError(
            f"--results {results!r} cannot be written ({str(folder)!r}: {error.strerror or error}): "
            f"give a writable folder"
        ) from error
