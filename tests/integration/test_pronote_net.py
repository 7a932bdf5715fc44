"""The PRONOTE.net panel through a running data-center and the CLI (DOMAIN.md, "PRONOTE.net
and the ENT"; seed 004 Fiches 8-9, seed 002): publication on by default, stop / publish,
parameters changed only with publication stopped, the espaces' addresses, the delegation to
an ENT (each protocol, the catalogue, direct authentication), the identifiers export, the
Clients panel; every refusal changes nothing."""

from __future__ import annotations

import json
import os
import signal
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.json_format import MessageToDict

from protos import common_pb2, console_pb2
from tests.integration.harness import Datacenter, free_pool, rpc_error, running_datacenter, wait_for
from tests.integration.metrics_helpers import samples, value

PAGES = [
    ("commune", "", "mobile.html"),
    *(
        (name, f"{name}.html", f"mobile.{name}.html")
        for name in (
            "direction",
            "professeur",
            "viescolaire",
            "parent",
            "accompagnant",
            "eleve",
            "entreprise",
            "academie",
        )
    ),
]
# The ENTs of the console's "Mon ENT" list (seed 004 Fiche 9), the last one's name completed.
SEED_ENTS = [
    "@ucollège84 (ENT des collèges du Vaucluse)",
    "Agora06 (ENT des collèges des Alpes-Maritimes)",
    "Arsene76 (ENT des collèges de Seine-Maritime)",
    "Atrium (Région Sud Provence-Alpes-Côte d'Azur)",
    "Cher Cartable Numérique (Département du Cher : Mode avec alimentation)",
    "Cher Cartable Numérique (Département du Cher : Mode sans alimentation)",
    "Collèges 41 (Département du Loir-et-Cher : Mode avec alimentation)",
    "Collèges 41 (Département du Loir-et-Cher : Mode sans alimentation)",
    "Collèges Euréliens (Département de l'Eure-et-Loir : Mode avec alimentation)",
    "Collèges Euréliens (Département de l'Eure-et-Loir : Mode sans alimentation)",
    "Cybercollèges42 (ENT des collèges de la Loire)",
    "e-lyco (migration automatique vers version 3) (Pays de la Loire)",
    "e-lyco (Pays de la Loire)",
    "ECLAT-BFC (ENT en Région Bourgogne-Franche-Comté)",
    "eCollège31 (ENT des collèges de Haute-Garonne)",
    "eCollège78 (CG78)",
    "ENEJ de la Vienne (Département de la Vienne)",
    "ENT Enseignement Catholique Calvados (ENT de l'Enseignement Catholique du Calvados)",
]
MANUAL = {
    "cas": {"server_url": "https://cas.ent.example.net/cas/"},
    "educonnect": {"metadata_url": "https://educonnect.example.net/metadata.xml"},
    "saml2": {"metadata_url": "https://idp.example.net/metadata", "entity_id": "urn:idp:test"},
    "ws-federation": {"endpoint_url": "https://adfs.example.net/adfs/ls/", "realm": "urn:pronote"},
}


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Datacenter]:
    with running_datacenter(
        tmp_path_factory.mktemp("pronote-net"), free_pool(first_octets="127.160")
    ) as datacenter:
        yield datacenter


_next = iter(range(1000))


@pytest.fixture
def school(dc: Datacenter) -> Any:
    """A fresh demo school per test (a base in service with sample accounts)."""
    return dc.provision(f"0311{next(_next):03d}").school


def cli_json(dc: Datacenter, *args: str) -> Any:
    return json.loads(dc.cli(*args, "--json").stdout)


def panel(dc: Datacenter, uai: str) -> dict[str, Any]:
    """The panel as the console API gives it (the CLI's --json is the same message)."""
    reply = dc.operator().GetPublication(console_pb2.SchoolRef(uai=uai))
    return MessageToDict(
        reply, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def stop(dc: Datacenter, uai: str) -> None:
    dc.operator().SetPublished(console_pb2.SetPublishedRequest(uai=uai, published=False))


def delegate(dc: Datacenter, uai: str, ent: str, *espaces: str) -> None:
    delegation = common_pb2.Delegation(ent=ent, espaces=espaces, allow_direct_authentication=True)
    dc.operator().SetDelegation(console_pb2.SetDelegationRequest(uai=uai, delegation=delegation))


def refused(dc: Datacenter, *args: str) -> str:
    result = dc.cli(*args, check=False)
    assert result.returncode == 1, result.stdout
    return result.stderr


def test_publication_is_on_by_default_with_every_page_published(
    dc: Datacenter, school: Any
) -> None:
    shown = panel(dc, school.uai)
    assert shown["published"] is True
    assert shown["base"] == "Base année 2026-2027.not" or shown["base"].startswith("Base année")
    assert [(e["page"], e["published"]) for e in shown["espaces"]] == [
        (name, True) for name, _, _ in PAGES
    ]
    assert "delegation" not in shown or not shown["delegation"]
    page = samples(f"http://{school.address}:49380/metrics")
    assert value(page, "pronote_net_published") == 1
    for name, _, _ in PAGES:
        assert value(page, "pronote_net_espace_published", espace=name) == 1


def test_every_espace_and_its_mobile_twin_has_an_address_at_the_school(
    dc: Datacenter, school: Any
) -> None:
    local = f"http://{school.address}:8080/pronote/"
    public = f"https://{school.uai}.index-education.net/pronote/"
    expected = [
        (name, local + page, local + mobile, public + page, public + mobile)
        for name, page, mobile in PAGES
    ]
    for espaces in (
        panel(dc, school.uai)["espaces"],
        cli_json(dc, "school", "show", school.uai)["espaces"],
    ):
        assert [
            (e["page"], e["url"], e["mobile_url"], e["public_url"], e["public_mobile_url"])
            for e in espaces
        ] == expected
    assert cli_json(dc, "school", "show", school.uai)["pronote_net"] == "published"
    table = dc.cli("console", "pronote-net", "--uai", school.uai).stdout
    assert "Page commune" in table and "Base publiée" in table


def test_stop_and_publish_are_saved_with_the_school_across_a_restart(
    dc: Datacenter, school: Any
) -> None:
    stopped = cli_json(dc, "console", "pronote-net", "stop", "--uai", school.uai)
    assert stopped["published"] is False
    metrics = f"http://{school.address}:49380/metrics"
    assert value(samples(metrics), "pronote_net_published") == 0
    assert cli_json(dc, "school", "show", school.uai)["pronote_net"] == "stopped"

    old_pid = dc.school_pid(school.uai)
    os.kill(old_pid, signal.SIGKILL)
    wait_for(lambda: dc.school_pid(school.uai) not in (0, old_pid), timeout=30)
    wait_for(lambda: _answers(dc, school.uai), timeout=30)
    assert panel(dc, school.uai)["published"] is False  # the saved state, after the restart

    assert cli_json(dc, "console", "pronote-net", "publish", "--uai", school.uai)["published"]
    assert value(samples(metrics), "pronote_net_published") == 1


def _answers(dc: Datacenter, uai: str) -> bool:
    try:
        dc.operator().GetPublication(console_pb2.SchoolRef(uai=uai))
    except grpc.RpcError:
        return False
    return True


def test_publication_parameters_change_only_while_publication_is_stopped(
    dc: Datacenter, school: Any
) -> None:
    before = panel(dc, school.uai)
    for args in (
        ("espace", "parent", "--no-publish"),
        ("espace", "commune", "--no-publish"),
        ("delegate", "--ent", "ecollege31", "--espace", "parent"),
        ("undelegate",),
    ):
        error = refused(dc, "console", "pronote-net", *args, "--uai", school.uai)
        assert "FAILED_PRECONDITION" in error and "stop the publication" in error, error
    assert panel(dc, school.uai) == before

    stop(dc, school.uai)
    shown = cli_json(
        dc, "console", "pronote-net", "espace", "parent", "--no-publish", "--uai", school.uai
    )
    assert [e["page"] for e in shown["espaces"] if not e["published"]] == ["parent"]
    page = samples(f"http://{school.address}:49380/metrics")
    assert value(page, "pronote_net_espace_published", espace="parent") == 0
    assert value(page, "pronote_net_espace_published", espace="eleve") == 1
    shown = cli_json(
        dc, "console", "pronote-net", "espace", "commune", "--no-publish", "--uai", school.uai
    )
    assert {e["page"] for e in shown["espaces"] if not e["published"]} == {"parent", "commune"}
    # Publishing again keeps the espaces' choices.
    shown = cli_json(dc, "console", "pronote-net", "publish", "--uai", school.uai)
    assert shown["published"] is True
    assert {e["page"] for e in shown["espaces"] if not e["published"]} == {"parent", "commune"}


@pytest.fixture(scope="module")
def stopped_school(dc: Datacenter) -> Any:
    school = dc.provision("0319998").school
    stop(dc, school.uai)
    return school


@pytest.mark.parametrize("protocol", ["cas", "educonnect", "saml2", "ws-federation"])
def test_each_delegation_protocol_by_manual_configuration(
    dc: Datacenter, stopped_school: Any, protocol: str
) -> None:
    school = stopped_school  # each delegation replaces the one before
    params = [arg for k, v in MANUAL[protocol].items() for arg in ("--param", f"{k}={v}")]
    shown = cli_json(
        dc, "console", "pronote-net", "delegate", "--protocol", protocol, *params,
        "--espace", "professeur", "--espace", "parent", "--uai", school.uai,
    )  # fmt: skip
    delegation = shown["delegation"]
    assert delegation["protocol"] == protocol
    assert delegation["ent_name"] == "Configuration manuelle"
    assert delegation["parameters"] == MANUAL[protocol]
    assert delegation["espaces"] == ["parent", "professeur"]
    assert {e["page"] for e in shown["espaces"] if e["delegated"]} == {"parent", "professeur"}
    assert panel(dc, school.uai)["delegation"] == delegation  # saved, read back


def test_the_catalogue_holds_every_ent_named_in_the_seeds(dc: Datacenter) -> None:
    catalogue = cli_json(dc, "console", "pronote-net", "ents")
    names = [e["name"] for e in catalogue["ents"]]
    assert set(SEED_ENTS) <= set(names)
    assert set(catalogue["protocols"]) == {"cas", "educonnect", "saml2", "ws-federation"}
    by_name = {e["name"]: e for e in catalogue["ents"]}
    assert by_name["eCollège31 (ENT des collèges de Haute-Garonne)"]["protocol"] == "cas"
    assert all(e["parameters"] for e in catalogue["ents"])


def test_a_catalogue_ent_brings_its_protocol_and_parameters(dc: Datacenter, school: Any) -> None:
    stop(dc, school.uai)
    catalogue = {e["id"]: e for e in cli_json(dc, "console", "pronote-net", "ents")["ents"]}
    for ent in ("atrium", "e-lyco", "eCollège31 (ENT des collèges de Haute-Garonne)"):
        shown = cli_json(
            dc, "console", "pronote-net", "delegate", "--ent", ent, "-e", "eleve",
            "--uai", school.uai,
        )  # fmt: skip
        delegation = shown["delegation"]
        entry = catalogue[delegation["ent"]]
        assert ent in (entry["id"], entry["name"])
        assert (delegation["protocol"], delegation["parameters"]) == (
            entry["protocol"],
            entry["parameters"],
        )
        assert delegation["ent_name"] == entry["name"]


def test_direct_authentication_can_be_kept_beside_the_ent_or_not(
    dc: Datacenter, school: Any
) -> None:
    stop(dc, school.uai)

    def direct(*flags: str) -> dict[str, bool]:
        shown = cli_json(
            dc, "console", "pronote-net", "delegate", "--ent", "ecollege31", "-e", "parent",
            "-e", "eleve", *flags, "--uai", school.uai,
        )  # fmt: skip
        return {e["page"]: e["direct_login_allowed"] for e in shown["espaces"]}

    kept = direct()  # "Autoriser l'authentification directe" is checked by default
    assert set(kept.values()) == {True}
    refused_direct = direct("--no-direct")
    assert {p for p, allowed in refused_direct.items() if not allowed} == {"parent", "eleve"}
    removed = cli_json(dc, "console", "pronote-net", "undelegate", "--uai", school.uai)
    assert not removed.get("delegation")
    assert all(e["direct_login_allowed"] and not e["delegated"] for e in removed["espaces"])


def test_the_identifiers_export_lists_the_base_users_for_the_ent(
    dc: Datacenter, school: Any, tmp_path: Path
) -> None:
    target = tmp_path / "ids.xml"
    error = refused(
        dc, "console", "pronote-net", "export-identifiers", "-o", str(target), "--uai", school.uai
    )
    assert "FAILED_PRECONDITION" in error and "delegate" in error
    assert not target.exists()

    stop(dc, school.uai)
    delegate(dc, school.uai, "ecollege31", "parent")
    out = dc.cli(
        "console", "pronote-net", "export-identifiers", "-o", str(target), "--uai", school.uai
    ).stdout
    root = ET.parse(target).getroot()
    assert f"{len(root)} users" in out
    assert root.tag == "IdentifiantsPRONOTE"
    assert (root.get("rne"), root.get("ent"), root.get("protocole")) == (
        school.uai,
        "eCollège31 (ENT des collèges de Haute-Garonne)",
        "CAS",
    )
    users = {u.get("login"): u.attrib for u in root.iter("Utilisateur")}
    assert len(users) == len(root)  # one line per login
    spr = {a.login for a in school.sample_accounts if a.role == "spr"}
    assert {a.login for a in school.sample_accounts} - spr <= set(users)
    assert not spr & set(users)  # the SPR stays PRONOTE's own
    # The synthetic school's people, as many as the base's counters say.
    bases = dc.operator().ListBases(console_pb2.SchoolRef(uai=school.uai)).bases
    counters = next(b for b in bases if b.in_service).counters
    kinds = Counter(u["genre"] for u in users.values())
    assert (kinds["eleve"], kinds["professeur"]) == (counters.eleves, counters.professeurs)
    assert kinds["responsable"] > 0
    assert all(u["nom"] for u in users.values())
    assert all(u["id"].startswith("PN") and len(u["id"]) == 16 for u in users.values())
    # The ids are stable: a second export gives the same ones.
    again = dc.operator().ExportIdentifiers(console_pb2.SchoolRef(uai=school.uai))
    assert again.file_name == "IdPN_To_ecollege31.xml"
    assert {u.get("login"): u.get("id") for u in ET.fromstring(again.data).iter("Utilisateur")} == {
        login: u["id"] for login, u in users.items()
    }


def test_the_clients_panel_gives_the_connection_parameters(dc: Datacenter, school: Any) -> None:
    shown = cli_json(dc, "console", "clients", "--uai", school.uai)
    assert (shown["address"], shown["port"], shown["public_host"]) == (
        school.address,
        49300,
        f"{school.uai}.index-education.net",
    )
    assert "49300" in dc.cli("console", "clients", "--uai", school.uai).stdout


BAD_INPUT = [
    (("espace", "bureau", "--no-publish"), "no page 'bureau'"),
    (("delegate", "--ent", "moodle", "-e", "parent"), "no ENT 'moodle'"),
    (("delegate", "--protocol", "oauth", "-e", "parent"), "no delegation protocol 'oauth'"),
    (("delegate", "--ent", "ecollege31", "-e", "cantine"), "no espace 'cantine'"),
    (("delegate", "--protocol", "cas", "-e", "parent"), "needs server_url"),
    (
        ("delegate", "--protocol", "cas", "--param", "server_url=http://x", "-e", "parent"),
        "https://",
    ),
    (("delegate", "--protocol", "saml2", "--ent", "atrium", "-e", "parent"), "through CAS"),
    (("delegate", "--ent", "atrium"), "espace"),
]


@pytest.fixture(scope="module")
def delegated_school(dc: Datacenter) -> Any:
    """One school for every bad input (none may change it): stopped, delegated to e-lyco."""
    school = dc.provision("0319999").school
    stop(dc, school.uai)
    delegate(dc, school.uai, "e-lyco", "eleve")
    return school


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_is_refused_and_changes_nothing(
    dc: Datacenter, delegated_school: Any, args: tuple[str, ...], message: str
) -> None:
    school = delegated_school
    before = panel(dc, school.uai)
    error = refused(dc, "console", "pronote-net", *args, "--uai", school.uai)
    assert message in error, error
    assert panel(dc, school.uai) == before


def test_wrong_state_and_unknown_school_are_refused(dc: Datacenter, school: Any) -> None:
    error = refused(dc, "console", "pronote-net", "publish", "--uai", school.uai)
    assert "already published" in error and "FAILED_PRECONDITION" in error
    stop(dc, school.uai)
    before = panel(dc, school.uai)
    assert "already stopped" in refused(dc, "console", "pronote-net", "stop", "--uai", school.uai)
    assert "nothing to remove" in refused(
        dc, "console", "pronote-net", "undelegate", "--uai", school.uai
    )
    assert panel(dc, school.uai) == before
    missing = rpc_error(dc.operator().GetPublication, console_pb2.SchoolRef(uai="0750655E"))
    assert missing.code() is grpc.StatusCode.NOT_FOUND
    # The Delegation message rides the console API unchanged: an empty one is refused too.
    empty = rpc_error(
        dc.operator().SetDelegation,
        console_pb2.SetDelegationRequest(uai=school.uai, delegation=common_pb2.Delegation()),
    )
    assert empty.code() is grpc.StatusCode.INVALID_ARGUMENT
