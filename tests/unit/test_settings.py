"""Controller settings: defaults, then PRONOTE_DC_* variables, then explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from datacenter.core.errors import InvalidArgument
from datacenter.core.settings import Settings, describe, env_name, load_settings


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({"XDG_STATE_HOME": str(tmp_path)})
    assert settings.state_dir == tmp_path / "pronote-dc"
    assert settings.console_address == "127.0.0.1:49400"
    assert settings.runtime == "local://"
    assert settings.address_pool == "127.51.0.0/16"
    assert settings.client_port == 49300
    assert settings.agent_port == 49301
    assert settings.maxretry == 5
    assert settings.findtime_seconds == 600.0
    assert settings.bantime_seconds == 600.0
    assert settings.session_idle_timeout_seconds == 600.0
    assert settings.console_session_seconds == 8 * 3600.0


def test_paths_derive_from_the_state_dir(tmp_path: Path) -> None:
    settings = load_settings({}, state_dir=tmp_path)
    assert settings.registry_path == tmp_path / "registry.sqlite3"
    assert settings.schools_dir == tmp_path / "schools"
    assert settings.operator_token_path == tmp_path / "operator.token"
    assert settings.controller_file == tmp_path / "controller.json"


def test_variables_are_parsed_to_their_types() -> None:
    settings = load_settings(
        {
            "PRONOTE_DC_CLIENT_PORT": "50300",
            "PRONOTE_DC_BANTIME_SECONDS": "1.5",
            "PRONOTE_DC_STATE_DIR": "/srv/pronote-dc",
            "PRONOTE_DC_ADDRESS_POOL": "127.60.0.0/24",
        }
    )
    assert settings.client_port == 50300
    assert isinstance(settings.client_port, int)
    assert settings.bantime_seconds == 1.5
    assert isinstance(settings.bantime_seconds, float)
    assert settings.state_dir == Path("/srv/pronote-dc")
    assert settings.address_pool == "127.60.0.0/24"


def test_path_variables_expand_the_home_directory() -> None:
    settings = load_settings({"PRONOTE_DC_STATE_DIR": "~/dc"})
    assert settings.state_dir == Path.home() / "dc"


def test_variables_without_the_prefix_are_ignored() -> None:
    assert load_settings({"CLIENT_PORT": "1", "MAXRETRY": "1"}) == load_settings({})


def test_explicit_overrides_beat_variables() -> None:
    settings = load_settings({"PRONOTE_DC_MAXRETRY": "7"}, maxretry=9)
    assert settings.maxretry == 9


def test_none_overrides_leave_the_variable() -> None:
    settings = load_settings({"PRONOTE_DC_MAXRETRY": "7"}, maxretry=None)
    assert settings.maxretry == 7


@pytest.mark.parametrize(
    ("name", "raw"),
    [("PRONOTE_DC_AGENT_PORT", "49x01"), ("PRONOTE_DC_FINDTIME_SECONDS", "ten")],
)
def test_a_bad_number_names_the_variable(name: str, raw: str) -> None:
    with pytest.raises(InvalidArgument, match=name) as caught:
        load_settings({name: raw})
    assert repr(raw) in str(caught.value)


def test_os_environ_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRONOTE_DC_CLIENT_PORT", "1234")
    monkeypatch.setenv("PRONOTE_DC_MAXRETRY", "not a number")
    settings = load_settings({})
    assert settings.client_port == 49300
    assert settings.maxretry == 5


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(AttributeError):
        settings.maxretry = 1  # type: ignore[misc]


def test_env_name() -> None:
    assert env_name("address_pool") == "PRONOTE_DC_ADDRESS_POOL"


def test_describe_documents_every_setting() -> None:
    rows = describe()
    names = [name for name, _, _ in rows]
    assert len(names) == len(Settings.__dataclass_fields__)
    assert ("PRONOTE_DC_CLIENT_PORT", "49300") in [(n, d) for n, d, _ in rows]
    assert all(doc for _, _, doc in rows)


def test_the_default_state_dir_comes_from_the_given_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/somewhere/else")
    assert load_settings({"HOME": str(tmp_path)}).state_dir == (
        tmp_path / ".local/state/pronote-dc"
    )


def test_the_state_directory_remembers_its_runtime(tmp_path: Path) -> None:
    (tmp_path / "runtime.json").write_text('{"runtime": "docker://"}', encoding="utf-8")
    assert load_settings({}, state_dir=tmp_path).runtime == "docker://"  # down, clean…
    environ = {"PRONOTE_DC_RUNTIME": "local://"}
    assert load_settings(environ, state_dir=tmp_path).runtime == "local://"  # said: obeyed
    assert load_settings({}, state_dir=tmp_path, runtime="ssh://h").runtime == "ssh://h"
    assert load_settings({}, state_dir=tmp_path / "new").runtime == "local://"


@pytest.mark.parametrize(
    ("variable", "raw", "says"),
    [
        ("RECONCILE_FULL_INTERVAL_SECONDS", "0", "above 0"),  # passes back to back: a spin
        ("RECONCILE_INTERVAL_SECONDS", "-5", "above 0"),
        ("SCHEDULER_INTERVAL_SECONDS", "nan", "finite"),
        ("START_TIMEOUT_SECONDS", "inf", "finite"),
        ("PROVISION_PARALLELISM", "0", "above 0"),
        ("CLIENT_PORT", "70000", "1 to 65535"),
        ("CLOCK_SPEED", "-1", "0 or more"),
    ],
)
def test_a_number_that_cannot_work_is_refused(variable: str, raw: str, says: str) -> None:
    with pytest.raises(InvalidArgument, match=f"PRONOTE_DC_{variable}=.*{says}"):
        load_settings({f"PRONOTE_DC_{variable}": raw})


def test_a_frozen_simulated_clock_is_a_valid_speed() -> None:
    assert load_settings({"PRONOTE_DC_CLOCK_SPEED": "0"}).clock_speed == 0
