"""Bounded input (issue 12, point 5): refusals, never RecursionError/OverflowError/zlib.error."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from common import bounded_json, edt_zip
from common.pronote_net import MAX_INFLATED_BYTES, CryptoError, deflate_raw, inflate_raw


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[" * 100_000, "nests deeper"),
        ('{"a":' * 65 + "1" + "}" * 65, "nests deeper"),
        ('{"format": 1e400}', "out of range"),
        ("[NaN]", "not JSON"),
        ("[-Infinity]", "not JSON"),
    ],
)
def test_bad_json_is_a_value_error_that_says_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        bounded_json.loads(text)


def test_plain_json_parses_as_before() -> None:
    value = {"a": [1, 2.5, {"b": None, "c": "é"}], "d": True}
    assert bounded_json.loads(json.dumps(value)) == value


def test_a_deflate_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = deflate_raw(b"0" * (256 * 1024 * 1024))  # ~256 kB that inflate to 256 MiB
    with pytest.raises(CryptoError, match="inflates to more than 4 MiB"):
        inflate_raw(bomb)
    assert inflate_raw(deflate_raw(b"x" * MAX_INFLATED_BYTES)) == b"x" * MAX_INFLATED_BYTES


UAI = "0750655E"


def _rezip(replace: dict[str, bytes] | None = None, damage: str = "") -> bytes:
    """A real EDT transfer with some members replaced, or one member's deflate stream damaged."""
    good = edt_zip.build(UAI, "2026-2027", {"eleve": True}, professeurs=3, classes=2, salles=4)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for info in source.infolist():
            archive.writestr(info.filename, (replace or {}).get(info.filename) or source.read(info))
    data = bytearray(out.getvalue())
    if damage:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            info = archive.getinfo(damage)
        start = info.header_offset + 30 + len(info.filename.encode())
        data[start : start + 6] = b"\xff" * 6
    return bytes(data)


def test_the_rezipped_transfer_reads() -> None:
    assert edt_zip.read(_rezip()).school_year == "2026-2027"


@pytest.mark.parametrize(
    "data",
    [
        _rezip({edt_zip.MANIFEST: b'{"format": 1e400}'}),
        _rezip({edt_zip.MANIFEST: b"[" * 100_000}),
        _rezip(damage=edt_zip.MANIFEST),
        _rezip(damage=edt_zip.LESSONS),
    ],
    ids=["format 1e400", "deep nesting", "damaged deflate", "damaged lessons"],
)
def test_damaged_edt_zips_are_bad_zips(data: bytes) -> None:
    with pytest.raises(edt_zip.BadZip):
        edt_zip.read(data)
