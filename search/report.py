"""``python -m search.report RESULTS/NAME``: render a run's report again from its saved files,
without Ray and without training."""

from __future__ import annotations

import sys
from typing import Sequence

from search._text import OneLineParser
from search.reporting import ReportError, render_report


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m search.report",
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
