"""PRONOTE.net's settings as plain objects: publication, pages, delegation, direct login,
the identifiers file (DOMAIN.md, "PRONOTE.net and the ENT")."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from common.ent_catalogue import Protocol, catalogue, find_ent, parse_protocol
from vm_agent.domain.bases import Base, User
from vm_agent.domain.delegation import MANUAL, new_delegation
from vm_agent.domain.errors import InvalidArgument, WrongState
from vm_agent.domain.espaces import PAGES, Espace, page_addresses
from vm_agent.domain.identifiers_export import Identity, export_identifiers, pronote_id
from vm_agent.domain.modes import UserKind
from vm_agent.domain.publication import Publication


def stopped() -> Publication:
    publication = Publication()
    publication.stop()
    return publication


def test_publication_is_on_by_default_and_survives_its_saved_form() -> None:
    publication = Publication()
    assert publication.published and publication.commune
    assert all(publication.espaces.values())
    publication.stop()
    publication.set_page("commune", False)
    publication.delegate(new_delegation("", "atrium", {}, ["parent"], False))
    assert Publication.from_dict(publication.to_dict()) == publication
    assert Publication.from_dict({}) == Publication()  # states saved before this existed


def test_every_change_needs_the_publication_stopped_and_leaves_it_unchanged() -> None:
    publication = Publication()
    delegation = new_delegation("", "ecollege31", {}, ["eleve"], True)
    for change in (
        lambda: publication.set_page("parent", False),
        lambda: publication.set_page("commune", False),
        lambda: publication.delegate(delegation),
    ):
        with pytest.raises(WrongState, match="stop the publication"):
            change()
    assert publication == Publication()


def test_stop_then_publish_again_and_the_wrong_state_refusals() -> None:
    publication = Publication()
    with pytest.raises(WrongState):
        publication.start()
    publication.stop()
    assert publication.refusal(Espace.PARENT) is not None
    with pytest.raises(WrongState):
        publication.stop()
    with pytest.raises(WrongState, match="nothing to remove"):
        publication.remove_delegation()
    publication.start()
    assert publication.refusal(Espace.PARENT) is None


def test_direct_login_follows_the_delegation_option() -> None:
    publication = stopped()
    assert all(publication.direct_login_allowed(e) for e in Espace)
    publication.delegate(new_delegation("cas", "", {"server_url": "https://cas.x.example.net"},
                                        ["parent", "eleve"], False))  # fmt: skip
    assert not publication.direct_login_allowed(Espace.PARENT)
    assert not publication.direct_login_allowed(Espace.ELEVE)
    assert publication.direct_login_allowed(Espace.PROFESSEUR)
    publication.delegate(new_delegation("", "e-lyco", {}, ["parent"], True))
    assert publication.direct_login_allowed(Espace.PARENT)
    assert publication.delegation_for(Espace.PARENT) is not None


@pytest.mark.parametrize("protocol", list(Protocol))
def test_each_protocol_needs_its_parameters_in_a_manual_configuration(protocol: Protocol) -> None:
    with pytest.raises(InvalidArgument, match="needs"):
        new_delegation(protocol.value, "", {}, ["parent"], True)
    parameters = {
        name: f"https://{name}.example.net/x" if name.endswith("_url") else "urn:test"
        for name in protocol.required_parameters
    }
    delegation = new_delegation(protocol.label, "", parameters, ["parent"], True)
    assert (delegation.protocol, delegation.ent_name, dict(delegation.parameters)) == (
        protocol,
        MANUAL,
        parameters,
    )


@pytest.mark.parametrize(
    ("protocol", "ent", "parameters", "espaces", "message"),
    [
        ("", "", {}, ["parent"], "choose an ENT"),
        ("kerberos", "", {}, ["parent"], "no delegation protocol"),
        ("", "moodle", {}, ["parent"], "no ENT 'moodle'"),
        ("", "atrium", {}, [], "pick the espaces"),
        ("", "atrium", {}, ["cantine"], "no espace 'cantine'"),
        ("saml2", "atrium", {}, ["parent"], "delegates through CAS"),
        ("", "atrium", {"server_url": "https://x.example.net"}, ["parent"], "come from"),
        ("cas", "", {"server_url": "ftp://x"}, ["parent"], "https://"),
        ("cas", "", {"server_url": "https://x.example.net", "realm": "r"}, ["parent"], "not realm"),
    ],
)
def test_bad_delegations_are_refused(
    protocol: str, ent: str, parameters: dict[str, str], espaces: list[str], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        new_delegation(protocol, ent, parameters, espaces, True)


def test_the_catalogue_is_found_by_id_or_name_and_has_the_domain_examples() -> None:
    names = {e.name for e in catalogue()}
    assert {"eCollège31 (ENT des collèges de Haute-Garonne)", "e-lyco (Pays de la Loire)"} <= names
    assert any(n.startswith("Atrium (Région Sud") for n in names)
    assert find_ent("ATRIUM") == find_ent("Atrium (Région Sud Provence-Alpes-Côte d'Azur)")
    assert len({e.id for e in catalogue()}) == len(catalogue())
    assert parse_protocol("WS-Fed") is Protocol.WS_FEDERATION


def test_pages_and_their_addresses() -> None:
    assert [p.name for p in PAGES][:2] == ["commune", "direction"]
    where = page_addresses(PAGES[4], "127.51.0.9", 8080, "0750655E")
    assert where.url == "http://127.51.0.9:8080/pronote/parent.html"
    assert where.mobile_url == "http://127.51.0.9:8080/pronote/mobile.parent.html"
    assert where.public_url == "https://0750655E.index-education.net/pronote/parent.html"
    commune = page_addresses(PAGES[0], "127.51.0.9", 8080, "0750655E")
    assert (commune.url, commune.mobile_url) == (
        "http://127.51.0.9:8080/pronote/",
        "http://127.51.0.9:8080/pronote/mobile.html",
    )


def test_the_identifiers_file_needs_a_delegation_and_a_base() -> None:
    base = Base("b1", "2026-2027", 0.0)
    base.add_user(User("spr", "x", "SPR", UserKind.PERSONNEL, is_spr=True))
    base.add_user(User("prof.martin", "x", "MARTIN Paul", UserKind.PROFESSEUR))
    delegation = new_delegation("", "ecollege31", {}, ["parent"], True)
    with pytest.raises(WrongState, match="delegate"):
        export_identifiers("0750655E", base, None, 0.0)
    with pytest.raises(WrongState, match="base in service"):
        export_identifiers("0750655E", None, delegation, 0.0)
    parent = Identity(pronote_id("0750655E", "parent.x"), "responsable", "parent.x", "X Anne")
    exported = export_identifiers("0750655E", base, delegation, 0.0, [parent])
    root = ET.fromstring(exported.data)
    assert exported.file_name == "IdPN_To_ecollege31.xml" and exported.count == 2
    assert [(u.get("login"), u.get("genre")) for u in root] == [
        ("parent.x", "responsable"),
        ("prof.martin", "professeur"),
    ]
    assert pronote_id("0750655E", "Prof.Martin") == pronote_id("0750655e", "prof.martin")
