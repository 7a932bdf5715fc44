"""The console's commands are filed under the console's panels (issue 4, point 8)."""

from __future__ import annotations

from typer.testing import CliRunner

from datacenter.cli.app import app
from datacenter.cli.panels import PANEL_OF, PANELS, unfiled_commands


def test_every_console_command_belongs_to_a_panel() -> None:
    assert unfiled_commands() == []
    assert set(PANEL_OF.values()) <= set(PANELS)


def test_each_panel_lists_its_commands_and_the_flat_names_are_hidden() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["console", "--help"], env={"COLUMNS": "200"})
    assert top.exit_code == 0
    for panel in set(PANEL_OF.values()):
        assert panel in top.output
    assert "reserve-licences" not in top.output  # filed under `clients`, hidden at the top
    clients = runner.invoke(app, ["console", "clients", "--help"], env={"COLUMNS": "200"})
    assert clients.exit_code == 0
    assert {"licences", "connections", "disconnect", "unblock"} <= set(clients.output.split())
