"""``python -m search.run``: search hyperparameters of MNIST Keras models with Ray Tune.

Parses the command line (every flag is checked before anything starts), runs the pipeline
(``search.pipeline``: search, confirmation, report) and maps how it ended to an exit code:
0 finished, 1 failed, 2 bad input, 130 interrupted (``--resume NAME`` goes on).
"""

from __future__ import annotations

import sys
from typing import Sequence

from mnist_models import DataError
from search.cli import RunOptions, UsageError, parse_options
from search.run_folder import StorageError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = parse_options(argv)
    except UsageError as error:
        return _bad_input(error)
    try:
        return _execute(options)
    except (UsageError, DataError, StorageError) as error:
        return _bad_input(error)
    except KeyboardInterrupt:
        print("search.run: interrupted before the search had started; nothing to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as error:
        where = error.filename or "the results folder"
        print(f"search.run: error: cannot write {where} ({error.strerror or error}): free some space or "
              f"give another --results; files already saved are left whole", file=sys.stderr)
        return EXIT_FAILED


def _execute(options: RunOptions) -> int:
    # Lazy: the pipeline imports Ray and Tune (a couple of seconds); a bad flag is refused first.
    from search import pipeline

    try:
        outcome = pipeline.execute(options)
    except pipeline.RunFailed as error:
        print(f"search.run: failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_INTERRUPTED if outcome is pipeline.Outcome.INTERRUPTED else 0


def _bad_input(error: Exception) -> int:
    print(f"search.run: error: {error}", file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
