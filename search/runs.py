"""``python -m search.runs [--results DIR|URI]``: the runs in a results folder, one line each."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from search._text import OneLineParser
from search.reporting import format_runs, list_runs, list_runs_at
from search.run_folder import StorageError, is_uri


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m search.runs",
                                     description="List the runs in a results folder.")
    parser.add_argument("--results", default="results",
                        help="folder of runs, or the storage URI given to search.run (default ./results)")
    args = parser.parse_args(argv)
    if is_uri(args.results):
        try:
            print(format_runs(list_runs_at(args.results), args.results))
        except (StorageError, OSError) as error:
            print(f"search.runs: error: {error}".splitlines()[0], file=sys.stderr)
            return 2
        return 0
    results = Path(args.results).expanduser()
    if not results.is_dir():
        print(f"search.runs: error: --results {args.results!r} is not a folder: give the folder "
              f"that search.run wrote its runs into (default ./results)", file=sys.stderr)
        return 2
    print(format_runs(list_runs(results), results.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
