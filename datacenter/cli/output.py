"""Tables for people, JSON for machines: every listing goes through `emit`."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one line per error, for grep


def emit(
    rows: Sequence[dict[str, Any]],
    as_json: bool,
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    if as_json:
        json.dump(list(rows), sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return
    if not rows:
        console.print(f"[dim]{title or 'nothing'}: none[/]")
        return
    table = Table(title=title, title_justify="left")
    columns = columns or list(rows[0])
    for column in columns:  # fold, never "…": URLs, logins and passwords get copied
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    console.print(table)


def emit_object(value: dict[str, Any], as_json: bool, title: str | None = None) -> None:
    if as_json:
        json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, item in value.items():
        if isinstance(item, list):
            continue
        table.add_row(key.replace("_", " "), _cell(item))
    console.print(table)


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
