"""The verdict in words: the terminal's table and the one-sentence headline."""

from __future__ import annotations

from typing import Any

from search.verdict._judge import SEARCHED_KIND, Difference, FamilyVerdict, Judgement, Verdict


def verdict_table(judgement: Judgement) -> str:
    """The terminal table: notebook models and confirmed configurations side by side."""
    header = (f"{'model':<12} {'kind':<8} {'seeds':>5} {'mean ± std':>16} {'min':>7} {'params':>9} "
              f"{'epochs':>6} {'train s':>7}  {'vs best nb (95% CI)':<27} {'verdict':<34} own family")
    lines = [header, "-" * len(header)]
    for verdict in judgement.verdicts:
        s = verdict.summary
        mean = "-" if s.mean is None else f"{s.mean:.4f} ± {s.std:.4f}"
        minimum = "-" if s.min is None else f"{s.min:.4f}"
        seconds = "-" if s.mean_seconds is None else f"{s.mean_seconds:.0f}"
        lines.append(
            f"{s.name:<12} {s.kind:<8} {len(s.accuracies):>5} {mean:>16} {minimum:>7} "
            f"{s.num_params or 0:>9,} {s.epochs or 0:>6} {seconds:>7}  {format_difference(verdict.difference):<27} "
            f"{verdict.reason:<34} {format_family(verdict.family, overall=_name(judgement.best_notebook))}".rstrip()
        )
    return "\n".join(lines)


def format_family(family: FamilyVerdict | None, *, overall: str | None = None) -> str:
    """A configuration against the best notebook model of its family, in a few words; when that
    model is also the best notebook model (``overall``), the verdict has said it already."""
    if family is None:
        return ""
    if family.baseline == overall:
        return f"{family.baseline}: as the verdict"
    return f"vs {family.baseline}: {format_difference(family.difference)} {family.reason}"


def headline(judgement: Judgement) -> str:
    """One sentence: who beats the notebook, the smallest of them, or an honest no; and one
    more on the ensemble when the confirmation built one."""
    sentence = _configurations_sentence(judgement)
    ensemble = judgement.ensemble
    if ensemble is None or judgement.best_notebook is None:
        return sentence
    return f"{sentence} {ensemble_sentence(ensemble, judgement.best_notebook.name)}"


def ensemble_sentence(ensemble: Verdict, baseline: str) -> str:
    """The ensemble in one sentence: its test accuracy, its difference and its verdict."""
    s = ensemble.summary
    verdict = "beats the notebook" if ensemble.beats else ensemble.reason.replace("no: ", "does not beat the notebook: ")
    return (f"The ensemble of the confirmed models scores {s.mean:.4f} "
            f"({format_difference(ensemble.difference)} against {baseline}) and {verdict}.")


def _configurations_sentence(judgement: Judgement) -> str:
    threshold = judgement.threshold
    searched = [v for v in judgement.verdicts if v.summary.kind == SEARCHED_KIND]
    if judgement.best_notebook is None:
        return "No notebook model was measured, so there is no verdict."
    base = judgement.best_notebook
    if not searched:
        return f"No configuration was confirmed; the best notebook model is {base.name} ({base.mean:.4f})."
    if not judgement.beating:
        bar = f"scored above {threshold:.4f} on every seed with a mean" if threshold is not None else "had a mean"
        return (f"No confirmed configuration beats the notebook: none of the {len(searched)} {bar} above "
                f"{base.name}'s {base.mean:.4f}.")
    small = judgement.smallest_beating
    assert small is not None and small.mean is not None and small.min is not None
    return (f"{len(judgement.beating)} of {len(searched)} confirmed configurations beat the notebook; the "
            f"smallest is {small.name} ({small.num_params:,} parameters): mean test accuracy {small.mean:.4f}, "
            f"min {small.min:.4f}, against {base.name}'s {base.mean:.4f}.")


def format_difference(difference: Difference | None) -> str:
    if difference is None:
        return "-"
    return f"{difference.mean:+.4f} [{difference.low:+.4f}, {difference.high:+.4f}]"



def _name(summary: Any) -> str | None:
    return None if summary is None else summary.name
