"""A run's report, rendered from its saved files.

Reads ``run.json``, ``trials.parquet`` and ``confirm.parquet`` (and, for the trials' end
times, the JSON lines Tune wrote per trial): Parquet and JSON only, nothing unpickled, no
Ray, no training. Writes ``report.md`` (figures beside it as PNG files) and ``report.html``
(the same, with the figures embedded), each atomically.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from search.reporting._front import best_within_budgets, front_chart
from search.reporting._plots import accuracy_vs_parameters, importance_chart, learning_curves, optimization_history
from search.reporting._closing_table import summary_table, trained_line
from search.reporting._progress import SearchProgress, progress_line, search_progress
from search.reporting._markup import Block, to_html, to_markdown
from search.run_folder import (
    BEST_CONFIG_FILE,
    BEST_MODEL_FILE,
    CONFIRM_FILE,
    FIGURE_FILES,
    NOTEBOOK_CACHE_FOLDER,
    REPORT_HTML,
    REPORT_MD,
    RUN_FAILED,
    RUN_FILE,
    Confirmation,
    RunRecord,
    SMALLEST_CONFIG_FILE,
    SMALLEST_MODEL_FILE,
    TRIALS_FILE,
    atomic_write_bytes,
    config_from_row,
    is_run_folder,
    load_record,
    read_rows,
    trial_results,
)
from search.verdict import (
    NOTEBOOK_KIND,
    SEARCHED_KIND,
    BOOTSTRAP_METHOD,
    NOTEBOOK_PUBLISHED,
    Judgement,
    format_difference,
    format_family,
    headline,
    judge,
    published_bar,
)
from search.study import size_aware
from spaces import describe, notebook_model_of

NOT_RECORDED = "not recorded"  # said of a figure an older run.json lacks and nothing else gives


class ReportError(ValueError):
    """A run folder that cannot be reported on; the message says what is missing."""


def render_report(run_dir: str | Path) -> dict[str, Path]:
    """Draw the figures and write ``report.md`` and ``report.html`` into ``run_dir``.

    The figures are drawn in a scratch folder and the report's text is made before any file of
    the run is replaced: files that cannot be reported on (edited by hand, say) are a
    ``ReportError`` that leaves the last report and its figures as they were."""
    run_dir = Path(run_dir).expanduser().resolve()
    record, trials, confirm_rows = load_run(run_dir)
    with tempfile.TemporaryDirectory(prefix="mnist-search-report-") as drawing:
        try:
            figures, blocks = _drawn_report(run_dir, Path(drawing), record, trials, confirm_rows)
        except (KeyError, TypeError, ValueError) as error:
            raise ReportError(f"cannot report on the run's files in {str(run_dir)!r} ({type(error).__name__}: "
                              f"{str(error).splitlines()[0] if str(error) else ''}): they are damaged; nothing "
                              f"was rendered") from error
        for figure in figures.values():  # written as every file of the run is (mirrored where it is)
            atomic_write_bytes(run_dir / figure.name, figure.read_bytes())
    paths = {"md": run_dir / REPORT_MD, "html": run_dir / REPORT_HTML}
    atomic_write_bytes(paths["md"], to_markdown(blocks).encode())
    atomic_write_bytes(paths["html"], to_html(blocks, run_dir, title=f"MNIST search {record.name or run_dir.name}").encode())
    return paths


def _drawn_report(run_dir: Path, drawing: Path, record: RunRecord, trials: list[dict[str, Any]],
                  confirm_rows: list[dict[str, Any]]) -> tuple[dict[str, Path], list[Block]]:
    """The figures, drawn into ``drawing``, and the report's blocks, which name them."""
    judgement = judge(confirm_rows, threshold=published_bar(record.data_file)) if confirm_rows else None
    notebook_names = _notebook_trials(trials)
    figures = {
        "history": optimization_history(trials, drawing / FIGURE_FILES["history"],
                                        ended_minutes=trial_end_minutes(run_dir), notebook_names=notebook_names),
        "curves": learning_curves(trials, drawing / FIGURE_FILES["curves"], notebook_names=notebook_names),
        "importance": importance_chart(trials, drawing / FIGURE_FILES["importance"]),
    }
    if judgement is not None:
        figures["size"] = accuracy_vs_parameters(judgement, drawing / FIGURE_FILES["size"],
                                                 threshold=judgement.threshold)
    if size_aware(record.objective, record.max_params):
        figures["front"] = front_chart(judgement, trials, drawing / FIGURE_FILES["front"])
    return figures, report_blocks(record, trials, confirm_rows, judgement, figures, progress=search_progress(run_dir))


def load_run(run_dir: Path) -> tuple[RunRecord, list[dict[str, Any]], list[dict[str, Any]]]:
    if not run_dir.is_dir():
        raise ReportError(f"{str(run_dir)!r} is not a folder: give a run's folder, like results/cnn-20261125-101500")
    if not is_run_folder(run_dir):
        raise ReportError(f"{str(run_dir)!r} has no {RUN_FILE}, so it is not a run's folder: give RESULTS/NAME")
    if not (run_dir / TRIALS_FILE).is_file():
        raise ReportError(f"{str(run_dir)!r} has no {TRIALS_FILE}: the search did not finish, so there is "
                          f"nothing to report (resume it with python -m search.run --resume NAME)")
    confirm_path = run_dir / CONFIRM_FILE
    try:
        record = load_record(run_dir)
        trials = read_rows(run_dir / TRIALS_FILE)
        confirm_rows = read_rows(confirm_path) if confirm_path.is_file() else []
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise ReportError(f"cannot read the run's files in {str(run_dir)!r} ({error}): they are damaged; "
                          f"nothing was rendered") from error
    return record, trials, confirm_rows


def trial_end_minutes(run_dir: Path) -> dict[str, float]:
    """Minutes from the search's first trial start to each trial's last reported epoch, from
    the JSON lines Tune writes per trial; empty when they are gone."""
    spans: dict[str, tuple[float, float]] = {}
    for lines in trial_results(run_dir):
        if not lines or "trial_id" not in lines[-1]:
            continue
        last = lines[-1]
        ended = float(last["timestamp"])
        began = ended - float(last.get("time_total_s") or 0.0)
        previous = spans.get(str(last["trial_id"]))
        if previous:  # a trial restarted after an interruption: keep the whole span
            began, ended = min(began, previous[0]), max(ended, previous[1])
        spans[str(last["trial_id"])] = (began, ended)
    if not spans:
        return {}
    origin = min(began for began, _ in spans.values())
    return {trial_id: (ended - origin) / 60.0 for trial_id, (_, ended) in spans.items()}


def report_blocks(record: RunRecord, trials: list[dict[str, Any]], confirm_rows: list[dict[str, Any]],
                  judgement: Judgement | None, figures: dict[str, Path], *,
                  progress: SearchProgress | None = None) -> list[Block]:
    confirmation = record.confirmation or Confirmation()
    blocks: list[Block] = [("h1", f"MNIST search `{record.name or '?'}`: space `{record.space or '?'}`")]
    if judgement is not None:
        blocks.append(("p", f"**{headline(judgement)}**"))
    elif confirmation.state == RUN_FAILED:
        blocks.append(("p", f"**The confirmation failed:** {confirmation.error} The figures below are the search's "
                            f"validation scores only, which are not test results; once mended, confirm again with "
                            f"`python -m search.run --resume {record.name or 'NAME'}`."))
    else:
        blocks.append(("p", "**No confirmation in this run** (`--no-confirm`, or it did not finish): the figures "
                            "below are the search's validation scores only, which are not test results."))
    limit = confirmation.confirm_train_limit or _limit_from_rows(confirm_rows, record)
    if limit:
        capped = confirmation.notebook_max_epochs
        capped = f", and the notebook's models for at most {capped} epoch(s) instead of their own," if capped else ""
        blocks.append(("p", f"**Smoke mode:** the confirmation trained on the first {limit:,} training images only"
                            f"{capped} (`--confirm-train-limit`, for smoke runs and tests), so the test scores and "
                            f"verdicts below are not results."))
    if judgement is not None:
        blocks += _verdict_blocks(judgement, confirm_rows, confirmation)
    blocks += _protocol_blocks(record, trials, confirm_rows, judgement)
    if judgement is not None:
        blocks += _notebook_blocks(judgement, confirmation)
    blocks += _search_blocks(record, trials, progress)
    blocks.append(("h2", "Figures"))
    captions = {
        "history": "Optimization history: each trial's best validation accuracy when it ended, and the best so far.",
        "curves": "Learning curves: validation accuracy per epoch of every trial; an x marks where ASHA stopped a "
                  "trial, the black line is the notebook's own model where the search ran it.",
        "importance": "Hyperparameter importance: how much of the spread in the trials' validation accuracy "
                      "(their ranks) each hyperparameter's value explains.",
        "size": "Test accuracy against parameter count: confirmed configurations and the notebook's models "
                "(grey squares)" + ("" if judgement is None or judgement.threshold is None
                                    else "; the red dashed line is the notebook's best published figure") + ".",
        "front": "Accuracy against parameters: every trial's best validation accuracy (light dots), the "
                 "search's validation front (blue steps), and over it the confirmed configurations' and the "
                 "notebook models' mean test accuracy.",
    }
    for key in ("history", "curves", "importance", "front", "size"):
        if key in figures:
            blocks.append(("img", figures[key].name, captions[key]))
    blocks += _run_blocks(record)
    return blocks


def _verdict_blocks(judgement: Judgement, confirm_rows: list[dict[str, Any]],
                    confirmation: Confirmation) -> list[Block]:
    header = ["model", "kind", "seeds", "test accuracy mean ± std", "min", "parameters", "epochs",
              "training s (mean)", "vs best notebook model: Δ [95% CI]", "verdict", "vs its family's best notebook model"]
    rows = []
    for verdict in judgement.verdicts:
        s = verdict.summary
        seeds = f"{len(s.accuracies)}/{len(s.seeds)}"
        if s.cached_seeds:
            seeds += " (cached)" if len(s.cached_seeds) == len(s.seeds) else f" ({len(s.cached_seeds)} cached)"
        rows.append([
            s.name, s.kind, seeds,
            "-" if s.mean is None else f"{s.mean:.4f} ± {s.std:.4f}",
            "-" if s.min is None else f"{s.min:.4f}",
            f"{s.num_params:,}" if s.num_params else "-",
            str(s.epochs or "-"),
            "-" if s.mean_seconds is None else f"{s.mean_seconds:.0f}",
            format_difference(verdict.difference),
            ("**" + verdict.reason + "**") if verdict.beats else verdict.reason,
            format_family(verdict.family, overall=judgement.best_notebook.name if judgement.best_notebook else None)
            or "-",
        ])
    blocks: list[Block] = [("h2", "Verdict"), ("table", header, rows)]
    seeds = sorted({int(row["seed"]) for row in confirm_rows})
    blocks.append(("p", f"Seeds {', '.join(map(str, seeds))}; std is the sample standard deviation over seeds. "
                        f"{rule_sentence(judgement)} Ties do not beat. Δ is the difference in test accuracy against "
                        f"the best notebook model, by a {BOOTSTRAP_METHOD}; the last column compares each "
                        f"configuration by the same rule with the best notebook model of its own family (dense "
                        f"nets with dense_256 or dense_deep, CNNs with cnn_small)."))
    if judgement.smallest_beating is not None:
        small = judgement.smallest_beating
        blocks.append(("p", f"Smallest configuration that beats the notebook: **{small.name}**, "
                            f"{small.num_params:,} parameters ({_describe(confirm_rows, small.name)}); "
                            f"`{SMALLEST_MODEL_FILE}` holds it, `{SMALLEST_CONFIG_FILE}` its configuration."))
    blocks += _size_blocks(judgement)
    best_info = _best_model_info(confirmation)
    if best_info:
        blocks.append(("p", best_info))
    blocks += _ensemble_blocks(judgement, confirmation)
    for verdict in judgement.verdicts:
        if verdict.summary.kind == SEARCHED_KIND:
            blocks.append(("p", f"`{verdict.summary.name}`: {_describe(confirm_rows, verdict.summary.name)}; "
                                f"best validation accuracy in the search "
                                f"{_first(confirm_rows, verdict.summary.name, 'best_val_accuracy', '{:.4f}')}, "
                                f"retrained for {verdict.summary.epochs} epoch(s), the epoch at which its trial peaked."))
    return blocks


def rule_sentence(judgement: Judgement) -> str:
    """The verdict's rule in one sentence, with the bar it used."""
    if judgement.threshold is None:
        return ("A configuration beats the notebook when its mean is above the best re-measured notebook model's "
                "mean. (The data is not the shipped MNIST, so the notebook's published figures, measured on "
                "MNIST, are no bar here: only the re-measured notebook models are.)")
    return (f"A configuration beats the notebook when every seed scores above {judgement.threshold} (the notebook's "
            f"best published figure) and its mean is above the best re-measured notebook model's mean.")


def _chosen_how(record: RunRecord, confirmation: Confirmation) -> str:
    if record.objective == "pareto":
        return (f"{len(confirmation.configurations)} configurations chosen along the search's "
                f"validation front (the best within each size budget first)")
    return f"top {'?' if confirmation.top_k is None else confirmation.top_k} distinct configurations"


def _size_blocks(judgement: Judgement) -> list[Block]:
    """The best confirmed configuration within each size budget, and whether it beats the notebook;
    one sentence instead of a table of empty rows when every confirmed configuration is larger."""
    best = best_within_budgets(judgement)
    if all(verdict is None for _, verdict in best):
        return [("p", f"No confirmed configuration has {best[-1][0]:,} parameters or fewer; "
                      f"`--objective pareto` or `--max-params N` searches for smaller models.")]
    rows = []
    for budget, verdict in best:
        if verdict is None:
            rows.append([f"≤ {budget:,}", "-", "-", "-", "none confirmed"])
            continue
        s = verdict.summary
        rows.append([f"≤ {budget:,}", s.name, f"{s.num_params:,}", f"{s.mean:.4f} (min {s.min:.4f})",
                     ("**" + verdict.reason + "**") if verdict.beats else verdict.reason])
    return [("h3", "Best confirmed model within each size budget"),
            ("table", ["parameters", "model", "its parameters", "test accuracy mean", "verdict"], rows)]


def _protocol_blocks(record: RunRecord, trials: list[dict[str, Any]], confirm_rows: list[dict[str, Any]],
                     judgement: Judgement | None) -> list[Block]:
    confirmation = record.confirmation or Confirmation()
    train_images = _images(confirmation.train_images, confirm_rows, "train_images")
    test_images = _images(confirmation.test_images, confirm_rows, "test_images")
    sentences = [
        f"The search ranked {len(trials)} trials by their accuracy on {_count(record.validation_images)} "
        f"validation images held out from {_held_out_from(record)} (stratified by class, seed {record.seed}), "
        f"trained on {_search_training(record)}; it never saw the test set.",
    ]
    if judgement is not None:
        sentences.append(
            f"The {_chosen_how(record, confirmation)} were then retrained from scratch on "
            f"{_count(train_images)} training images with seeds {', '.join(map(str, confirmation.seeds))} for the "
            f"epoch at which their trial peaked, and the notebook's three models by the same steps with the same "
            f"seeds and their own epochs, batch sizes and optimizers; every model was scored once on the "
            f"{_count(test_images)} test images.")
        if _backend(record):
            sentences.append(f"Every model was trained with Keras's {_backend(record)} backend, the notebook's "
                             f"models re-measured on it.")
        if confirmation.devices:
            sentences.append(f"Where the confirmation's jobs trained: {confirmation.devices}.")
        if confirmation.over_budget:
            names = ", ".join(f"{entry['name']} (validation {entry['best_val_accuracy']:.4f})"
                              for entry in confirmation.over_budget)
            sentences.append(
                f"Passed over because their retraining would have taken the confirmation past its budget of "
                f"{(confirmation.budget_s or 0) / 60:.0f} min (`--confirm-budget`): {names}.")
        sentences.append(f"{rule_sentence(judgement)} The differences are paired bootstrap 95% intervals over "
                         f"the test images.")
    else:
        sentences.append("No configuration was retrained or scored on the test set in this run.")
        sentences.append("Validation scores are optimistic after a search; only a confirmation gives test results.")
    return [("h2", "Protocol"), ("p", " ".join(sentences))]


def _notebook_blocks(judgement: Judgement, confirmation: Confirmation) -> list[Block]:
    rows = []
    for verdict in judgement.verdicts:
        s = verdict.summary
        if s.kind != NOTEBOOK_KIND:
            continue
        rows.append([s.name, f"{NOTEBOOK_PUBLISHED.get(s.name, float('nan')):.4f}",
                     "-" if s.mean is None else f"{s.mean:.4f}", "-" if s.min is None else f"{s.min:.4f}",
                     f"{len(s.cached_seeds)} of {len(s.seeds)}"])
    cache = confirmation.cache_folder or f"RESULTS/{NOTEBOOK_CACHE_FOLDER}"
    return [
        ("h2", "The notebook's models"),
        ("p", "All three notebook models are re-measured here with pixels scaled to [0, 1]. In the notebook, "
              "`dense_256` and `dense_deep` were trained on [0, 1] pixels too, but `cnn_small` was trained on raw "
              "0–255 pixels (the notebook reloaded the data without dividing by 255), so its re-measured figure is "
              "for the same architecture on [0, 1] pixels. The notebook's figures are single runs scored on the "
              "test set it also used as validation data."),
        ("table", ["model", "notebook (one run)", "re-measured mean", "re-measured min", "seeds from the cache"], rows),
        ("p", f"Re-measurements are cached per data checksum, seed, training images, library versions and Keras "
              f"backend in `{cache}`; delete that folder to measure again."),
    ]


def _search_blocks(record: RunRecord, trials: list[dict[str, Any]], progress: SearchProgress | None) -> list[Block]:
    states = record.trial_states or {}
    best = record.best_val_accuracy
    text = (f"{len(trials)} trials in {record.search_seconds:.0f} s of search "
            f"({', '.join(f'{count} {state}' for state, count in sorted(states.items())) or 'no states'}); "
            f"best validation accuracy {best:.4f}." if best is not None else f"{len(trials)} trials; none scored.")
    blocks: list[Block] = [("h2", "Search"), ("p", text)]
    if record.error:
        blocks.append(("p", f"The search failed: {record.error}"))
    if record.trial_devices is not None or record.trial_retries is not None:  # None: an older version's run
        where = trained_line(record.trial_devices, record.trial_retries)
        blocks.append(("p", where[0].upper() + where[1:] + "."))
    if progress is not None:
        line = progress_line(progress).removeprefix("progress: ")
        blocks.append(("p", line[0].upper() + line[1:] + "."))
    if any(row.get("best_val_accuracy") is not None for row in trials):
        blocks.append(("pre", summary_table(trials)))
    return blocks


def _run_blocks(record: RunRecord) -> list[Block]:
    confirmation = record.confirmation
    items = [
        f"seed {record.seed}, data sha256 `{record.data_sha256}` ({record.data})",
        f"started {record.started}, search ended {record.ended}, state {record.state}",
        f"search {record.search_seconds:.0f} s, {record.max_concurrent} trial(s) at a time, "
        f"{record.cpus_per_trial} CPU and {record.gpus_per_trial} GPU per trial; cluster "
        f"{record.cluster_resources if record.recorded('cluster_resources') else None}",
    ]
    if confirmation is not None and confirmation.state is not None:
        items.append(f"confirmation {confirmation.state}" + (f": {confirmation.error}" if confirmation.error else ""))
    elif confirmation is not None:
        items.append(f"confirmation {confirmation.wall_s} s: {confirmation.jobs_run} job(s) trained"
                     + (f" ({confirmation.devices})" if confirmation.devices else "")
                     + f", {confirmation.notebook_from_cache} notebook measurement(s) from the cache, "
                       f"{confirmation.concurrency} at a time")
    if _backend(record):
        items.append(f"Keras backend {_backend(record)}")
    items.append("versions: " + ", ".join(f"{name} {value}" for name, value in sorted(record.versions.items())))
    return [("h2", "Run"), ("pre", record.command or ""), ("ul", items)]


def _backend(record: RunRecord) -> str | None:
    """The run's Keras backend where it is not the default, TensorFlow (None otherwise, and for
    a record of an older version, which names none)."""
    return record.keras_backend if record.keras_backend not in (None, "tensorflow") else None


def _best_model_info(confirmation: Confirmation) -> str | None:
    best = confirmation.best_model
    if not best:
        return None
    return (f"`{BEST_MODEL_FILE}` holds the best confirmed configuration by mean test accuracy ({best}); "
            f"`{BEST_CONFIG_FILE}` has its configuration. Load it with `keras.saving.load_model(\"{BEST_MODEL_FILE}\")`; "
            f"it takes float32 images shaped (n, 28, 28) with pixels in [0, 1].")


def _ensemble_blocks(judgement: Judgement, confirmation: Confirmation) -> list[Block]:
    """The ensemble of the confirmed models: its members, its rule, its file; or why there is none."""
    ensemble, verdict = confirmation.ensemble, judgement.ensemble
    if not ensemble:  # a run of an older version, which built none
        return []
    if verdict is None or not ensemble.get("members"):
        return [("p", f"No ensemble in this run: {str(ensemble.get('why_none') or 'none was built').removeprefix('no ensemble: ')}.")]
    baseline = judgement.best_notebook.name if judgement.best_notebook else "the best notebook model"
    return [("p", f"**The ensemble** averages the class probabilities of {len(ensemble['members'])} confirmed models "
                  f"({ensemble.get('rule')}: {', '.join(ensemble['members'])}), the members fixed by that rule before "
                  f"the test set was touched; no model was retrained for it. It scores {verdict.summary.mean:.4f} "
                  f"on the test set ({format_difference(verdict.difference)} against {baseline}) and "
                  f"{'**beats the notebook**' if verdict.beats else 'does not beat the notebook (' + verdict.reason + ')'}. "
                  f"`{ensemble.get('model_file')}` holds it as one Keras model: "
                  f"`keras.saving.load_model(\"{ensemble.get('model_file')}\")` loads it with nothing of this project, "
                  f"and `predict` on float32 images shaped (n, 28, 28) with pixels in [0, 1] gives its "
                  f"probabilities.")]


def _describe(rows: list[dict[str, Any]], name: str) -> str:
    row = next((row for row in rows if row["name"] == name), None)
    return "?" if row is None else describe(config_from_row(row), detail="full")


def _first(rows: list[dict[str, Any]], name: str, column: str, fmt: str) -> str:
    value = next((row.get(column) for row in rows if row["name"] == name), None)
    return "-" if value is None else fmt.format(value)


def _limit_from_rows(rows: list[dict[str, Any]], record: RunRecord) -> int | None:
    """The confirmation's training images when fewer than the data file's (a smoke run whose
    record lacks ``confirm_train_limit``); None when the data file's count is not recorded."""
    sizes = {row.get("train_images") for row in rows if row.get("train_images")}
    full = _data_train_images(record)
    return min(sizes) if sizes and full is not None and min(sizes) < full else None


def _held_out_from(record: RunRecord) -> str:
    total = _data_train_images(record)
    return "the training set" if total is None else f"the {total:,} training images"


def _search_training(record: RunRecord) -> str:
    """The search's training images, as the rest of the data's training images after the
    validation split (the first of them under ``--train-limit``), so that the split's sizes add
    up to the training images of the data file."""
    total, used, held_out = _data_train_images(record), record.search_train_images, record.validation_images
    if None in (total, used, held_out):
        return f"{_count(used)} images"
    rest = total - held_out
    return f"the other {rest:,}" if used == rest else f"the first {used:,} of the other {rest:,} (`--train-limit`)"


def _data_train_images(record: RunRecord) -> int | None:
    """Every training image of the run's data file: as recorded, else (an older record) the
    search's training and validation images together when the search used them all."""
    if record.data_train_images is not None:
        return record.data_train_images
    if record.recorded("train_limit") and record.train_limit is None and None not in (
            record.search_train_images, record.validation_images):
        return record.search_train_images + record.validation_images
    return None


def _images(recorded: int | None, confirm_rows: list[dict[str, Any]], column: str) -> int | None:
    """An image count of the confirmation: as recorded, else as every row of confirm.parquet
    says (an older record without it), else None."""
    if recorded is not None:
        return recorded
    counts = {row.get(column) for row in confirm_rows}
    return counts.pop() if len(counts) == 1 and None not in counts else None


def _count(images: int | None) -> str:
    return NOT_RECORDED if images is None else f"{images:,}"


def _notebook_trials(trials: list[dict[str, Any]]) -> dict[str, str]:
    """The trials that ran a notebook model (not its cosine variant), by trial id."""
    return {row["trial_id"]: model for row in trials
            if (model := notebook_model_of(config_from_row(row))) in NOTEBOOK_PUBLISHED}
