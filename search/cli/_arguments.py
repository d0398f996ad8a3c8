"""Value types for command-line flags, shared by ``search.run`` and the checkout's ``benchmarks``:
each bad value gets one line that names the value, the rule and the fix."""

from __future__ import annotations

import argparse
import re
from typing import Callable

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")
_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600}
# The longest time budget taken: 30 days, far past any search this service has run, and short
# of the numbers that overflow (a budget of 400 nines is infinite as a float).
MAX_DURATION_S = 30 * 24 * 3600
# The finest share of a CPU or GPU that Ray schedules (its resource precision).
RAY_SMALLEST_SHARE = 0.0001


def parse_duration(text: str) -> float:
    """'90s', '20m', '1h' or plain seconds -> seconds (> 0, at most ``MAX_DURATION_S``)."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"time budget {text!r} is not a positive duration: write it like 90s, 20m or 1h"
        )
    seconds = float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2)]
    if seconds > MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"time budget {text!r} is more than 30 days: give at most "
                                         f"{MAX_DURATION_S // 3600}h")
    return seconds


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
    """A parser of ``flag``'s value: a finite number, > 0 or >= 0."""
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


def resource_share(flag: str, *, allow_zero: bool) -> Callable[[str], float]:
    """A parser of a share of CPUs or GPUs: a number as ``number`` takes it, none finer than Ray schedules."""
    as_number = number(flag, allow_zero=allow_zero)

    def parse(text: str) -> float:
        value = as_number(text)
        if 0 < value < RAY_SMALLEST_SHARE:
            raise argparse.ArgumentTypeError(f"{flag} is {text}, but Ray schedules no share finer than "
                                             f"{RAY_SMALLEST_SHARE}: give at least {RAY_SMALLEST_SHARE}"
                                             + (" (or 0)" if allow_zero else ""))
        return value

    return parse


def run_name(text: str) -> str:
    if not NAME_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"--name {text!r} is not a valid run name: use letters, digits, '.', '_' and '-' "
            f"(at most 100 characters, starting with a letter or digit)"
        )
    return text


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
