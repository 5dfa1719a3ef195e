"""Encryption at rest: AES-256-GCM with a key from ``SYNCER_BACKUP_KEY`` or
``SYNCER_BACKUP_KEY_FILE`` (base64 of 32 random bytes). An empty setting means "not set"."""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from syncer.errors import BackupError
from syncer.settings import Settings

#: First bytes of an encrypted snapshot; the rest is a 12-byte nonce and AES-GCM output.
MAGIC = b"SYNCERB1"
_NONCE = 12
_HOW = "`python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'`"


def generate_key() -> str:
    """A new random key for ``SYNCER_BACKUP_KEY`` (base64 of 32 bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def parse_key(text: str, where: str) -> bytes:
    """Decode a base64 32-byte key; ``where`` names its origin in the error."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BackupError(f"{where} is not valid base64; generate a key with {_HOW}") from exc
    if len(key) != 32:
        raise BackupError(f"{where} must decode to 32 bytes (AES-256), got {len(key)}")
    return key


def load_key(settings: Settings) -> bytes | None:
    """The backup key from ``SYNCER_BACKUP_KEY`` or ``SYNCER_BACKUP_KEY_FILE`` (None: plain).

    An empty value of either setting counts as unset."""
    if settings.backup_key is not None and settings.backup_key.get_secret_value().strip():
        return parse_key(settings.backup_key.get_secret_value(), "SYNCER_BACKUP_KEY")
    path = settings.backup_key_file
    if path is None or str(path).strip() in ("", "."):
        return None
    if path.is_dir():
        raise BackupError(
            f"SYNCER_BACKUP_KEY_FILE={path} is a directory, not a key file; set it to the "
            "path of the file holding the key, or leave it unset for plain backups"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BackupError(
            f"cannot read the backup key file {path}: {exc.strerror or exc}; "
            "check SYNCER_BACKUP_KEY_FILE and the file's permissions"
        ) from exc
    return parse_key(text, f"backup key file {path}")


def encrypt(key: bytes, plain: bytes) -> bytes:
    """AES-256-GCM: MAGIC + nonce + ciphertext-with-tag."""
    nonce = secrets.token_bytes(_NONCE)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plain, MAGIC)


def decrypt(key: bytes, blob: bytes, name: str) -> bytes:
    """Undo :func:`encrypt`; a wrong key or altered bytes raise BackupError naming ``name``."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + _NONCE + 16:
        raise BackupError(f"{name} is not an encrypted syncer backup (bad header or truncated)")
    nonce = blob[len(MAGIC) : len(MAGIC) + _NONCE]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(MAGIC) + _NONCE :], MAGIC)
    except InvalidTag as exc:
        raise BackupError(
            f"cannot decrypt {name}: wrong key, or the file was altered. Check "
            "SYNCER_BACKUP_KEY / SYNCER_BACKUP_KEY_FILE is the key the backup was made with"
        ) from exc
