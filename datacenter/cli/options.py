"""Options and formats the CLI's command modules share."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
UaiOption = Annotated[
    str, typer.Option("--uai", help="The school (implied after `console login`).")
]


def when(seconds: Any) -> str:
    """Unix seconds as the console shows a date (UTC); "" for none."""
    if not seconds:
        return ""
    moment = datetime.datetime.fromtimestamp(float(seconds), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")
