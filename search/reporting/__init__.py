"""What a user reads: the report (Markdown, HTML and figures), the closing table of a search,
the listing of past runs and the lines that say how to watch a run. Reads the run folder's
files only: no Ray, no training, nothing unpickled."""

from search.reporting._closing_table import summary_table, trained_line
from search.reporting._progress import progress_line, search_progress
from search.reporting._render import ReportError, render_report
from search.reporting._runs_listing import format_runs, list_runs, list_runs_at
from search.reporting._watch import dashboard_line, watch_lines

__all__ = [
    "ReportError",
    "dashboard_line",
    "format_runs",
    "list_runs",
    "list_runs_at",
    "progress_line",
    "render_report",
    "search_progress",
    "summary_table",
    "trained_line",
    "watch_lines",
]
