"""How the command line takes its values: the parser class every `flattr` command uses, and
argument types built on core.inputs (the one place each kind of input is checked).

argparse exits 2 for every error. Here 2 stays for usage errors (an unknown command or
option, a missing argument); a value of the wrong kind (a bad period, a number written with
other digits, an unknown network) is bad input like any other and exits 1, as the README
says. The parser raises instead of exiting (`exit_on_error=False`); commands.main decides.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from core import inputs
from core.errors import UserError


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exit_on_error", False)
        super().__init__(*args, **kwargs)


def is_usage_error(parser: argparse.ArgumentParser, error: argparse.ArgumentError) -> bool:
    """An error about which command to run (an unknown command name), not about a value."""
    return error.argument_name in set(_command_names(parser))


def _command_names(parser: argparse.ArgumentParser) -> list[str | None]:
    names: list[str | None] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            names.append(argparse._get_action_name(action))
            for sub in action.choices.values():
                names += _command_names(sub)
    return names


def check_argv(argv: Sequence[str]) -> None:
    """Every argument is text without a NUL byte or control character, of a sane length."""
    for arg in argv:
        inputs.text(arg, field="an argument", max_length=inputs.MAX_TEXT)


def _typed(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a checker: its UserError becomes argparse's value error (so the
    message reaches the person as it was worded)."""

    def convert(value: str) -> Any:
        try:
            return check(value)
        except UserError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    convert.__name__ = getattr(check, "__name__", "value")
    return convert


def integer(minimum: int = 0, maximum: int = 10**9) -> Callable[[str], int]:
    return _typed(lambda v: inputs.ascii_int(v, field="the value", minimum=minimum,
                                             maximum=maximum))


def decimal(minimum: float = 0.0, maximum: float = 1e9) -> Callable[[str], float]:
    return _typed(lambda v: inputs.ascii_decimal(v, field="the value", minimum=minimum,
                                                 maximum=maximum))


period: Callable[[str], str] = _typed(inputs.period)
moment: Callable[[str], datetime] = _typed(inputs.moment)
email: Callable[[str], str | None] = _typed(inputs.email)
handle: Callable[[str], str | None] = _typed(inputs.handle)


def text(max_length: int) -> Callable[[str], str]:
    return _typed(lambda v: inputs.text(v, field="the value", max_length=max_length))


def read_file(path: str | Path, *, what: str = "file") -> str:
    """A small text file's content (UTF-8); a missing, unreadable or binary file, or a
    directory, is a UserError."""
    name = str(path)
    try:
        with open(path, encoding="utf-8") as handle_:
            content = handle_.read(inputs.MAX_JSON_BYTES + 1)
    except IsADirectoryError:
        raise UserError(f"{what} {name} is a directory, not a file") from None
    except FileNotFoundError:
        raise UserError(f"{what} {name} does not exist") from None
    except (OSError, ValueError) as exc:  # PermissionError, a NUL in the path, not UTF-8
        raise UserError(f"cannot read {what} {name}: {exc}") from None
    if len(content) > inputs.MAX_JSON_BYTES:
        raise UserError(f"{what} {name} is too large (at most {inputs.MAX_JSON_BYTES} bytes)")
    return content
