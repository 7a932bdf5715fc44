"""Passwords given to the CLI without putting them on a command line, where `ps` shows them to
every local user (issue 12, point 6). Every password option also reads an environment variable
and `--password-stdin` (the first line of standard input); a required one is asked for, hidden,
in a terminal."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from datacenter.cli.output import fail

PASSWORD_ENV = "PRONOTE_DC_PASSWORD"
SPR_PASSWORD_ENV = "PRONOTE_DC_SPR_PASSWORD"

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (kept out of `ps`).",
    ),
]


def password_option(help_text: str, envvar: str = PASSWORD_ENV) -> typer.models.OptionInfo:
    return typer.Option(
        envvar=envvar,
        show_envvar=True,
        help=f"{help_text} Prefer {envvar} or --password-stdin: a command line is public.",
    )


def resolve(value: str, from_stdin: bool, what: str, required: bool = True) -> str:
    """The password from --password-stdin, else the option or its variable, else a hidden
    prompt in a terminal; refused with what to do otherwise."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            fail(f"--password-stdin: standard input held no {what}; pipe it in, e.g. from a file")
        return line
    if value or not required:
        return value
    if sys.stdin.isatty():
        return str(typer.prompt(what.capitalize(), hide_input=True))
    fail(f"give the {what}: --password-stdin, the variable, or run in a terminal to be asked")
