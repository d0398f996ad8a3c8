"""Command-line parsing: every bad value is refused with one line naming the value and the rule."""

from __future__ import annotations

import pytest

from search.cli import UsageError, parse_duration, parse_options
from spaces import SPACES


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("20m", 1200), ("1h", 3600), ("45", 45), ("1.5m", 90)])
def test_time_budgets_read_like_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_defaults_give_a_cnn_search_on_this_machine() -> None:
    options = parse_options([])
    assert options.space == "cnn"
    assert options.max_epochs == SPACES["cnn"].max_epochs
    assert options.cpus_per_trial == 1 and options.gpus_per_trial == 0
    assert options.results == "results" and options.address is None


def test_max_epochs_defaults_per_space() -> None:
    assert parse_options(["--space", "dense"]).max_epochs == SPACES["dense"].max_epochs
    assert parse_options(["--space", "dense", "--max-epochs", "3"]).max_epochs == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--num-samples", "0"], "--num-samples is 0, but must be >= 1"),
        (["--num-samples", "ten"], "--num-samples is 'ten', but must be a whole number >= 1"),
        (["--time-budget", "soon"], "time budget 'soon' is not a positive duration"),
        (["--time-budget", "0s"], "time budget '0s' is not a positive duration"),
        (["--time-budget=-5m"], "time budget '-5m' is not a positive duration"),
        (["--confirm-budget", "-1m"], "argument --confirm-budget: expected one argument; a value that starts with '-' "
                                      "is written --confirm-budget=VALUE"),
        (["--seed"], "argument --seed: expected one argument (see --help)"),
        (["--seed", "--space", "cnn"], "argument --seed: expected one argument (see --help)"),
        (["--confirm-budget", "0"], "argument --confirm-budget: time budget '0' is not a positive duration"),
        (["--max-epochs=-1"], "--max-epochs is -1, but must be >= 1"),
        (["--max-concurrent", "0"], "--max-concurrent is 0, but must be >= 1"),
        (["--cpus-per-trial", "0"], "--cpus-per-trial is 0, but must be a finite number > 0"),
        (["--gpus-per-trial=-0.5"], "--gpus-per-trial is -0.5, but must be a finite number >= 0"),
        (["--gpus-per-trial", "nan"], "--gpus-per-trial is nan, but must be a finite number >= 0"),
        (["--seed", "x"], "--seed is 'x', but must be a whole number >= 0"),
        (["--train-limit", "0"], "--train-limit is 0, but must be >= 1"),
        (["--name", "../escape"], "--name '../escape' is not a valid run name"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--time-budget", "9" * 400 + "s"], "is more than 30 days: give at most 720h"),
        (["--confirm-budget", "31d"], "time budget '31d' is not a positive duration"),
        (["--time-budget", "721h"], "time budget '721h' is more than 30 days"),
        (["--cpus-per-trial", "1e-320"], "--cpus-per-trial is 1e-320, but Ray schedules no share finer than 0.0001"),
        (["--gpus-per-trial", "0.00001"], "--gpus-per-trial is 0.00001, but Ray schedules no share finer than 0.0001: "
                                          "give at least 0.0001 (or 0)"),
        (["--stop-at", "1.5"], "--stop-at is 1.5, but must be in (0, 1]: a validation accuracy like 0.99"),
    ],
)
def test_bad_values_exit_2_with_one_line(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_options(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_an_unknown_space_names_the_choices() -> None:
    with pytest.raises(UsageError, match="--space 'resnet' is not a search space: choose one of cnn, dense"):
        parse_options(["--space", "resnet"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--objective", "size"], "--objective 'size' is not an objective: choose one of accuracy, pareto"),
    (["--max-params", "10"], "--max-params is 10, but the smallest model space 'cnn' can build has 90 parameters: "
                             "give at least 90"),
    (["--seed", "4294967294"], "--seed is 4294967294, but the confirmation's seeds run from it to 4294967296, and "
                               "a seed must be at most 4294967295 (32 bits, as numpy, Optuna and Keras take it): "
                               "give a smaller --seed"),
])
def test_values_checked_once_parsed_are_refused_in_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_options(argv)
    assert str(refused.value) == message


def test_the_largest_seed_is_the_last_one_the_confirmation_takes() -> None:
    assert parse_options(["--seed", "4294967295", "--confirm-seeds", "1"]).seed == 2**32 - 1
    assert parse_options(["--seed", "4294967293"]).seed == 2**32 - 3


def test_a_fractional_gpu_count_above_one_is_refused() -> None:
    with pytest.raises(UsageError, match="--gpus-per-trial is 1.5"):
        parse_options(["--gpus-per-trial", "1.5"])


def test_the_flags_of_the_confirmation() -> None:
    options = parse_options([])
    assert (options.top_k, options.confirm_seeds, options.confirm, options.confirm_train_limit) == (3, 3, True, None)
    assert options.confirm_budget_s == 9 * 60
    assert parse_options(["--confirm-budget", "20m"]).confirm_budget_s == 20 * 60
    options = parse_options(["--top-k", "1", "--confirm-seeds", "2", "--no-confirm", "--confirm-train-limit", "500"])
    assert (options.top_k, options.confirm_seeds, options.confirm, options.confirm_train_limit) == (1, 2, False, 500)


def test_a_longer_time_budget_is_searched_whole_and_confirms_within_two_fifths_of_it() -> None:
    """Without --num-samples, the trial cap grows with the budget (200 per 9 minutes), so a
    search given an hour is not ended by its trial count first; the confirmation's budget is
    two fifths of a long search's (never below the defaults); flags given win."""
    assert (parse_options([]).num_samples, parse_options([]).confirm_budget_s) == (200, 540)
    hour = parse_options(["--time-budget", "1h"])
    assert (hour.num_samples, hour.time_budget_s, hour.confirm_budget_s) == (1334, 3600, 1440)
    half = parse_options(["--time-budget", "30m"])
    assert (half.num_samples, half.confirm_budget_s) == (667, 720)
    assert parse_options(["--time-budget", "2m"]).num_samples == 200
    given = parse_options(["--time-budget", "1h", "--num-samples", "50", "--confirm-budget", "5m"])
    assert (given.num_samples, given.confirm_budget_s) == (50, 300)


def test_a_search_of_an_hour_or_more_for_accuracy_trains_its_cnns_longer() -> None:
    """An hour's CNN search has the time for trials of up to 15 epochs (where its space offers
    two convolutions a block); a shorter one keeps 6; --max-epochs wins, a size-aware search
    keeps its own cap, and the dense space has no longer one."""
    assert parse_options(["--time-budget", "59m"]).max_epochs == 6
    assert parse_options(["--time-budget", "1h"]).max_epochs == 15
    assert parse_options(["--time-budget", "2h", "--max-epochs", "4"]).max_epochs == 4
    assert parse_options(["--time-budget", "1h", "--max-params", "20000"]).max_epochs == 15
    assert parse_options(["--space", "dense", "--time-budget", "1h"]).max_epochs == 20


@pytest.mark.parametrize("flag", ["--top-k", "--confirm-seeds", "--confirm-train-limit"])
def test_confirmation_counts_must_be_positive(flag: str, capsys) -> None:
    with pytest.raises(SystemExit):
        parse_options([flag, "0"])
    assert f"{flag} is 0, but must be >= 1" in capsys.readouterr().err


def test_a_size_aware_search_trains_longer_and_confirms_longer_by_default() -> None:
    """Small models need more epochs: pareto and --max-params alike get 15 epochs, 12 minutes of
    search and 14 of confirmation; only pareto confirms six configurations along the front."""
    plain = parse_options([])
    budgeted = parse_options(["--max-params", "20000"])
    pareto = parse_options(["--objective", "pareto"])
    assert (plain.max_epochs, plain.time_budget_s, plain.confirm_budget_s, plain.top_k) == (6, 540, 540, 3)
    assert (budgeted.max_epochs, budgeted.time_budget_s, budgeted.confirm_budget_s, budgeted.top_k) == (15, 720, 840, 3)
    assert (pareto.max_epochs, pareto.time_budget_s, pareto.confirm_budget_s, pareto.top_k) == (15, 720, 840, 6)
    assert parse_options(["--max-params", "20000", "--max-epochs", "4", "--time-budget", "1m"]).max_epochs == 4


def test_the_options_name_the_flags_the_command_line_gave_defaults_or_not() -> None:
    assert parse_options([]).given == frozenset()
    assert parse_options(["--time-budget", "9m", "--no-confirm", "--seed", "0", "--warm-start", "a", "b"]).given == {
        "time_budget", "confirm", "seed", "warm_start"}
