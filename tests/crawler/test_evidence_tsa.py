"""RFC 3161 timestamps of evidence heads against a local TSA: `openssl ts -reply` behind a
loopback HTTP server, with a throwaway CA and TSA certificate made by `openssl req`."""
from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.evidence.anchor import TOKEN_FILE, statement_digest
from crawler.evidence.tsa import TimestampError, request_timestamp, verify_token
from crawler.evidence.verify import verify_run
from tests.crawler.evidence_util import anchor_for, exchange, writer_for

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")

TS_CONFIG = """[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([str(OPENSSL), *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(directory: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN=trawl test {name}",
             "-days", "2", cwd=directory)


class LocalTsa:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        _make_ca(directory, "ca")
        (directory / "ext.cnf").write_text("extendedKeyUsage = critical,timeStamping\n"
                                           "basicConstraints = CA:FALSE\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
                 "-subj", "/CN=trawl test tsa", cwd=directory)
        _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", "tsa.crt", "-days", "2", "-extfile", "ext.cnf",
                 cwd=directory)
        (directory / "tsaserial").write_text("01\n")
        (directory / "ts.cnf").write_text(TS_CONFIG.format(dir=directory))
        self.requests = 0
        self._lock = threading.Lock()

    def reply(self, query: bytes) -> bytes:
        with self._lock, tempfile.TemporaryDirectory(dir=self.dir) as tmp:
            self.requests += 1
            (Path(tmp) / "q.tsq").write_bytes(query)
            _openssl("ts", "-reply", "-config", str(self.dir / "ts.cnf"), "-queryfile", "q.tsq",
                     "-out", "r.tsr", cwd=Path(tmp))
            return (Path(tmp) / "r.tsr").read_bytes()


@pytest.fixture(scope="module")
def local_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalTsa, str]]:
    tsa = LocalTsa(tmp_path_factory.mktemp("tsa"))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == "application/timestamp-query"
            body = tsa.reply(query)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tsa, f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()


def test_heads_are_timestamped_and_the_token_verifies(local_tsa: tuple[LocalTsa, str],
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    tsa, url = local_tsa
    home = tmp_path / "home"
    monkeypatch.setenv("TRAWL_EVIDENCE_TSA_URL", url)
    monkeypatch.setenv("TRAWL_EVIDENCE_TSA_CA", str(tsa.dir / "ca.crt"))
    before = tsa.requests
    run_id = "shop-20261123T100000Z-0001"
    writer = writer_for(home, run_id, anchor=anchor_for(home, home / "runs" / run_id))
    exchange(writer, "http://shop.example/p/1", b"<p>price $12.00</p>")
    writer.close()
    run = writer.run_dir
    assert tsa.requests - before == 2  # the open head and the closed one
    assert sorted(p.name for p in (run / "anchors").glob("*.tsr")) == ["0000.tsr", "0001.tsr"]
    head = json.loads((run / "manifest.head").read_text())
    token = (run / TOKEN_FILE).read_bytes()
    assert token == (run / "anchors" / "0001.tsr").read_bytes()

    report = verify_run(run)
    assert report.ok, report.problems
    assert report.checks["timestamp"].startswith("ok (") and "CA checked" in report.checks["timestamp"]

    # openssl itself accepts the stored token for the head's statement digest
    digest = statement_digest(head).hex()
    check = subprocess.run([str(OPENSSL), "ts", "-verify", "-digest", digest, "-in", str(run / TOKEN_FILE),
                            "-token_in", "-CAfile", str(tsa.dir / "ca.crt"), "-untrusted", str(tsa.dir / "tsa.crt")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "Verification: OK" in check.stdout, check.stdout + check.stderr

    # the token is bound to this head: an earlier head's token does not pass for it
    (run / TOKEN_FILE).write_bytes((run / "anchors" / "0000.tsr").read_bytes())
    report = verify_run(run)
    assert any(p.startswith("timestamp: manifest.head.tsr: token timestamps another digest")
               for p in report.problems), report.problems

    # a flipped byte inside the token's signature fails the TSA signature check
    broken = bytearray(token)
    broken[-10] ^= 0x01
    (run / TOKEN_FILE).write_bytes(bytes(broken))
    report = verify_run(run)
    assert any(p.startswith("timestamp: ") for p in report.problems), report.problems


def test_token_from_an_untrusted_tsa_and_wrong_nonce_are_refused(local_tsa: tuple[LocalTsa, str],
                                                                  tmp_path: Path) -> None:
    tsa, url = local_tsa
    digest = hashlib.sha256(b"head statement").digest()
    token = request_timestamp(url, digest, ca_certs=[tsa.dir / "ca.crt"])
    assert verify_token(token, digest, [tsa.dir / "ca.crt"]).tsa_subject == "CN=trawl test tsa"
    _make_ca(tmp_path, "other")
    with pytest.raises(TimestampError, match="not issued by a trusted CA"):
        verify_token(token, digest, [tmp_path / "other.crt"])
    with pytest.raises(TimestampError, match="nonce"):
        verify_token(token, digest, [tsa.dir / "ca.crt"], nonce=1)
    with pytest.raises(TimestampError, match="another digest"):
        verify_token(token, hashlib.sha256(b"forged").digest())
