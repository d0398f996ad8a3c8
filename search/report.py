"""``python -m search.report RESULTS/NAME``: render a run's report from its saved files.

Reads ``run.json``, ``trials.parquet`` and ``confirm.parquet`` (and, for the trials' end
times, the JSON lines Tune wrote per trial): Parquet and JSON only, nothing unpickled, no
Ray, no training. Writes ``report.md`` (figures beside it as PNG files) and ``report.html``
(the same, with the figures embedded), each atomically.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

import pyarrow.parquet as pq

from search import plots
from search.results import atomic_write_bytes, read_json
from search.verdict import (
    BOOTSTRAP_METHOD,
    NOTEBOOK_PUBLISHED_BEST,
    Judgement,
    format_difference,
    headline,
    judge,
)

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
CONFIRM_FILE = "confirm.parquet"
TRIALS_FILE = "trials.parquet"
FIGURES = {
    "history": "optimization_history.png",
    "curves": "learning_curves.png",
    "importance": "hyperparameter_importance.png",
    "size": "test_accuracy_vs_parameters.png",
}
# The notebook's own single runs, scored on the test set it also validated on (BASELINE.md).
NOTEBOOK_PUBLISHED = {"dense_256": 0.9831, "dense_deep": 0.9854, "cnn_small": 0.9853}

Block = tuple  # ("h1"|"h2"|"p"|"pre"|"table"|"img"|"ul", ...)


class ReportError(ValueError):
    """A run folder that cannot be reported on; the message says what is missing."""


def render_report(run_dir: str | Path) -> dict[str, Path]:
    """Draw the figures and write ``report.md`` and ``report.html`` into ``run_dir``."""
    run_dir = Path(run_dir).expanduser().resolve()
    info, trials, confirm_rows = load_run(run_dir)
    judgement = judge(confirm_rows) if confirm_rows else None
    notebook_names = _notebook_trials(trials)
    figures = {
        "history": plots.optimization_history(trials, run_dir / FIGURES["history"],
                                              ended_minutes=trial_end_minutes(run_dir),
                                              notebook_names=notebook_names),
        "curves": plots.learning_curves(trials, run_dir / FIGURES["curves"], notebook_names=notebook_names),
        "importance": plots.importance_chart(trials, run_dir / FIGURES["importance"]),
    }
    if judgement is not None:
        figures["size"] = plots.accuracy_vs_parameters(judgement, run_dir / FIGURES["size"],
                                                       threshold=NOTEBOOK_PUBLISHED_BEST)
    blocks = report_blocks(info, trials, confirm_rows, judgement, figures)
    paths = {"md": run_dir / REPORT_MD, "html": run_dir / REPORT_HTML}
    atomic_write_bytes(paths["md"], to_markdown(blocks).encode())
    atomic_write_bytes(paths["html"], to_html(blocks, run_dir, title=f"MNIST search {info.get('name', run_dir.name)}").encode())
    return paths


def load_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    if not run_dir.is_dir():
        raise ReportError(f"{str(run_dir)!r} is not a folder: give a run's folder, like results/cnn-20261125-101500")
    if not (run_dir / "run.json").is_file():
        raise ReportError(f"{str(run_dir)!r} has no run.json, so it is not a run's folder: give RESULTS/NAME")
    if not (run_dir / TRIALS_FILE).is_file():
        raise ReportError(f"{str(run_dir)!r} has no {TRIALS_FILE}: the search did not finish, so there is "
                          f"nothing to report (resume it with python -m search.run --resume NAME)")
    confirm_path = run_dir / CONFIRM_FILE
    try:
        info = read_json(run_dir / "run.json")
        trials = pq.read_table(run_dir / TRIALS_FILE).to_pylist()
        confirm_rows = pq.read_table(confirm_path).to_pylist() if confirm_path.is_file() else []
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise ReportError(f"cannot read the run's files in {str(run_dir)!r} ({error}): they are damaged; "
                          f"nothing was rendered") from error
    return info, trials, confirm_rows


def trial_end_minutes(run_dir: Path) -> dict[str, float]:
    """Minutes from the search's first trial start to each trial's last reported epoch, from
    the JSON lines Tune writes per trial (``tune/*/result.json``); empty when they are gone."""
    spans: dict[str, tuple[float, float]] = {}
    for path in sorted((run_dir / "tune").glob("*/result.json")):
        try:
            lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        except (OSError, ValueError):
            continue
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


def report_blocks(info: dict[str, Any], trials: list[dict[str, Any]], confirm_rows: list[dict[str, Any]],
                  judgement: Judgement | None, figures: dict[str, Path]) -> list[Block]:
    name = info.get("name", "?")
    space = info.get("space", "?")
    confirmation = info.get("confirmation") or {}
    blocks: list[Block] = [("h1", f"MNIST search `{name}`: space `{space}`")]
    if judgement is not None:
        blocks.append(("p", f"**{headline(judgement)}**"))
    else:
        blocks.append(("p", "**No confirmation in this run** (`--no-confirm`, or it did not finish): the figures "
                            "below are the search's validation scores only, which are not test results."))
    limit = confirmation.get("confirm_train_limit") or _limit_from_rows(confirm_rows)
    if limit:
        capped = confirmation.get("notebook_max_epochs")
        capped = f", and the notebook's models for at most {capped} epoch(s) instead of their own," if capped else ""
        blocks.append(("p", f"**Smoke mode:** the confirmation trained on the first {limit:,} training images only"
                            f"{capped} (`--confirm-train-limit`, for smoke runs and tests), so the test scores and "
                            f"verdicts below are not results."))
    if judgement is not None:
        blocks += _verdict_blocks(judgement, confirm_rows, info)
    blocks += _protocol_blocks(info, trials, judgement)
    if judgement is not None:
        blocks += _notebook_blocks(judgement, confirm_rows, info)
    blocks += _search_blocks(info, trials)
    blocks.append(("h2", "Figures"))
    captions = {
        "history": "Optimization history: each trial's best validation accuracy when it ended, and the best so far.",
        "curves": "Learning curves: validation accuracy per epoch of every trial; an x marks where ASHA stopped a "
                  "trial, the black line is the notebook's own model where the search ran it.",
        "importance": "Hyperparameter importance: how much of the spread in the trials' validation accuracy "
                      "(their ranks) each hyperparameter's value explains.",
        "size": "Test accuracy against parameter count: confirmed configurations and the notebook's models "
                "(grey squares); the red dashed line is the notebook's best published figure.",
    }
    for key in ("history", "curves", "importance", "size"):
        if key in figures:
            blocks.append(("img", figures[key].name, captions[key]))
    blocks += _run_blocks(info)
    return blocks


def _verdict_blocks(judgement: Judgement, confirm_rows: list[dict[str, Any]], info: dict[str, Any]) -> list[Block]:
    header = ["model", "kind", "seeds", "test accuracy mean ± std", "min", "parameters", "epochs",
              "training s (mean)", "vs best notebook model: Δ [95% CI]", "verdict"]
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
        ])
    blocks: list[Block] = [("h2", "Verdict"), ("table", header, rows)]
    seeds = sorted({int(row["seed"]) for row in confirm_rows})
    blocks.append(("p", f"Seeds {', '.join(map(str, seeds))}; std is the sample standard deviation over seeds. "
                        f"A configuration beats the notebook when every seed scores above {NOTEBOOK_PUBLISHED_BEST} "
                        f"(the notebook's best published figure) and its mean is above the best re-measured notebook "
                        f"model's mean; ties do not beat. Δ is the difference in test accuracy against the best "
                        f"notebook model, by a {BOOTSTRAP_METHOD}."))
    if judgement.smallest_beating is not None:
        small = judgement.smallest_beating
        blocks.append(("p", f"Smallest configuration that beats the notebook: **{small.name}**, "
                            f"{small.num_params:,} parameters ({_describe(confirm_rows, small.name)})."))
    best_info = _best_model_info(info)
    if best_info:
        blocks.append(("p", best_info))
    for verdict in judgement.verdicts:
        if verdict.summary.kind == "searched":
            blocks.append(("p", f"`{verdict.summary.name}`: {_describe(confirm_rows, verdict.summary.name)}; "
                                f"best validation accuracy in the search "
                                f"{_first(confirm_rows, verdict.summary.name, 'best_val_accuracy', '{:.4f}')}, "
                                f"retrained for {verdict.summary.epochs} epoch(s), the epoch at which its trial peaked."))
    return blocks


def _protocol_blocks(info: dict[str, Any], trials: list[dict[str, Any]], judgement: Judgement | None) -> list[Block]:
    confirmation = info.get("confirmation") or {}
    seeds = confirmation.get("seeds") or []
    train_images = confirmation.get("train_images", 60_000)
    test_images = confirmation.get("test_images", 10_000)
    sentences = [
        f"The search ranked {len(trials)} trials by their accuracy on {info.get('validation_images', 6000):,} "
        f"validation images held out from the training set (stratified, seed {info.get('seed')}), trained on "
        f"{info.get('search_train_images', 0):,} images; it never saw the test set.",
    ]
    if judgement is not None:
        sentences.append(
            f"The top {confirmation.get('top_k', '?')} distinct configurations were then retrained from scratch on "
            f"{train_images:,} training images with seeds {', '.join(map(str, seeds))} for the epoch at which their "
            f"trial peaked, and the notebook's three models by the same steps with the same seeds and their own "
            f"epochs, batch sizes and optimizers; every model was scored once on the {test_images:,} test images.")
        passed_over = confirmation.get("over_budget") or []
        if passed_over:
            names = ", ".join(f"{entry['name']} (validation {entry['best_val_accuracy']:.4f})" for entry in passed_over)
            sentences.append(
                f"Passed over because their retraining would have taken the confirmation past its budget of "
                f"{confirmation.get('budget_s', 0) / 60:.0f} min (`--confirm-budget`): {names}.")
        sentences.append(
            f"A configuration beats the notebook when every seed scores above {NOTEBOOK_PUBLISHED_BEST} and its mean "
            f"is above the best re-measured notebook model's mean; the differences are paired bootstrap 95% "
            f"intervals over the test images.")
    else:
        sentences.append("No configuration was retrained or scored on the test set in this run.")
        sentences.append("Validation scores are optimistic after a search; only a confirmation gives test results.")
    return [("h2", "Protocol"), ("p", " ".join(sentences))]


def _notebook_blocks(judgement: Judgement, confirm_rows: list[dict[str, Any]], info: dict[str, Any]) -> list[Block]:
    rows = []
    for verdict in judgement.verdicts:
        s = verdict.summary
        if s.kind != "notebook":
            continue
        rows.append([s.name, f"{NOTEBOOK_PUBLISHED.get(s.name, float('nan')):.4f}",
                     "-" if s.mean is None else f"{s.mean:.4f}", "-" if s.min is None else f"{s.min:.4f}",
                     f"{len(s.cached_seeds)} of {len(s.seeds)}"])
    confirmation = info.get("confirmation") or {}
    cache = confirmation.get("cache_folder", "RESULTS/.notebook-cache")
    return [
        ("h2", "The notebook's models"),
        ("p", "All three notebook models are re-measured here with pixels scaled to [0, 1]. In the notebook, "
              "`dense_256` and `dense_deep` were trained on [0, 1] pixels too, but `cnn_small` was trained on raw "
              "0–255 pixels (the notebook reloaded the data without dividing by 255), so its re-measured figure is "
              "for the same architecture on [0, 1] pixels. The notebook's figures are single runs scored on the "
              "test set it also used as validation data."),
        ("table", ["model", "notebook (one run)", "re-measured mean", "re-measured min", "seeds from the cache"], rows),
        ("p", f"Re-measurements are cached per data checksum, seed, training images and library versions in "
              f"`{cache}`; delete that folder to measure again."),
    ]


def _search_blocks(info: dict[str, Any], trials: list[dict[str, Any]]) -> list[Block]:
    from search.summary import summary_table

    states = info.get("trial_states") or {}
    best = info.get("best_val_accuracy")
    text = (f"{len(trials)} trials in {float(info.get('search_wall_s') or 0):.0f} s of search "
            f"({', '.join(f'{count} {state}' for state, count in sorted(states.items())) or 'no states'}); "
            f"best validation accuracy {best:.4f}." if best is not None else f"{len(trials)} trials; none scored.")
    blocks: list[Block] = [("h2", "Search"), ("p", text)]
    if any(row.get("best_val_accuracy") is not None for row in trials):
        blocks.append(("pre", summary_table(trials, space=info.get("space", "cnn"),
                                            max_epochs=int(info.get("max_epochs") or 1))))
    return blocks


def _run_blocks(info: dict[str, Any]) -> list[Block]:
    confirmation = info.get("confirmation") or {}
    versions = info.get("versions") or {}
    items = [
        f"seed {info.get('seed')}, data sha256 `{info.get('data_sha256')}` ({info.get('data')})",
        f"started {info.get('started')}, search ended {info.get('ended')}, state {info.get('state')}",
        f"search {float(info.get('search_wall_s') or 0):.0f} s, {info.get('max_concurrent')} trial(s) at a time, "
        f"{info.get('cpus_per_trial')} CPU and {info.get('gpus_per_trial')} GPU per trial; cluster "
        f"{info.get('cluster_resources')}",
    ]
    if confirmation:
        items.append(f"confirmation {confirmation.get('wall_s')} s: {confirmation.get('jobs_run')} job(s) trained, "
                     f"{confirmation.get('notebook_from_cache')} notebook measurement(s) from the cache, "
                     f"{confirmation.get('concurrency')} at a time")
    items.append("versions: " + ", ".join(f"{name} {value}" for name, value in sorted(versions.items())))
    return [("h2", "Run"), ("pre", info.get("command", "")), ("ul", items)]


def _best_model_info(info: dict[str, Any]) -> str | None:
    best = (info.get("confirmation") or {}).get("best_model")
    if not best:
        return None
    return (f"`best_model.keras` holds the best confirmed configuration by mean test accuracy ({best}); "
            f"`best_config.json` has its configuration. Load it with `keras.saving.load_model(\"best_model.keras\")`; "
            f"it takes float32 images shaped (n, 28, 28) with pixels in [0, 1].")


def _describe(rows: list[dict[str, Any]], name: str) -> str:
    row = next((row for row in rows if row["name"] == name), None)
    if row is None:
        return "?"
    config = {key[3:]: value for key, value in row.items() if key.startswith("hp_") and value is not None}
    parts = []
    if config.get("family") == "cnn":
        blocks = int(config.get("n_blocks") or 0)
        convs = ", ".join(f"{config.get(f'filters_{b}')}x{config.get(f'kernel_{b}')}" for b in range(blocks))
        parts.append(f"conv [{convs}] padding {config.get('padding')}, {config.get('pooling')} pooling"
                     + (", batch norm" if config.get("batch_norm") else "")
                     + f", dropout {float(config.get('dropout', 0)):.2f}, dense {config.get('dense_units')} "
                       f"(dropout {float(config.get('dense_dropout', 0)):.2f})"
                     + (", augmentation" if config.get("augment") else ""))
    elif config.get("family") == "dense":
        layers = int(config.get("n_layers") or 0)
        parts.append("dense [" + ", ".join(
            f"{config.get(f'units_{layer}')} (dropout {float(config.get(f'dropout_{layer}', 0)):.2f})"
            for layer in range(layers)) + f"] {config.get('activation')}")
    schedule = " cosine-decayed" if config.get("lr_schedule") == "cosine" else ""
    parts.append(f"{config.get('optimizer')} lr {float(config.get('learning_rate', 0)):.2g}{schedule}, "
                 f"batch {config.get('batch_size')}, {config.get('epochs')} epoch(s)")
    return "; ".join(parts)


def _first(rows: list[dict[str, Any]], name: str, column: str, fmt: str) -> str:
    value = next((row.get(column) for row in rows if row["name"] == name), None)
    return "-" if value is None else fmt.format(value)


def _limit_from_rows(rows: list[dict[str, Any]]) -> int | None:
    sizes = {row.get("train_images") for row in rows if row.get("train_images")}
    return min(sizes) if sizes and min(sizes) < 60_000 else None


def _notebook_trials(trials: list[dict[str, Any]]) -> dict[str, str]:
    from search.confirm import notebook_model_of

    return {row["trial_id"]: model for row in trials if (model := notebook_model_of(row))}


# --- Rendering ------------------------------------------------------------------------------------

def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            out.append(f"# {block[1]}")
        elif kind == "h2":
            out.append(f"## {block[1]}")
        elif kind == "p":
            out.append(block[1])
        elif kind == "pre":
            out.append(f"```\n{block[1]}\n```")
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            header, rows = block[1], block[2]
            lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
            lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif kind == "img":
            out.append(f"![{block[2]}]({block[1]})\n\n*{block[2]}*")
    return "\n\n".join(out) + "\n"


_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; } td.num { text-align: right; white-space: nowrap; }
th { background: #f3f3f3; text-align: left; } td.text { text-align: left; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
code { background: #f3f3f3; padding: 0 3px; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
"""


def to_html(blocks: list[Block], run_dir: Path, *, title: str) -> str:
    out = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
           f"<style>{_STYLE}</style></head><body>"]
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{_inline(block[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{_inline(block[1])}</p>")
        elif kind == "pre":
            out.append(f"<pre>{html.escape(block[1])}</pre>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block[1]) + "</ul>")
        elif kind == "table":
            header, rows = block[1], block[2]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(cell)}</th>" for cell in header)
                       + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(_cell(cell, first=index == 0) for index, cell in enumerate(row)) + "</tr>" for row in rows)
                       + "</tbody></table>")
        elif kind == "img":
            data = base64.b64encode((run_dir / block[1]).read_bytes()).decode()
            out.append(f"<figure><img alt=\"{html.escape(block[2])}\" src=\"data:image/png;base64,{data}\">"
                       f"<figcaption>{_inline(block[2])}</figcaption></figure>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _cell(text: str, *, first: bool = False) -> str:
    """A table cell: figures right-aligned, words (and the first column's names) left-aligned."""
    numeric = not first and bool(re.match(r"^[-+]?[0-9]", text))
    return f"<td class=\"{'num' if numeric else 'text'}\">{_inline(text)}</td>"


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` to HTML, everything else escaped."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search.report",
                                     description="Re-render a run's report.md and report.html from its saved files.")
    parser.add_argument("run_dir", help="the run's folder, RESULTS/NAME")
    args = parser.parse_args(argv)
    try:
        paths = render_report(args.run_dir)
    except ReportError as error:
        print(f"search.report: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {paths['md']} and {paths['html']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
