"""Hashes of passwords, secrets and tokens; passwords readable off an SMS."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from common import secrets


@pytest.mark.parametrize("hash_function", [secrets.hash_password, secrets.hash_secret])
def test_hash_then_verify_round_trip(hash_function: Callable[[str], str]) -> None:
    stored = hash_function("Correct horse")
    assert "Correct horse" not in stored
    assert secrets.verify("Correct horse", stored)


@pytest.mark.parametrize("hash_function", [secrets.hash_password, secrets.hash_secret])
def test_verify_refuses_a_wrong_secret(hash_function: Callable[[str], str]) -> None:
    stored = hash_function("Correct horse")
    assert not secrets.verify("correct horse", stored)
    assert not secrets.verify("", stored)


def test_hashes_say_their_scheme() -> None:
    assert secrets.hash_password("pw").startswith("scrypt$")
    assert secrets.hash_secret("pw").startswith("sha256$")


def test_hashes_are_salted() -> None:
    assert secrets.hash_secret("pw") != secrets.hash_secret("pw")
    assert secrets.hash_password("pw") != secrets.hash_password("pw")


@pytest.mark.parametrize("stored", ["", "plain", "md5$c2FsdA==$ZGlnZXN0", "sha256$!!$!!", "a$b"])
def test_verify_refuses_malformed_or_unknown_hashes(stored: str) -> None:
    assert not secrets.verify("pw", stored)


def test_token_digest_is_stable_and_distinguishes_tokens() -> None:
    token = secrets.new_token()
    assert secrets.token_digest(token) == secrets.token_digest(token)
    assert secrets.token_digest(token) != secrets.token_digest(secrets.new_token())


def test_new_password_has_no_look_alike_characters() -> None:
    passwords = [secrets.new_password() for _ in range(500)]
    used = set("".join(passwords))
    assert not used & set("lIO0o1")
    assert used <= set("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")


def test_new_password_length_and_randomness() -> None:
    assert len(secrets.new_password()) == 10
    assert len(secrets.new_password(4)) == 4
    assert len({secrets.new_password() for _ in range(100)}) == 100
