"""The one line of an error message that a user is shown."""

from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line on stderr (not the whole usage) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def first_line(error: BaseException | str, limit: int = 300) -> str:
    """The first non-blank line of ``error`` (what a library's own message leads with), at
    most ``limit`` characters; the error's type name when it has no text."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    if lines:
        return lines[0][:limit]
    return type(error).__name__ if isinstance(error, BaseException) else ""


def last_line(error: BaseException | str, limit: int = 500) -> str:
    """The last non-blank line of ``error``: for a traceback, or an error that carries one
    (a Ray task's), the line that names the exception and its message."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    if lines:
        return lines[-1][:limit]
    return type(error).__name__ if isinstance(error, BaseException) else ""
