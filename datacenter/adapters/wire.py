"""The words of the domain and CLI ("80", "enseignant") <-> protocol enum values, in one place."""

from __future__ import annotations

from protos import common_pb2, console_pb2

FORMULA_TO_PROTO = {
    "30": console_pb2.FORMULA_30,
    "50": console_pb2.FORMULA_50,
    "80": console_pb2.FORMULA_80,
    "unlimited": console_pb2.FORMULA_UNLIMITED,
}
FORMULA_FROM_PROTO = {value: key for key, value in FORMULA_TO_PROTO.items()}

MODE_TO_PROTO = {
    "administratif": common_pb2.MODE_ADMINISTRATIF,
    "enseignant": common_pb2.MODE_ENSEIGNANT,
    "vie_scolaire": common_pb2.MODE_VIE_SCOLAIRE,
    "edt": common_pb2.MODE_EDT,
}
