"""Hashing of passwords, secrets and tokens: nothing secret is stored in clear (DESIGN 9).

Two costs, chosen by who picks the secret:
- `hash_password`: a password a person chose (an SPR's set on the console). scrypt, ~50 ms,
  slows guessing.
- `hash_secret`: a secret we generated (console and user passwords, a demo school's SPR
  password and every other sample account's, agent secrets, tokens).
  It carries >= 58 bits of entropy, so a salted SHA-256 is enough and keeps logins cheap,
  which matters when a load test opens thousands of Client PRONOTE sessions a minute.
`verify` reads the scheme from the stored value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "lIO0o1")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    return f"scrypt${_b64(salt)}${_b64(_scrypt(password, salt))}"


def hash_secret(secret: str) -> str:
    # An ASCII salt makes the digest SHA256(alea + secret) with alea = the salt: exactly what
    # PRONOTE.net's login challenge needs (pronote_net_verifier), without keeping the secret.
    salt = secrets.token_hex(8).encode()
    return f"sha256${_b64(salt)}${_b64(_sha256(secret, salt))}"


def verify(secret: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    if scheme == "scrypt":
        return hmac.compare_digest(_scrypt(secret, salt), expected)
    if scheme == "sha256":
        return hmac.compare_digest(_sha256(secret, salt), expected)
    return False


def pronote_net_verifier(stored: str) -> tuple[str, str] | None:
    """(alea, SHA256(alea + secret) in upper hex) for a `hash_secret` value whose salt is
    text, as PRONOTE.net's challenge uses them; None for other hashes (scrypt passwords)."""
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        alea = base64.b64decode(salt_b64).decode("ascii")
        digest = base64.b64decode(digest_b64)
    except (ValueError, UnicodeDecodeError):
        return None
    if scheme != "sha256" or not alea.isprintable():
        return None
    return alea, digest.hex().upper()


def token_digest(token: str) -> str:
    """Unsalted digest of a random token, so it can be looked up by value."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_password(length: int = 10) -> str:
    """A password a person can read off an SMS: no look-alike characters (~58 bits)."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def _scrypt(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)


def _sha256(secret: str, salt: bytes) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
