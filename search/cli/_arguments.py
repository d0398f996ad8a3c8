"""Value types for command-line flags, shared by ``search.run`` and the checkout's ``benchmarks``:
each bad value gets one line that names the value, the rule and the fix."""

from __future__ import annotations

import argparse
import re
from typing import Callable, NoReturn

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")
_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """'90s', '20m', '1h' or plain seconds -> seconds (> 0)."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"time budget {text!r} is not a positive duration: write it like 90s, 20m or 1h"
        )
    return float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2)]


def positive_int(flag: str) -> Callable[[str], int]:
    return whole_number(flag, minimum=1)


def non_negative_int(flag: str) -> Callable[[str], int]:
    return whole_number(flag, minimum=0)


def whole_number(flag: str, *, minimum: int) -> Callable[[str], int]:
    """A parser of ``flag``'s value: a whole number of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} is {text!r}, but must be a whole number >= {minimum}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag} is {value}, but must be >= {minimum}")
        return value

    return parse


def number(flag: str, *, allow_zero: bool) -> Callable[[str], float]:
    rule = ">= 0" if allow_zero else "> 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} is {text!r}, but must be a number {rule}")
        if not (value >= 0 if allow_zero else value > 0) or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{flag} is {text}, but must be a finite number {rule}")
        return value

    return parse


def run_name(text: str) -> str:
    if not NAME_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"--name {text!r} is not a valid run name: use letters, digits, '.', '_' and '-' "
            f"(at most 100 characters, starting with a letter or digit)"
        )
    return text


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line on stderr (not the whole usage) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def fraction(flag: str) -> Callable[[str], float]:
    """A parser of ``flag``'s value: a number in (0, 1]."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} is {text!r}, but must be a number in (0, 1]")
        if not 0 < value <= 1:
            raise argparse.ArgumentTypeError(f"{flag} is {text}, but must be in (0, 1]: a validation accuracy "
                                             f"like 0.99")
        return value

    return parse
