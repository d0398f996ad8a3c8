"""The benchmarks (``benchmarks/``): the command line, the arithmetic of every figure on made-up
numbers, the JSON line format, and (end-to-end) one tiny real ``overhead`` run."""

from __future__ import annotations

import io
import json
import math
import subprocess
import warnings

import numpy as np
import pytest

from benchmarks import _cli, gpu, overhead, target, utilization
from benchmarks._configs import FIXED_CNN_POINTS, fixed_points, point_index
from benchmarks._figures import (cpu_shares, epochs_per_minute, first_reaching, overhead_per_trial, slot_gaps,
                                   trial_spans)
from benchmarks._output import MissingKeyError, json_line, table
from benchmarks._procstat import TreeAccount, classify, parse_machine_stat, parse_process_stat
from benchmarks._spawn import ArmRun
from spaces import config_from_point
from tests.conftest import PROJECT_ROOT, PYTHON

MACHINE = {"nproc": 2, "cpu_model": "made-up CPU", "memory_gib": 8.0, "gpus": [], "hostname": "h", "os": "linux",
           "load_average_at_start": [0.1, 0.1, 0.1]}
VERSIONS = {"python": "3.11", "ray": "2.60.0"}


# Command line -------------------------------------------------------------------------------

def test_overhead_takes_its_sizes_and_defaults_to_8_configs_2_epochs_3_repeats() -> None:
    defaults = _cli.parse_args(["overhead"])
    assert (defaults.configs, defaults.epochs, defaults.repeats, defaults.train_limit, defaults.json) == (8, 2, 3,
                                                                                                       None, False)
    shrunk = _cli.parse_args(["overhead", "--json", "--configs", "2", "--epochs", "1", "--train-limit", "1000",
                              "--repeats", "1"])
    assert (shrunk.configs, shrunk.epochs, shrunk.train_limit, shrunk.repeats, shrunk.json) == (2, 1, 1000, 1, True)


@pytest.mark.parametrize("argv", [["overhead", "--configs", "0"], ["overhead", "--epochs", "two"],
                                  ["nonsense"], ["target", "--target", "1.5"], ["target", "--cap", "-3m"],
                                  ["gpu", "--trials-per-gpu", "1,0"], ["gpu", "--config", "99"],
                                  ["gpu", "--config", "-1"], ["asha", "RUN", "--seed", "-1"],
                                  ["scale", "--epoch-seconds", "-1"], ["utilization", "--interval", "nan"],
                                  ["utilization", "--time-budget", "soon"], ["utilization", "--cpus-per-trial", "0"],
                                  ["utilization", "--gpus-per-trial", "1e-9"]])
def test_a_bad_argument_is_one_line_and_exit_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _cli.parse_args(argv)
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_target_defaults_to_three_seeds_and_a_ten_minute_cap_and_reads_durations() -> None:
    args = _cli.parse_args(["target", "--space", "dense", "--cap", "90s"])
    assert (args.space, args.seeds, args.cap, args.target) == ("dense", 3, 90.0, None)
    assert _cli.parse_args(["target"]).cap == 600.0


def test_gpu_counts_are_a_comma_separated_list() -> None:
    assert _cli.parse_args(["gpu"]).trials_per_gpu == [1, 2, 4, 8]
    assert _cli.parse_args(["gpu", "--trials-per-gpu", "1,4"]).trials_per_gpu == [1, 4]
    assert [gpu.gpu_share(count) for count in (1, 2, 4, 8)] == [1.0, 0.5, 0.25, 0.125]


def test_overhead_refuses_more_configurations_than_the_fixed_list_holds() -> None:
    args = _cli.parse_args(["overhead", "--configs", str(len(FIXED_CNN_POINTS) + 1)])
    with pytest.raises(overhead.OverheadError, match="at most 12"):
        overhead.check_arguments(args)


def test_unknown_peers_are_named() -> None:
    with pytest.raises(target.BenchError, match="'kerastunr'"):
        target.chosen_peers("service,kerastunr")


def test_the_warm_peer_joins_the_default_peers_only_with_a_run_to_start_from(tmp_path) -> None:
    assert target.chosen_peers(None) == ["service", "optuna", "kerastuner"]
    assert target.chosen_peers(None, warm_start=tmp_path) == ["service", "optuna", "kerastuner", "warm"]
    with pytest.raises(target.BenchError, match="peer 'warm' needs the run to start from: add --warm-start"):
        target.chosen_peers("service,warm")


def test_the_warm_peer_refuses_a_folder_that_is_not_a_run_of_the_space(tmp_path) -> None:
    with pytest.raises(target.BenchError, match="is not a run's folder"):
        target.checked_warm_start(tmp_path / "nothing", space="cnn", max_epochs=6)
    folder = tmp_path / "dense-run"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"space": "dense", "objective": "accuracy"}))
    with pytest.raises(target.BenchError, match="that run searched space 'dense', not 'cnn'"):
        target.checked_warm_start(folder, space="cnn", max_epochs=6)


# Figures ----------------------------------------------------------------------------------

def test_overhead_per_trial_counts_every_slot_of_concurrent_trials() -> None:
    # 2 slots x 100 s = 200 slot-seconds; 180 s of epochs; 8 trials -> 2.5 s each.
    assert overhead_per_trial(wall_s=100.0, concurrency=2, training_s=180.0, trials=8) == pytest.approx(2.5)
    # A sequential loop: 100 s of wall, 96 s of epochs, 8 trials -> 0.5 s each.
    assert overhead_per_trial(wall_s=100.0, concurrency=1, training_s=96.0, trials=8) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="concurrency is 0"):
        overhead_per_trial(wall_s=1.0, concurrency=0, training_s=0.0, trials=1)


def _arm(wall_s: float, **result) -> ArmRun:
    return ArmRun(arm="made-up", wall_s=wall_s, result=result)


def test_one_repetition_gives_the_ratio_and_the_overheads_of_both_arms() -> None:
    trials = [{"config_index": 0, "epoch_seconds": [40.0, 30.0], "ended_at": [60.0, 90.0]},
              {"config_index": 1, "epoch_seconds": [50.0, 40.0], "ended_at": [75.0, 115.0]}]
    service = _arm(120.0, fit_s=90.0, fit_started_at=15.0, concurrency=2, ray_init_s=5.0, shutdown_s=2.0,
                   trials=trials)
    plain = _arm(100.0, optimize_s=88.0, optimize_started_at=10.0, import_s=6.0,
                 trials=[{"config_index": 0, "epoch_seconds": [21.0, 20.0], "ended_at": [32.0, 52.0]},
                         {"config_index": 1, "epoch_seconds": [22.0, 21.0], "ended_at": [76.0, 97.0]}])
    figures = overhead.repetition_figures(service, plain)
    assert figures["service_to_first_epoch_s"] == pytest.approx(20.0 - 15.0)
    assert figures["plain_gap_per_trial_s"] == pytest.approx(54.0 - 52.0)
    assert math.isnan(figures["service_gap_per_trial_s"])  # Two trials on two slots: no trial waited.
    assert figures["ratio_service_over_plain"] == pytest.approx(1.2)
    assert figures["service_training_s"] == pytest.approx(160.0)
    assert figures["overhead_per_trial_s"] == pytest.approx((90.0 * 2 - 160.0) / 2)
    assert figures["overhead_per_trial_end_to_end_s"] == pytest.approx((120.0 * 2 - 160.0) / 2)
    assert figures["plain_overhead_per_trial_s"] == pytest.approx((88.0 - 84.0) / 2)
    assert figures["service_startup_and_shutdown_s"] == pytest.approx(30.0)
    assert overhead.per_configuration(service, plain) == [{"service_training_s": 70.0, "plain_training_s": 41.0},
                                                          {"service_training_s": 90.0, "plain_training_s": 43.0}]


def test_the_overhead_summary_gives_the_overhead_per_trial_of_the_arms_it_ran(monkeypatch) -> None:
    # Service: 2 trials x 2 epochs on 2 slots, 150 s of epochs in a 90-s search -> (90 x 2 - 150) / 2 = 15 s.
    service = _arm(120.0, fit_s=90.0, fit_started_at=15.0, concurrency=2, ray_init_s=5.0, shutdown_s=2.0,
                   trials=[{"config_index": 0, "epoch_seconds": [40.0, 30.0], "ended_at": [60.0, 90.0]},
                           {"config_index": 1, "epoch_seconds": [50.0, 30.0], "ended_at": [75.0, 105.0]}])
    plain = _arm(100.0, optimize_s=88.0, optimize_started_at=10.0, import_s=6.0,
                 trials=[{"config_index": 0, "epoch_seconds": [21.0, 20.0], "ended_at": [32.0, 52.0]},
                         {"config_index": 1, "epoch_seconds": [22.0, 21.0], "ended_at": [76.0, 97.0]}])
    monkeypatch.setattr(overhead, "run_arm", lambda arm, spec, **_: {"service_fixed": service,
                                                                     "plain_fixed": plain}[arm])
    args = _cli.parse_args(["overhead", "--json", "--configs", "2", "--epochs", "2", "--repeats", "1",
                            "--concurrency", "2"])
    out = io.StringIO()
    assert overhead.run(args, machine=MACHINE, versions=VERSIONS, stream=out) == 0
    summary = json.loads(out.getvalue().splitlines()[0])
    assert summary["overhead_per_trial_s"] == pytest.approx(15.0)
    assert summary["plain_overhead_per_trial_s"] == pytest.approx((88.0 - 84.0) / 2)
    assert summary["repeats"]["overhead_per_trial_s"] == [pytest.approx(15.0)]


def test_slot_gaps_are_the_waits_between_trials_on_the_same_slot() -> None:
    spans = trial_spans([{"epoch_seconds": [10.0], "ended_at": [12.0]},    # 2-12, slot A
                         {"epoch_seconds": [9.0, 9.0], "ended_at": [11.0, 20.0]},  # 2-20, slot B
                         {"epoch_seconds": [5.0], "ended_at": [18.5]},     # 13.5-18.5 on A: waited 1.5
                         {"epoch_seconds": [3.0], "ended_at": [24.0]}])    # 21-24 on B (A free since 18.5)
    assert spans[0] == (2.0, 12.0)
    assert slot_gaps(spans, 2) == pytest.approx([1.5, 1.0])
    assert slot_gaps(spans, 1) == pytest.approx([0.0, 0.0, 2.5])  # Overlaps count as no wait.
    assert slot_gaps(spans[:2], 2) == []


def test_repetitions_are_summarized_by_their_median_with_the_raw_values_kept() -> None:
    medians, raw = overhead.summarize([{"service_s": 3.0}, {"service_s": 1.0}, {"service_s": 2.0}])
    assert medians == {"service_s": 2.0} and raw == {"service_s": [3.0, 1.0, 2.0]}


def test_an_arm_that_did_not_train_every_configuration_voids_the_comparison() -> None:
    result = {"trials": [{"config_index": 0, "epoch_seconds": [1.0, 1.0]}, {"config_index": 1, "epoch_seconds": [1.0]}]}
    with pytest.raises(overhead.OverheadError, match="void"):
        overhead.check_complete("service", result, configs=2, epochs=2)
    overhead.check_complete("service", {"trials": result["trials"][:1]}, configs=1, epochs=2)


def test_time_to_target_counts_an_attempt_that_missed_as_slower_than_any_that_reached() -> None:
    assert target.censored_median([30.0, None, 10.0]) == 30.0
    assert target.censored_median([None, None, 10.0]) is None
    assert target.censored_median([10.0, 20.0]) == 15.0
    summary = target.peer_summary("optuna", [
        {"seed": 0, "reached": True, "time_to_target_s": 50.0, "best_val_accuracy": 0.991},
        {"seed": 1, "reached": False, "time_to_target_s": None, "best_val_accuracy": 0.987}])
    assert (summary["reached"], summary["attempts"], summary["fastest_s"]) == (1, 2, 50.0)
    assert summary["time_to_target_s"] is None  # The median of [50, missed] falls on the miss side.
    assert first_reaching([(5.0, 0.98), (9.0, 0.991), (7.0, 0.995)], 0.99) == 7.0
    assert first_reaching([(5.0, 0.98)], 0.99) is None


def test_cpu_shares_split_the_machine_between_trials_ray_others_and_idle() -> None:
    # 10 s x 2 CPUs = 20 CPU-s; 18 busy: 14 trials, 1 Ray, 3 other programs; 2 idle.
    shares = cpu_shares(workers_s=14.0, ray_s=1.0, busy_s=18.0, capacity_s=20.0)
    assert shares["workers"] == pytest.approx(0.7)
    assert shares["others"] == pytest.approx(0.15)
    assert shares["idle"] == pytest.approx(0.1)
    assert shares["workers_of_available"] == pytest.approx(14.0 / 17.0)


def test_utilization_figures_come_from_the_difference_of_two_samples() -> None:
    start = {"wall": 0.0, "machine_busy": 100.0, "machine_total": 200.0, "sampler_s": 1.0,
             "trial_workers_s": 0.0, "idle_workers_s": 0.0, "ray_and_driver_s": 5.0}
    end = {"wall": 10.0, "machine_busy": 118.0, "machine_total": 220.0, "sampler_s": 1.5,
           "trial_workers_s": 15.0, "idle_workers_s": 0.5, "ray_and_driver_s": 6.0}
    figures = utilization.interval_figures(start, end, nproc=2)
    assert figures["worker_cpu_share"] == pytest.approx(15.0 / 20.0)
    assert figures["ray_and_driver_share"] == pytest.approx(1.5 / 20.0)
    assert figures["others_share"] == pytest.approx((17.5 - 15.0 - 1.5) / 20.0)
    samples = [{"trial_workers_s": value} for value in (0.0, 0.0, 1.0, 3.0, 3.0, 3.0)]
    assert utilization.search_window(samples) == (1, 3)


def test_gpu_throughput_is_epochs_per_minute_of_the_search() -> None:
    assert epochs_per_minute(epochs=16, wall_s=120.0) == pytest.approx(8.0)
    assert math.isnan(epochs_per_minute(epochs=16, wall_s=0.0))


# Process accounting -----------------------------------------------------------------------

def test_proc_stat_lines_are_read_in_clock_ticks(monkeypatch) -> None:
    monkeypatch.setattr("benchmarks._procstat.CLOCK_TICKS", 100)
    busy, total = parse_machine_stat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n")
    assert (busy, total) == (1.5, 10.0)
    ppid, seconds = parse_process_stat("42 (ray::Imp (x)) S 7 42 42 0 -1 0 0 0 0 0 250 50 0 0 20 0 4 0")
    assert (ppid, seconds) == (7, 3.0)


def test_a_tree_account_counts_each_process_from_its_first_sample_and_tells_trial_workers() -> None:
    account = TreeAccount(root=1)
    account.sample({1: (0, 10.0, "python -m search.run"), 2: (1, 1.0, "raylet"), 9: (0, 50.0, "someone else")})
    account.sample({1: (0, 11.0, "python -m search.run"), 2: (1, 1.5, "raylet"),
                    3: (2, 4.0, "ray::ImplicitFunc.train"), 4: (2, 0.5, "ray::IDLE"), 9: (0, 90.0, "someone else")})
    assert account.totals() == {"trial_workers_s": 4.0, "idle_workers_s": 0.5, "ray_and_driver_s": 1.5}
    # An idle worker that then runs a trial counts as a trial worker at every sample.
    account.sample({1: (0, 11.0, "python -m search.run"), 2: (1, 1.5, "raylet"),
                    4: (2, 2.5, "ray::ImplicitFunc.train")})
    assert account.totals(1)["trial_workers_s"] == 4.5 and account.totals(1)["idle_workers_s"] == 0.0
    assert account.totals()["trial_workers_s"] == 6.5  # Process 3 ended: it keeps its 4 s.
    assert classify("ray::IDLE") == "worker" and classify("/venv/bin/raylet --x") == "ray"
    assert classify("ray::DashboardAgent --node-ip-address=x") == "ray"


def test_a_process_a_trial_worker_started_counts_as_the_trials() -> None:
    # A trial trains in a child of its Ray worker (mnist_models._training_child); a worker that
    # only ever idled keeps its child as idle time; a child of the driver stays the driver's.
    training_child = "/venv/bin/python -m mnist_models._training_child 7 1 0"
    account = TreeAccount(root=1)
    account.sample({1: (0, 10.0, "python -m search.run"), 2: (1, 1.0, "raylet"),
                    3: (2, 1.0, "ray::ImplicitFunc.train"), 4: (2, 0.5, "ray::IDLE"), 5: (3, 2.0, training_child)})
    account.sample({1: (0, 11.0, "python -m search.run"), 2: (1, 1.5, "raylet"),
                    3: (2, 2.0, "ray::ImplicitFunc.train"), 4: (2, 0.75, "ray::IDLE"), 5: (3, 32.0, training_child),
                    6: (4, 0.25, "python helper"), 7: (1, 3.0, "python -m something.else")})
    assert account.totals() == {"trial_workers_s": 31.0, "idle_workers_s": 0.5, "ray_and_driver_s": 4.5}
    assert account.owner(5) == 3 and account.owner(7) == 7


# Configurations and output ----------------------------------------------------------------

@pytest.mark.parametrize("index", range(len(FIXED_CNN_POINTS)))
def test_every_fixed_configuration_is_a_point_of_the_cnn_space_that_no_constant_overrides(index: int) -> None:
    point = fixed_points(index + 1, epochs=2)[index]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FixedTrial only warns about a value outside the space's range.
        config = config_from_point("cnn", point, max_epochs=2)  # And raises if a value is missing.
    assert {key: config[key] for key in point} == point
    assert point_index(config, fixed_points(len(FIXED_CNN_POINTS), epochs=2)) == index


def test_the_fixed_list_starts_with_the_notebooks_cnn_and_cycles_past_its_end() -> None:
    points = fixed_points(len(FIXED_CNN_POINTS) + 1, epochs=3)
    assert points[0]["filters_0"] == 10 and points[0]["batch_size"] == 32
    assert points[-1] == points[0] and all(point["epochs"] == 3 for point in points)


def test_a_json_line_is_one_line_with_the_promised_keys_and_null_for_nan() -> None:
    record = {"benchmark": "overhead", "record": "summary", "machine": MACHINE, "versions": VERSIONS,
              "conditions": {}, "service_s": 12.0, "plain_s": 10.0, "ratio_service_over_plain": 1.2,
              "overhead_per_trial_s": math.nan, "repeats": {}, "definitions": {}}
    line = json_line(record)
    assert "\n" not in line
    assert json.loads(line)["overhead_per_trial_s"] is None
    with pytest.raises(MissingKeyError, match="plain_s"):
        json_line({key: value for key, value in record.items() if key != "plain_s"})
    assert json.loads(json_line({"benchmark": "gpu", "skipped": "no GPU"})) == {"benchmark": "gpu",
                                                                               "skipped": "no GPU"}


def test_a_table_aligns_its_columns() -> None:
    lines = table(("figure", "value"), [("a", 1.5), ("longer", 12.25)]).splitlines()
    assert len({len(line) for line in lines}) == 1 and lines[2].endswith("1.50")


def test_gpu_without_a_gpu_prints_one_line_and_exits_0(monkeypatch, capsys) -> None:
    from benchmarks import __main__ as bench_main

    monkeypatch.setattr(bench_main, "machine_info", lambda: {**MACHINE, "gpus": []})
    assert bench_main.main(["gpu"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no GPU" in out[0]


@pytest.mark.parametrize("space", ["cnn", "dense"])
def test_kerastuner_searches_the_services_space_itself(space: str) -> None:
    keras_tuner = pytest.importorskip("keras_tuner")
    from benchmarks._kt_space import config_from_hp

    hp = keras_tuner.HyperParameters()
    config = config_from_hp(space, hp, max_epochs=4)
    assert config == config_from_point(space, {**hp.values, "epochs": 4}, max_epochs=4)
    assert "epochs" not in hp.values  # Hyperband decides the epochs.
    if space == "cnn":
        assert hp.values["n_blocks"] == 1 and "filters_0" in hp.values and "filters_1" not in hp.values


# One tiny real run --------------------------------------------------------------------------

@pytest.mark.e2e
def test_a_tiny_overhead_run_prints_json_lines_with_its_figures() -> None:
    completed = subprocess.run(
        [PYTHON, "-m", "benchmarks", "overhead", "--json", "--configs", "2", "--epochs", "1", "--train-limit",
         "1000", "--repeats", "1", "--no-dashboard"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    records = [json.loads(line) for line in completed.stdout.splitlines()]
    summary, *configurations = records
    assert summary["record"] == "summary" and summary["benchmark"] == "overhead"
    for key in ("service_s", "plain_s", "ratio_service_over_plain", "overhead_per_trial_s"):
        assert len(summary["repeats"][key]) == 1 and summary["repeats"][key][0] == summary[key], key
    for key in ("service_s", "plain_s", "ratio_service_over_plain", "service_search_s", "service_training_s"):
        assert summary[key] > 0, key
    assert summary["ratio_service_over_plain"] == pytest.approx(summary["service_s"] / summary["plain_s"])
    # May be negative (slots trained in parallel with the search's start), but never missing.
    conditions = summary["conditions"]
    assert summary["overhead_per_trial_s"] == pytest.approx(
        (summary["service_search_s"] * conditions["concurrency"] - summary["service_training_s"]) / 2)
    assert summary["machine"]["nproc"] >= 1 and summary["machine"]["cpu_model"]
    assert summary["versions"]["ray"] and summary["conditions"]["configs"] == 2
    assert [record["config_index"] for record in configurations] == [0, 1]
    assert all(record["service_training_s"] > 0 and record["plain_training_s"] > 0 for record in configurations)


def test_every_gpu_count_trains_copies_of_one_configuration() -> None:
    from benchmarks._configs import same_points

    points = same_points(3, 4, epochs=2)
    assert len(points) == 4 and all(point == {**FIXED_CNN_POINTS[3], "epochs": 2} for point in points)
    assert _cli.parse_args(["gpu"]).config == 0  # the notebook's cnn_small


@pytest.mark.parametrize("name", ["asha", "ensemble_members"])
def test_a_benchmark_of_a_run_refuses_a_folder_that_is_not_a_finished_run(name, tmp_path, capsys) -> None:
    from benchmarks import __main__ as bench_main

    assert bench_main.main([name, str(tmp_path)]) == 1  # a benchmark's own error (argparse's are 2)
    assert "is not a finished run's folder" in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.e2e
def test_python_m_benchmarks_runs_from_the_checkout_and_exits_1_on_its_own_error(tmp_path) -> None:
    completed = subprocess.run([PYTHON, "-m", "benchmarks", "asha", str(tmp_path)], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1  # a benchmark's own error (argparse's are 2)
    assert "is not a finished run's folder" in completed.stderr.strip().splitlines()[-1]


def test_the_ensemble_benchmark_scores_each_rule_with_and_without_the_shifts() -> None:
    from benchmarks.ensemble_members import _scores

    labels = np.array([0, 1])
    sure = np.array([[0.9, 0.1], [0.1, 0.9]])  # right on both images
    wrong_on_one = np.array([[0.4, 0.6], [0.1, 0.9]])
    # Model a: right on the image, and on its shifts. Model b: wrong on image 0 alone, right on its shifts.
    views = {("a", 0): np.stack([sure] * 5), ("b", 0): np.stack([wrong_on_one] + [sure] * 4)}
    figures = _scores([("a", 0), ("b", 0)], views, labels)
    assert figures["single_mean"] == 0.75 and figures["single_mean_shifted"] == 1.0
    assert figures["val_accuracy"] == 1.0 and figures["val_accuracy_shifted"] == 1.0  # a outvotes b
    assert (figures["members_better_shifted"], figures["members_worse_shifted"]) == (1, 0)


def test_the_ensemble_benchmark_scores_the_larger_sets_of_views_against_the_shifts_alone() -> None:
    """With --more-views each model's probabilities hold 13 views: the image, its four shifts,
    four diagonal shifts and four two-pixel shifts; each larger set is the shifts and one group."""
    from benchmarks.ensemble_members import _scores

    labels = np.array([0, 1])
    barely_right = np.array([[0.6, 0.4], [0.4, 0.6]])
    surely_wrong = np.array([[0.0, 1.0], [1.0, 0.0]])
    # The image and its shifts barely right; the diagonals surely wrong; the two-pixel shifts barely right.
    views = {("a", 0): np.stack([barely_right] * 5 + [surely_wrong] * 4 + [barely_right] * 4)}
    figures = _scores([("a", 0)], views, labels)
    assert figures["val_accuracy_shifted"] == 1.0
    assert figures["val_accuracy_diagonals"] == 0.0  # (5 x 0.6) / 9 against (5 x 0.4 + 4) / 9
    assert (figures["members_better_diagonals"], figures["members_worse_diagonals"]) == (0, 1)
    assert figures["val_accuracy_two_pixels"] == 1.0
    assert (figures["members_better_two_pixels"], figures["members_worse_two_pixels"]) == (0, 0)


# longer_training ----------------------------------------------------------------------------

def test_longer_training_takes_its_designs_by_number_and_refuses_one_that_is_not_there(capsys) -> None:
    from benchmarks.longer_training import LONGER_DESIGNS

    assert _cli.parse_args(["longer_training"]).designs == list(LONGER_DESIGNS)
    assert _cli.parse_args(["longer_training", "--designs", "2,0,2"]).designs == [list(LONGER_DESIGNS)[2],
                                                                                  list(LONGER_DESIGNS)[0]]
    with pytest.raises(SystemExit) as exit_info:
        _cli.parse_args(["longer_training", "--designs", "0,7"])
    assert exit_info.value.code == 2
    assert "--designs is '0,7', but must be numbers from 0 to 6" in capsys.readouterr().err


def test_the_longer_designs_are_the_spaces_widest_and_wider_ones_than_it_allows() -> None:
    """The 32-32 and 16-32 designs are points of the CNN space (FixedTrial warns of a value
    outside its ranges), those of two convolutions a block of an hour's search only; the 32-64
    ones are not: their second block is wider than the space offers."""
    from benchmarks.longer_training import LONGER_DESIGNS
    from spaces import DERIVED_KEYS, SPACES

    for name, design in LONGER_DESIGNS.items():
        point = {key: value for key, value in design.items() if key not in DERIVED_KEYS} | {"epochs": 6}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = config_from_point("cnn", point, max_epochs=SPACES["cnn"].long_search_max_epochs)
        outside = [str(warning.message) for warning in caught]
        assert bool(outside) == (design["filters_1"] > 32), (name, outside)
        assert config["padding"] == design["padding"] and config["family"] == design["family"]
        assert config["convs_per_block"] == design.get("convs_per_block", 1), name
        in_short_search = "convs_per_block" in config_from_point("cnn", point, max_epochs=6)
        assert not in_short_search, name


def test_a_longer_curve_is_scored_at_the_spaces_cap_at_its_end_and_at_its_best_epoch() -> None:
    from benchmarks.longer_training import curve_figures

    figures = curve_figures([0.98, 0.99, 0.993, 0.993, 0.992], [10.0, 12.0, 11.0, 30.0, 11.5], cap=3)
    assert figures["val_accuracy_at_cap"] == 0.993 and figures["val_accuracy_last"] == 0.992
    assert (figures["best_val_accuracy"], figures["best_epoch"]) == (0.993, 3)  # the first of a tie
    assert figures["seconds_an_epoch"] == 11.5  # the median: one slow epoch does not move it
    assert curve_figures([0.98], [10.0], cap=3)["val_accuracy_at_cap"] is None


def test_longer_training_refuses_a_run_that_is_not_there_before_it_trains(tmp_path, capsys) -> None:
    from benchmarks import __main__ as bench_main

    assert bench_main.main(["longer_training", "--run", str(tmp_path / "nowhere")]) == 1
    assert "is not a finished run's folder" in capsys.readouterr().err.strip().splitlines()[-1]
