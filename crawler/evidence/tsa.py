"""RFC 3161 trusted timestamps: ask a timestamp authority (TSA) to sign a digest, and
check a token it returned.

A token proves the digest existed at the TSA's `gen_time`: a head timestamped when it
was produced cannot be replaced by a recomputed one later without the TSA's key.  The
request is a DER `TimeStampReq` (SHA-256 imprint, random nonce, certReq so the token
carries the TSA certificate), POSTed as application/timestamp-query.  Checking a token:
the TSTInfo imprint equals the digest, the CMS signed attributes hold the TSTInfo's
digest, the signature verifies under the embedded certificate, that certificate may
time-stamp (extended key usage), and, when trusted CA certificates are given, it was
issued by one of them.
"""
from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from core.errors import TrawlError

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512, "sha1": hashes.SHA1}


class TimestampError(Exception):
    """A token that does not prove what it should (or a TSA that did not answer)."""


@dataclass
class TimestampInfo:
    gen_time: datetime
    serial: int
    tsa_subject: str
    policy: str


def build_request(digest: bytes, nonce: int) -> bytes:
    return tsp.TimeStampReq({
        "version": 1,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "nonce": nonce,
        "cert_req": True,
    }).dump()


def request_timestamp(url: str, digest: bytes, timeout: float = 10.0,
                      ca_certs: list[Path] | None = None) -> bytes:
    """POST a request for `digest` (SHA-256) to the TSA at `url`; returns the token (DER)."""
    if not url.startswith(("http://", "https://")):
        raise TrawlError(f"TRAWL_EVIDENCE_TSA_URL={url!r}: expected an http(s):// URL")
    nonce = secrets.randbits(63)
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        url, data=build_request(digest, nonce), method="POST",
        headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - http(s) only
            body = reply.read(1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        raise TimestampError(f"TSA {url}: {exc}") from exc
    try:
        response = tsp.TimeStampResp.load(body)
        status = response["status"]["status"].native
    except ValueError as exc:
        raise TimestampError(f"TSA {url}: not a TimeStampResp ({exc})") from exc
    if status not in ("granted", "granted_with_mods"):
        raise TimestampError(f"TSA {url}: status {status} {response['status']['status_string'].native}")
    token = response["time_stamp_token"].dump()
    verify_token(token, digest, ca_certs, nonce=nonce)
    return token


def _tst_info(signed: cms.SignedData) -> tuple[tsp.TSTInfo, bytes]:
    encap = signed["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise TimestampError(f"token content is {encap['content_type'].native}, not tst_info")
    raw = encap["content"].contents
    return tsp.TSTInfo.load(raw), raw


def _signer_cert(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    sid = signer["sid"]
    for choice in signed["certificates"] or []:
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            if (cert.issuer == sid.chosen["issuer"]
                    and cert.serial_number == sid.chosen["serial_number"].native):
                return x509.load_der_x509_certificate(cert.dump())
        elif cert.key_identifier == sid.chosen.native:
            return x509.load_der_x509_certificate(cert.dump())
    raise TimestampError("token carries no certificate of its signer (request it with certReq)")


def _check_signature(cert: x509.Certificate, signer: cms.SignerInfo) -> None:
    # the signature covers the DER of the signed attributes re-tagged as a SET
    signed_attrs = signer["signed_attrs"].dump()
    data = b"\x31" + signed_attrs[1:]
    signature = signer["signature"].native
    digest_name = signer["digest_algorithm"]["algorithm"].native
    algorithm = _HASHES.get(digest_name)
    if algorithm is None:
        raise TimestampError(f"unsupported digest {digest_name}")
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if signer["signature_algorithm"].signature_algo == "rsassa_pss":
                raise TimestampError("RSASSA-PSS TSA signatures are not supported")
            key.verify(signature, data, padding.PKCS1v15(), algorithm())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise TimestampError(f"unsupported TSA key type {type(key).__name__}")
    except InvalidSignature:
        raise TimestampError("TSA signature does not verify (token altered)") from None


def _check_issuer(cert: x509.Certificate, ca_certs: list[Path]) -> None:
    for path in ca_certs:
        try:
            ca = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise TrawlError(f"{path}: not a PEM certificate ({exc})") from exc
        if ca.fingerprint(hashes.SHA256()) == cert.fingerprint(hashes.SHA256()):
            return
        try:
            cert.verify_directly_issued_by(ca)
            return
        except (ValueError, TypeError, InvalidSignature):
            continue
    raise TimestampError(f"TSA certificate {cert.subject.rfc4514_string()} is not issued by a "
                         f"trusted CA ({', '.join(map(str, ca_certs))})")


def verify_token(token: bytes, digest: bytes, ca_certs: list[Path] | None = None,
                 nonce: int | None = None) -> TimestampInfo:
    """Check a DER timestamp token over the SHA-256 `digest`; raises TimestampError."""
    try:
        info = cms.ContentInfo.load(token)
        if info["content_type"].native != "signed_data":
            raise TimestampError("token is not CMS SignedData")
        signed = info["content"]
        tst, raw = _tst_info(signed)
        imprint = tst["message_imprint"]
        if imprint["hash_algorithm"]["algorithm"].native != "sha256" \
                or imprint["hashed_message"].native != digest:
            raise TimestampError("token timestamps another digest (head changed)")
        if nonce is not None and tst["nonce"].native != nonce:
            raise TimestampError("token nonce differs from the request's (replayed answer)")
        (signer,) = signed["signer_infos"]
        attrs = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
        algorithm = signer["digest_algorithm"]["algorithm"].native
        if algorithm not in _HASHES or attrs.get("message_digest") != hashlib.new(algorithm, raw).digest():
            raise TimestampError("signed attributes do not hold the TSTInfo digest (token altered)")
        cert = _signer_cert(signed, signer)
    except (ValueError, KeyError, TypeError) as exc:
        raise TimestampError(f"not a readable timestamp token ({type(exc).__name__}: {exc})") from exc
    _check_signature(cert, signer)
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or x509.oid.ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise TimestampError("TSA certificate lacks the timeStamping extended key usage")
    if ca_certs:
        _check_issuer(cert, ca_certs)
    return TimestampInfo(gen_time=tst["gen_time"].native, serial=tst["serial_number"].native,
                         tsa_subject=cert.subject.rfc4514_string(),
                         policy=tst["policy"].dotted)
