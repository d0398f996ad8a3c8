"""What a user reads: the report (Markdown, HTML and figures), the closing table of a search,
the listing of past runs and the lines that say how to watch a run. Reads the run folder's
files only: no Ray, no training, nothing unpickled."""

from search.reporting._closing_table import summary_table
from search.reporting._markup import to_html, to_markdown
from search.reporting._plots import LABEL_OFFSETS, importances, label_offsets
from search.reporting._render import ReportError, load_run, render_report, report_blocks, trial_end_minutes
from search.reporting._runs_listing import RunSummary, format_runs, list_runs, list_runs_at, summarize_run
from search.reporting._watch import dashboard_line, token_auth_enabled, watch_lines

__all__ = [
    "LABEL_OFFSETS",
    "ReportError",
    "RunSummary",
    "dashboard_line",
    "format_runs",
    "importances",
    "label_offsets",
    "list_runs",
    "list_runs_at",
    "load_run",
    "render_report",
    "report_blocks",
    "summarize_run",
    "summary_table",
    "to_html",
    "to_markdown",
    "token_auth_enabled",
    "trial_end_minutes",
    "watch_lines",
]
