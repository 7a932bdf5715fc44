"""Controller settings: typed, with documented defaults, overridable by `PRONOTE_DC_*`
environment variables and CLI flags. Nothing reads the environment at import time:
`load_settings` takes the environment as a parameter."""

from __future__ import annotations

import dataclasses
import math
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.files import read_json
from datacenter.core.errors import InvalidArgument

ENV_PREFIX = "PRONOTE_DC_"


def default_state_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME", "~")) / ".local/state")
    return Path(base).expanduser() / "pronote-dc"


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class Settings:
    state_dir: Path = field(
        default=Path("~/.local/state/pronote-dc"),
        metadata=_doc("Registry, operator token and every school's files live here."),
    )
    console_address: str = field(
        default="127.0.0.1:49400",
        metadata=_doc("Where the console gRPC API listens (port 0: any free port)."),
    )
    runtime: str = field(
        default="local://", metadata=_doc("Where school servers run: local:// (embedded).")
    )
    address_pool: str = field(
        default="127.51.0.0/16", metadata=_doc("Addresses leased to schools, one each.")
    )
    client_port: int = field(default=49300, metadata=_doc("Client PRONOTE port of every school."))
    agent_port: int = field(default=49301, metadata=_doc("Management port of every school."))
    reconcile_interval_seconds: float = field(
        default=1.0,
        metadata=_doc(
            "How often schools the runtime cannot watch (swarm://, docker://) are observed."
        ),
    )
    reconcile_full_interval_seconds: float = field(
        default=60.0,
        metadata=_doc("How often every school is observed (a safety net: deaths are events)."),
    )
    start_timeout_seconds: float = field(
        default=20.0, metadata=_doc("How long a school server may take to become ready.")
    )
    provision_parallelism: int = field(
        default=16, metadata=_doc("Schools provisioned at once by --demo.")
    )
    session_idle_timeout_seconds: float = field(
        default=600.0, metadata=_doc("Idle Client PRONOTE sessions are closed after this.")
    )
    maxretry: int = field(
        default=5, metadata=_doc("Failed logins from one IP within findtime that suspend it.")
    )
    findtime_seconds: float = field(default=600.0, metadata=_doc("Window for maxretry."))
    bantime_seconds: float = field(default=600.0, metadata=_doc("How long an IP stays suspended."))
    console_session_seconds: float = field(
        default=8 * 3600.0, metadata=_doc("Lifetime of a school's console login.")
    )
    http_address: str = field(
        default="127.0.0.1:49480",
        metadata=_doc("Controller HTTP: /metrics and /sd/schools for Prometheus (port 0: any)."),
    )
    http_tls_certificate: str = field(
        default="",
        metadata=_doc("PEM certificate (chain) file: the controller HTTP (console too) uses TLS."),
    )
    http_tls_key: str = field(
        default="", metadata=_doc("PEM private key file of http_tls_certificate.")
    )
    grafana_url: str = field(
        default="",
        metadata=_doc("Grafana's base URL: the web console links each school to its dashboard."),
    )
    school_metrics_port: int = field(
        default=49380, metadata=_doc("HTTP port of each school's /metrics, on its address.")
    )
    school_pronote_net_port: int = field(
        default=8080, metadata=_doc("HTTP port of each school's PRONOTE.net, on its address.")
    )
    vat_schedule: str = field(
        default="2000-04-01:19.6,2014-01-01:20",
        metadata=_doc(
            "French VAT on proformas: <date it came into force>:<percent>, comma-separated."
        ),
    )
    clock: str = field(
        default="real",
        metadata=_doc("real, or simulated (moved by `pronote-dc clock advance`, or by speed)."),
    )
    clock_start: str = field(
        default="", metadata=_doc("Simulated clock's start, e.g. 2026-09-01 (UTC); empty: now.")
    )
    clock_speed: float = field(
        default=0.0, metadata=_doc("Simulated seconds per real second (0: moves on advance only).")
    )
    scheduler_interval_seconds: float = field(
        default=1.0,
        metadata=_doc(
            "Real seconds before a school whose due backups failed is asked again (passes "
            "otherwise run at the due times only)."
        ),
    )
    page_merging: str = field(
        default="on",
        metadata=_doc(
            "on: local:// schools share their identical pages through the kernel's same-page "
            "merging (ksmd passes after schools start; root only, else nothing); off."
        ),
    )
    max_upload_bytes: int = field(
        default=512 * 1024 * 1024,
        metadata=_doc("Largest .HNOT, annexe, .profils or EDT .zip the console accepts."),
    )

    @property
    def runtime_file(self) -> Path:
        """The runtime the state directory's schools run on, written by `up`."""
        return runtime_file(self.state_dir)

    @property
    def backups_dir(self) -> Path:
        """Each school's backups, outside its own directory: they outlive its server."""
        return self.state_dir / "backups"

    @property
    def registry_path(self) -> Path:
        return self.state_dir / "registry.sqlite3"

    @property
    def schools_dir(self) -> Path:
        return self.state_dir / "schools"

    @property
    def operator_token_path(self) -> Path:
        return self.state_dir / "operator.token"

    @property
    def controller_file(self) -> Path:
        return self.state_dir / "controller.json"

    def http_tls(self) -> ssl.SSLContext | None:
        """The TLS context of the controller's HTTP port, or None without a certificate."""
        if not self.http_tls_certificate and not self.http_tls_key:
            return None
        if not (self.http_tls_certificate and self.http_tls_key):
            raise InvalidArgument(
                "TLS needs both PRONOTE_DC_HTTP_TLS_CERTIFICATE and PRONOTE_DC_HTTP_TLS_KEY; "
                "give both, or neither for plain HTTP"
            )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.http_tls_certificate, self.http_tls_key)
        except (OSError, ssl.SSLError) as error:
            raise InvalidArgument(
                f"cannot use {self.http_tls_certificate} / {self.http_tls_key} for TLS: "
                f"{error}; give a PEM certificate and its key"
            ) from None
        return context


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def load_settings(environ: Mapping[str, str], **overrides: Any) -> Settings:
    """Defaults, then `PRONOTE_DC_<NAME>` variables, then explicit overrides (CLI flags).

    The runtime, given neither way, is the one `up` recorded in the state directory
    (`runtime.json`), so `down` and `clean` act on the schools it holds."""
    values: dict[str, Any] = {}
    for setting in dataclasses.fields(Settings):
        raw = environ.get(env_name(setting.name))
        if raw is not None:
            values[setting.name] = _parse(setting, raw, source=env_name(setting.name))
    values.update({k: v for k, v in overrides.items() if v is not None})
    for name, value in values.items():
        _check_number(name, value)
        _check_choice(name, value)
    values.setdefault("state_dir", default_state_dir(environ))
    values["state_dir"] = Path(values["state_dir"]).expanduser()
    if "runtime" not in values:  # the state directory's own runtime, if `up` recorded one
        saved = saved_runtime(values["state_dir"])
        if saved is not None:
            values["runtime"] = saved
    return Settings(**values)


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, default, meaning) for every setting."""
    defaults = Settings()
    return [
        (env_name(s.name), str(getattr(defaults, s.name)), s.metadata["doc"])
        for s in dataclasses.fields(Settings)
    ]


ZERO_ALLOWED = frozenset({"clock_speed"})  # 0: a simulated clock that does not move


def _check_number(name: str, value: Any) -> None:
    """A number setting that could not work is refused: NaN or infinite, a port outside
    1-65535, or a count, size or interval of 0 or less (0 seconds between passes is a busy
    loop). Raises InvalidArgument naming the variable."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if name.endswith("_port"):
        ok, wanted = 1 <= value <= 65535, "a port from 1 to 65535"
    elif name in ZERO_ALLOWED:
        ok, wanted = math.isfinite(value) and value >= 0, "a finite number, 0 or more"
    else:
        ok, wanted = math.isfinite(value) and value > 0, "a finite number above 0"
    if not ok:
        raise InvalidArgument(f"{env_name(name)}={value!r} must be {wanted}; fix or unset it")


CHOICES = {"page_merging": ("on", "off")}


def _check_choice(name: str, value: Any) -> None:
    """A setting with a few possible values gets one of them; InvalidArgument otherwise."""
    if name in CHOICES and value not in CHOICES[name]:
        raise InvalidArgument(
            f"{env_name(name)}={value!r} must be one of {', '.join(CHOICES[name])}; fix or unset it"
        )


def _parse(setting: dataclasses.Field[Any], raw: str, source: str) -> Any:
    kind = setting.type if isinstance(setting.type, str) else setting.type.__name__
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw).expanduser()
        return raw
    except ValueError:
        raise InvalidArgument(f"{source}={raw!r} is not a valid {kind}; fix or unset it") from None


def runtime_file(state_dir: Path) -> Path:
    return state_dir / "runtime.json"


def saved_runtime(state_dir: Path) -> str | None:
    """The runtime URL `up` recorded in this state directory, if any."""
    try:
        return str(read_json(runtime_file(state_dir))["runtime"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
