"""argparse types of the command lines' options: each turns the text into a
value or raises ``argparse.ArgumentTypeError`` with the form it expects, so
argparse prints ``error: argument --x: <why>`` and exits with code 2. Ranges
that depend on other options are checked later, with the model's options.
Also the parsers' help formatter and the translation of library errors into
the command line's words (``in_flags``)."""

import argparse
import re


def seed_argument(text):
    """argparse type of a seed: an integer in [0, 2**32 - 1] (numpy's range)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**32 - 1], got {text!r}")
    return value


def positive_int_argument(text):
    """argparse type of a count: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def threshold_argument(text):
    """argparse type of --threshold: "learned" or a number (its range is
    checked with the model's other options)."""
    if text.lower() == "learned":
        return "learned"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number >= 0 or 'learned', got {text!r}"
        ) from None


def pair_argument(text):
    """argparse type of --threshold-prior: two numbers "a,b" (their range is
    checked with the model's other options)."""
    try:
        first, second = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be two numbers separated by a comma, like 2,20; got {text!r}"
        ) from None
    return (first, second)


def in_flags(error, args, aliases=None):
    """A library error in the command line's words: the Python keyword advice
    it gives (``overwrite=True``, ``threshold='learned'``, ``path=<folder>``)
    names the flags (``--overwrite``, ``--threshold learned``, ``--data-dir
    <folder>``). ``aliases`` maps library names to the flags' ``dest``."""
    text = str(error)
    names = {dest: dest for dest in vars(args)} | (aliases or {})
    for name, dest in names.items():
        flag = "--" + dest.replace("_", "-")
        text = re.sub(rf"\b{name}=True\b", flag, text)
        text = re.sub(rf"\b{name}=None\b", f"{flag} unset", text)
        text = re.sub(rf"\b{name}='?([^\s',;)]*)'?", lambda m, f=flag: f"{f} {m[1]}".strip(), text)
    return text


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` ends each option's line with its default; options whose
    default is None (their help says what decides it) or a flag's False show none."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default == []:
            return action.help
        return super()._get_help_string(action)
