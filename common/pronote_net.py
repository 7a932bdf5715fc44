"""PRONOTE.net's wire cryptography, shared by the espaces (server) and the load generator
(client): AES-128-CBC with MD5 keys, raw deflate, order numbers, the login challenge.

Spec: docs/pronote-net/protocol.md §3-4. Requests are deflate(hex(JSON)), responses
deflate(JSON): the asymmetry is the protocol's, not ours (§10.1).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ZERO_IV = bytes(16)
EMPTY_KEY = hashlib.md5(b"").digest()
VERSION = "2025.1.3"  # the dialect both clients speak (no/id/dataSec), §8


class CryptoError(Exception):
    """A payload that does not decrypt, inflate or parse."""


def md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def aes_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def aes_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    try:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise CryptoError(f"cannot decrypt: {error}") from None


def deflate_raw(data: bytes) -> bytes:
    return zlib.compress(data, 6)[2:-4]


def inflate_raw(data: bytes) -> bytes:
    try:
        return zlib.decompress(data, -15)
    except zlib.error as error:
        raise CryptoError(f"cannot inflate: {error}") from None


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()


@dataclass
class Cipherer:
    """One session's key and IV, and its encryption/compression modes (CrA/CoA)."""

    encrypt: bool = True
    compress: bool = True
    key: bytes = EMPTY_KEY
    iv: bytes = ZERO_IV
    iv_temp: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    def order(self, number: int) -> str:
        return aes_encrypt(self.key, self.iv, str(number).encode()).hex()

    def read_order(self, hex_no: str) -> int:
        try:
            return int(aes_decrypt(self.key, self.iv, bytes.fromhex(hex_no)))
        except ValueError:
            raise CryptoError(f"order number {hex_no!r} is not valid") from None

    def seal_request(self, payload: Any) -> Any:
        """Client side: JSON -> dataSec (hex before deflate)."""
        data = dumps(payload)
        if self.compress:
            data = deflate_raw(data.hex().encode())
        if self.encrypt:
            data = aes_encrypt(self.key, self.iv, data)
        return data.hex().upper() if (self.compress or self.encrypt) else payload

    def open_request(self, data_sec: Any) -> Any:
        """Server side: dataSec -> JSON."""
        if not (self.compress or self.encrypt):
            return data_sec
        raw = _fromhex(data_sec)
        if self.encrypt:
            raw = aes_decrypt(self.key, self.iv, raw)
        if self.compress:
            try:
                raw = bytes.fromhex(inflate_raw(raw).decode())
            except (ValueError, UnicodeDecodeError):
                raise CryptoError("the inflated request is not hex text") from None
        return _loads(raw)

    def seal_response(self, payload: Any) -> Any:
        """Server side: JSON -> dataSec (deflate without the hex step)."""
        if not (self.compress or self.encrypt):
            return payload
        data = dumps(payload)
        if self.compress:
            data = deflate_raw(data)
        if self.encrypt:
            data = aes_encrypt(self.key, self.iv, data)
        return data.hex().upper()

    def open_response(self, data_sec: Any) -> Any:
        """Client side: dataSec -> JSON."""
        if not (self.compress or self.encrypt):
            return data_sec
        raw = _fromhex(data_sec)
        if self.encrypt:
            raw = aes_decrypt(self.key, self.iv, raw)
        if self.compress:
            raw = inflate_raw(raw)
        return _loads(raw)

    def start_session_iv(self) -> None:
        self.iv = md5(self.iv_temp)


def password_digest(alea: str, password: str) -> str:
    """SHA256(alea + password), upper hex: what the server may store instead of a password."""
    return hashlib.sha256((alea + password).encode()).hexdigest().upper()


def user_key(login: str, digest_upper: str) -> bytes:
    return md5((login + digest_upper).encode())


def scramble(plain: str) -> str:
    """One random character after each character of `plain` (the server's challenge text)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(c + secrets.choice(alphabet) for c in plain)


def unscramble(text: str) -> str:
    return text[::2]


def key_list(key: bytes) -> str:
    """The new session key as PRONOTE sends it in `cle`: decimal bytes joined by commas."""
    return ",".join(str(b) for b in key)


def parse_key_list(text: str) -> bytes:
    try:
        return bytes(int(item) for item in text.split(","))
    except ValueError:
        raise CryptoError("the session key is not a list of bytes") from None


def _fromhex(value: Any) -> bytes:
    if not isinstance(value, str):
        raise CryptoError("dataSec must be hex text in this mode")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise CryptoError("dataSec is not hex") from None


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CryptoError("the payload is not JSON") from None
