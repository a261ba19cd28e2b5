"""Regenerate testbed/data/pgp_keys.json (run by hand; the JSON is committed).

Keys are small Ed25519 OpenPGP keys made with PGPy, one per vendor identity in
testbed.vocab.VENDOR_IDENTITIES.  Generation is random, so the committed file is
the source of determinism: do not regenerate unless identities change.

    .venv/bin/python -m testbed.data.make_pgp_keys
"""
from __future__ import annotations

import json
from pathlib import Path

import pgpy
from pgpy.constants import EllipticCurveOID, HashAlgorithm, KeyFlags, PubKeyAlgorithm

from testbed.vocab import VENDOR_IDENTITIES

OUT = Path(__file__).with_name("pgp_keys.json")


def main() -> None:
    keys: dict[str, dict[str, str]] = {}
    for identity in VENDOR_IDENTITIES:
        key = pgpy.PGPKey.new(PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519)
        uid = pgpy.PGPUID.new(identity, email=f"{identity.lower()}@protonmail.test")
        key.add_uid(uid, usage={KeyFlags.Sign, KeyFlags.Certify}, hashes=[HashAlgorithm.SHA256])
        keys[identity] = {"fingerprint": str(key.fingerprint).replace(" ", ""), "armored": str(key.pubkey)}
    OUT.write_text(json.dumps(keys, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(keys)} keys to {OUT}")


if __name__ == "__main__":
    main()
