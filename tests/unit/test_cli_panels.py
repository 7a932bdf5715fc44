"""The console's commands are grouped like the console's panels (issue 4 point 8, issue 11):
each panel is one module of datacenter/cli/console/, and the flat names stay as hidden aliases."""

from __future__ import annotations

import pkgutil

import pytest
from typer.testing import CliRunner

import datacenter.cli.console as console_cli
from datacenter.cli.app import app
from datacenter.cli.console import FLAT_ALIASES, PANELS, command_name

WIDE = {"COLUMNS": "200"}


def test_every_module_of_the_console_package_is_a_panel() -> None:
    modules = {m.name.replace("_", "-") for m in pkgutil.iter_modules(console_cli.__path__)}
    assert modules == set(PANELS)
    for name, panel in PANELS.items():
        assert panel.registered_commands, f"panel {name} has no command"


def test_each_panel_lists_its_commands_and_the_flat_names_are_hidden() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["console", "--help"], env=WIDE)
    assert top.exit_code == 0
    listed = set(top.output.split())
    for panel in PANELS:
        assert panel in listed
    assert "reserve-licences" not in listed  # filed under `clients`, hidden at the top
    clients = runner.invoke(app, ["console", "clients", "--help"], env=WIDE)
    assert clients.exit_code == 0
    assert {"licences", "connections", "disconnect", "unblock"} <= set(clients.output.split())


# Dozens of Rich help pages rendered in-process: ~10 s alone on a slow host, past the unit tier's
# 20 s bound when a fleet shares the machine (seen once, under a 2000-school merging pass).
@pytest.mark.timeout(120)
def test_every_flat_name_still_answers() -> None:
    runner = CliRunner()
    for panel in FLAT_ALIASES:
        for info in PANELS[panel].registered_commands:
            name = command_name(info)
            filed = runner.invoke(app, ["console", panel, name, "--help"], env=WIDE)
            flat = runner.invoke(app, ["console", name, "--help"], env=WIDE)
            assert filed.exit_code == 0 and flat.exit_code == 0, name
            assert flat.output.split()[4:] == filed.output.split()[5:]  # after the command's name
