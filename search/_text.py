"""The one line of an error message that a user is shown."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn, Sequence


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line on stderr (not the whole usage) and exit 2."""

    _argv: list[str] = []

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        flag = _flag_missing_its_value(message)
        taken_for_a_flag = _next_word(self._argv, flag) if flag else ""
        if taken_for_a_flag.startswith("-") and taken_for_a_flag not in self._option_string_actions:
            # argparse takes a value that starts with '-', like a budget of -1m, for another flag
            message += f"; a value that starts with '-' is written {flag}=VALUE"
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _flag_missing_its_value(message: str) -> str | None:
    """'--seed' of argparse's "argument --seed: expected one argument" (the long name of
    "-s/--seed"), else None."""
    prefix, suffix = "argument ", ": expected one argument"
    if message.startswith(prefix) and message.endswith(suffix):
        return message[len(prefix):-len(suffix)].split("/")[-1]
    return None


def _next_word(argv: Sequence[str], flag: str) -> str:
    """The word after the last ``flag`` in ``argv``; '' if none."""
    positions = [index for index, word in enumerate(argv) if word == flag]
    return argv[positions[-1] + 1] if positions and positions[-1] + 1 < len(argv) else ""


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
