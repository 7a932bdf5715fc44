"""`pronote-dc`: the command line of the data-center (Typer + Rich)."""

from datacenter.cli.app import app, main

__all__ = ["app", "main"]
