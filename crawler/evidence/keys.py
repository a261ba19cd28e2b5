"""Ed25519 keys that sign evidence heads: `$TRAWL_HOME/keys/`.

    keys/evidence-ed25519.key        the current private key (PKCS#8 PEM, mode 0600)
    keys/evidence-public/<id>.pub    every public key ever used here (PEM), current and retired

The key id is `ed25519:` + the first 16 hex digits of the SHA-256 of the raw public key;
each signed head names the key id that signed it, so heads signed before a rotation still
verify against the retired public key.  Rotation (`trawl evidence keys rotate`) writes a
new private key over the old one (the old one is gone: nothing can sign with it again)
and adds the new public key beside the old ones.  Publish each public key (or its id)
somewhere outside this machine when it is made: a key that only lives next to the
evidence proves nothing to someone who suspects this machine.
"""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from core.errors import TrawlError

PRIVATE_NAME = "evidence-ed25519.key"
PUBLIC_DIR = "evidence-public"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def _public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class SigningKey:
    private: Ed25519PrivateKey
    key_id: str

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()


def keys_dir(home: Path) -> Path:
    return home / "keys"


def _write_new_private(path: Path, private: Ed25519PrivateKey, replace: bool) -> None:
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if a concurrent crawl made the key first: use theirs
    finally:
        tmp.unlink(missing_ok=True)


def _save_public(home: Path, public: Ed25519PublicKey) -> str:
    ident = key_id(public)
    directory = keys_dir(home) / PUBLIC_DIR
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{ident.split(':', 1)[1]}.pub"
    if not target.exists():
        target.write_bytes(_public_pem(public))
    return ident


def load_signing_key(home: Path) -> SigningKey:
    """The current signing key, generated on first use."""
    directory = keys_dir(home)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / PRIVATE_NAME
    if not path.exists():
        try:
            _write_new_private(path, Ed25519PrivateKey.generate(), replace=False)
        except FileExistsError:
            pass
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise TrawlError(f"{path}: cannot read the evidence signing key ({exc})") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise TrawlError(f"{path}: not an Ed25519 private key")
    return SigningKey(private, _save_public(home, private.public_key()))


def rotate_signing_key(home: Path) -> tuple[str, str]:
    """Replace the private key with a new one; returns (old key id, new key id)."""
    old = load_signing_key(home).key_id
    private = Ed25519PrivateKey.generate()
    _write_new_private(keys_dir(home) / PRIVATE_NAME, private, replace=True)
    return old, _save_public(home, private.public_key())


def trusted_public_keys(home: Path, extra: list[Path] | None = None) -> dict[str, Ed25519PublicKey]:
    """Key id -> public key: every key under keys/evidence-public plus `extra` PEM files."""
    files = sorted((keys_dir(home) / PUBLIC_DIR).glob("*.pub")) + list(extra or [])
    out: dict[str, Ed25519PublicKey] = {}
    for path in files:
        try:
            public = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise TrawlError(f"{path}: not a PEM public key ({exc})") from exc
        if not isinstance(public, Ed25519PublicKey):
            raise TrawlError(f"{path}: not an Ed25519 public key")
        out[key_id(public)] = public
    return out


def verify_signature(public: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
