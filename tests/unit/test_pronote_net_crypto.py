"""PRONOTE.net's cryptography against the spec's Appendix A vectors (made with pronotepy)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from common import secrets
from common.pronote_net import (
    EMPTY_KEY,
    ZERO_IV,
    Cipherer,
    CryptoError,
    aes_decrypt,
    aes_encrypt,
    deflate_raw,
    inflate_raw,
    key_list,
    md5,
    parse_key_list,
    password_digest,
    scramble,
    unscramble,
    user_key,
)

IV_TEMP = bytes(range(16))
IV = md5(IV_TEMP)
USER_KEY = bytes.fromhex("37eb7cbd6948d97f86dbc834e9b46c6d")
K = bytes(range(16, 32))
SESSION_KEY = md5(K)


def test_keys_and_iv_are_the_vectors() -> None:
    assert EMPTY_KEY.hex() == "d41d8cd98f00b204e9800998ecf8427e"
    assert base64.b64encode(IV_TEMP).decode() == "AAECAwQFBgcICQoLDA0ODw=="
    assert IV.hex() == "1ac1ef01e96caf1be0d329331a4fc2a8"
    assert SESSION_KEY.hex() == "1bf42e241816ba29ff5f307bb1bc1d16"


def test_order_numbers_are_the_vectors() -> None:
    first = Cipherer(iv_temp=IV_TEMP)
    assert first.order(1) == "3fa959b13967e0ef176069e01e23c8d7"
    assert first.read_order("3fa959b13967e0ef176069e01e23c8d7") == 1
    first.start_session_iv()
    assert first.order(3) == "18e4c3eb97be7e4cf58efbbe3c4a505e"
    assert first.order(2) == "b3961095f9685612b2cad63997dce7cb"
    first.key = SESSION_KEY
    assert first.order(7) == "74a1138a345c9444958d8f0f999ec5b6"


def test_password_key_and_challenge_are_the_vectors() -> None:
    digest = password_digest("0123456789abcdef", "Secret123")
    assert digest == "4E539F71C8E58BDC05705D55BFD73470BCE502CDB5AC0FFC4F378F0EB72F2036"
    assert user_key("jdupont", digest) == USER_KEY
    scrambled = "1x2x3x4x5x6x7x8x9x0x1x2x3x4x5x6x"
    challenge = aes_encrypt(USER_KEY, IV, scrambled.encode())
    assert challenge.hex() == (
        "7e74f217a1ae92315058428d8dbf3461a31914990a1693667826650d5f4725fe"
        "40a959aeff2c96e2de8ed193f1d57425"
    )
    classic = aes_encrypt(USER_KEY, IV, unscramble(scrambled).encode())
    assert classic.hex() == "a495d8b9bba341cc7a1c78f32b2d37bb32e7b0c8605c3774d4a0e31c51a7f681"
    echoed = aes_encrypt(USER_KEY, IV, challenge.hex().encode())
    assert echoed.hex().startswith("30fe26460ff8e8a9a6b9a6d8d3c5d22a4b1554ae3e888846be67f62c")


def test_session_key_message_is_the_vector() -> None:
    assert key_list(K) == "16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31"
    cle = aes_encrypt(USER_KEY, IV, key_list(K).encode())
    assert cle.hex() == (
        "adab4429f6808d17de1ce131f6ca9c4945ae8baa57b89ede49b627d020b6edfa"
        "f22363ed74ee9b2063fecba96cd9b9fd"
    )
    assert parse_key_list(aes_decrypt(USER_KEY, IV, cle).decode()) == K


def test_parametres_utilisateur_request_and_response_decode() -> None:
    server = Cipherer(key=SESSION_KEY, iv=IV)
    assert server.open_request("75E1C94581B883E6C4E2FF20AD3C7285") == {}
    assert server.open_response("BE29E11DE5227774606AE7825D945929") == {"data": {}}


@pytest.mark.parametrize(("encrypt", "compress"), [(a, b) for a in (0, 1) for b in (0, 1)])
def test_every_mode_round_trips_both_ways(encrypt: int, compress: int) -> None:
    client = Cipherer(bool(encrypt), bool(compress), key=SESSION_KEY, iv=IV)
    server = Cipherer(bool(encrypt), bool(compress), key=SESSION_KEY, iv=IV)
    payload = {"Signature": {"onglet": 16}, "data": {"nom": "Élève", "n": [1, 2]}}
    assert server.open_request(client.seal_request(payload)) == payload
    assert client.open_response(server.seal_response({"data": payload})) == {"data": payload}


def test_requests_hex_before_deflate_and_responses_do_not() -> None:
    client = Cipherer(encrypt=False, compress=True)
    sealed = client.seal_request({})
    assert inflate_raw(bytes.fromhex(sealed)) == b"7b7d"  # hex of "{}"
    server = Cipherer(encrypt=False, compress=True)
    assert inflate_raw(bytes.fromhex(server.seal_response({}))) == b"{}"


def test_deflate_is_raw() -> None:
    assert inflate_raw(deflate_raw(b"bonjour" * 10)) == b"bonjour" * 10
    assert not deflate_raw(b"x").startswith(b"\x78")  # no zlib header


@pytest.mark.parametrize("bad", ["zz", "00" * 16, 12])
def test_garbage_is_a_crypto_error(bad: object) -> None:
    with pytest.raises(CryptoError):
        Cipherer(key=SESSION_KEY, iv=IV).open_request(bad)


def test_wrong_key_does_not_decrypt() -> None:
    sealed = aes_encrypt(USER_KEY, IV, b"1234567890123456")
    with pytest.raises(CryptoError):
        aes_decrypt(EMPTY_KEY, ZERO_IV, sealed)


def test_scramble_keeps_the_plain_text_at_even_places() -> None:
    text = scramble("0123456789")
    assert len(text) == 20 and unscramble(text) == "0123456789"


def test_generated_secrets_give_the_web_verifier() -> None:
    stored = secrets.hash_secret("Secret123")
    verifier = secrets.pronote_net_verifier(stored)
    assert verifier is not None
    alea, digest = verifier
    assert digest == hashlib.sha256((alea + "Secret123").encode()).hexdigest().upper()
    assert secrets.verify("Secret123", stored)


def test_chosen_passwords_have_no_web_verifier() -> None:
    assert secrets.pronote_net_verifier(secrets.hash_password("pw")) is None
    assert secrets.pronote_net_verifier("garbage") is None
