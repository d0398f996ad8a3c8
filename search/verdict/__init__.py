"""The verdict: which confirmed configurations beat the notebook's models, by how much and how
surely. Plain rows in, plain values out: no Ray, no Keras."""

from search.verdict._bootstrap import BOOTSTRAP_METHOD
from search.verdict._judge import (
    NOTEBOOK_PUBLISHED,
    NOTEBOOK_PUBLISHED_BEST,
    SHIPPED_DATA,
    Judgement,
    Summary,
    Verdict,
    beats_notebook,
    judge,
    published_bar,
    summarize,
)
from search.verdict._text import format_difference, format_family, headline, verdict_table

__all__ = [
    "BOOTSTRAP_METHOD",
    "NOTEBOOK_PUBLISHED",
    "NOTEBOOK_PUBLISHED_BEST",
    "SHIPPED_DATA",
    "Judgement",
    "Summary",
    "Verdict",
    "beats_notebook",
    "format_difference",
    "format_family",
    "headline",
    "judge",
    "published_bar",
    "summarize",
    "verdict_table",
]
