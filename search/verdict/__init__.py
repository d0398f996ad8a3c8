"""The verdict: which confirmed configurations beat the notebook's models, by how much and how
surely. Plain rows in, plain values out: no Ray, no Keras."""

from search.verdict._bootstrap import BOOTSTRAP_METHOD
from search.verdict._judge import (
    ENSEMBLE_KIND,
    NOTEBOOK_KIND,
    NOTEBOOK_PUBLISHED,
    NOTEBOOK_PUBLISHED_BEST,
    SEARCHED_KIND,
    Judgement,
    Summary,
    Verdict,
    beats_notebook,
    judge,
    published_bar,
    summarize,
)
from search.verdict._text import ensemble_sentence, format_difference, format_family, headline, verdict_table

__all__ = [
    "BOOTSTRAP_METHOD",
    "ENSEMBLE_KIND",
    "NOTEBOOK_KIND",
    "NOTEBOOK_PUBLISHED",
    "NOTEBOOK_PUBLISHED_BEST",
    "SEARCHED_KIND",
    "Judgement",
    "Summary",
    "Verdict",
    "beats_notebook",
    "ensemble_sentence",
    "format_difference",
    "format_family",
    "headline",
    "judge",
    "published_bar",
    "summarize",
    "verdict_table",
]
