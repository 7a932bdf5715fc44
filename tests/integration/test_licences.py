"""Licence limits on port 49300, including licences reserved for the Administration group."""

from __future__ import annotations

import grpc

from protos import common_pb2, console_pb2
from tests.integration.harness import Datacenter, account, client, rpc_error


def test_administratif_licences_are_capped_and_reserved_ones_kept_for_administration(
    datacenter: Datacenter,
) -> None:
    school = datacenter.provision("0750001", administratif_licences=3).school
    operator = datacenter.operator()
    operator.SetReservedLicences(console_pb2.SetReservedLicencesRequest(uai=school.uai, count=1))
    secretary = datacenter.add_user(school, "secretariat", common_pb2.USER_KIND_PERSONNEL, "CPE")
    admin = account(school, "administratif")

    with client(school.address) as c:
        # 3 licences, 1 reserved: two non-administration sessions fit, a third does not.
        c.connect("secretariat", secretary)
        c.connect("secretariat", secretary)
        refused = rpc_error(c.connect, "secretariat", secretary)
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "reserved" in refused.details()
        # The reserved licence still lets the Administration group in...
        c.connect(admin.login, admin.password)
        # ...and now every licence is taken, for everyone.
        full = rpc_error(c.connect, admin.login, admin.password)
        assert full.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        usage = c.info().licences
        assert (usage.administratif_in_use, usage.administratif_capacity) == (3, 3)
        assert usage.reserved_for_administration == 1

    usage = operator.GetLicences(console_pb2.SchoolRef(uai=school.uai))
    assert usage.administratif_in_use == 3


def test_disconnect_frees_a_licence(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750002", administratif_licences=1).school
    admin = account(school, "administratif")
    with client(school.address) as c:
        session = c.connect(admin.login, admin.password)
        assert rpc_error(c.connect, admin.login, admin.password).code() == (
            grpc.StatusCode.RESOURCE_EXHAUSTED
        )
        c.disconnect(session.session_id)
        c.connect(admin.login, admin.password)


def test_edt_sessions_hold_a_modification_licence(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750003", administratif_licences=1).school
    admin = account(school, "administratif")
    with client(school.address) as c:
        c.connect(admin.login, admin.password, common_pb2.MODE_EDT)
        refused = rpc_error(c.connect, admin.login, admin.password)
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert c.info().licences.edt_in_use == 1


def test_teachers_are_counted_once_and_capped_by_the_formula(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750004", formula=console_pb2.FORMULA_30).school
    passwords = {
        f"prof{n:02d}": datacenter.add_user(school, f"prof{n:02d}", common_pb2.USER_KIND_PROFESSEUR)
        for n in range(30)
    }
    teacher = account(school, "enseignant")
    with client(school.address) as c:
        for login, password in passwords.items():
            c.connect(login, password, common_pb2.MODE_ENSEIGNANT)
        c.connect("prof00", passwords["prof00"], common_pb2.MODE_ENSEIGNANT)  # same teacher again
        usage = c.info().licences
        assert (usage.enseignant_in_use, usage.enseignant_capacity) == (30, 30)
        refused = rpc_error(c.connect, teacher.login, teacher.password, common_pb2.MODE_ENSEIGNANT)
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "30 teacher licences" in refused.details()


def test_vie_scolaire_sessions_are_counted_not_capped(datacenter: Datacenter) -> None:
    school = datacenter.provision("0750005", administratif_licences=1).school
    cpe = account(school, "vie_scolaire")
    with client(school.address) as c:
        for _ in range(6):
            c.connect(cpe.login, cpe.password, common_pb2.MODE_VIE_SCOLAIRE)
        assert c.info().licences.vie_scolaire_in_use == 6
        wrong_mode = rpc_error(c.connect, cpe.login, cpe.password, common_pb2.MODE_ENSEIGNANT)
        assert wrong_mode.code() == grpc.StatusCode.PERMISSION_DENIED
