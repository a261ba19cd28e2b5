"""Building evidence runs with the real writer (no crawl) for the evidence tests."""
from __future__ import annotations

import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders

from crawler.evidence.anchor import AnchorConfig, HeadAnchor
from crawler.evidence.writer import EvidenceWriter


def anchor_for(home: Path, run_dir: Path, **config: object) -> HeadAnchor:
    base = AnchorConfig.from_env(home)
    return HeadAnchor(AnchorConfig(**{**base.__dict__, **config}), run_dir, run_dir.name)


def writer_for(home: Path, run_id: str, **kwargs: object) -> EvidenceWriter:
    run_dir = home / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    anchor = kwargs.pop("anchor", None) or anchor_for(home, run_dir)
    return EvidenceWriter(run_dir, run_id, sync_interval=0, anchor=anchor, **kwargs)  # type: ignore[arg-type]


def exchange(writer: EvidenceWriter, url: str, body: bytes, run_id: str | None = None) -> None:
    """A GET and its 200 response, as the middleware writes them (run header included)."""
    build = writer.writer.create_warc_record
    headers = {"WARC-Trawl-Run": run_id or writer.run_id}
    request = build(url, "request", payload=io.BytesIO(b""), length=0, warc_headers_dict=dict(headers),
                    http_headers=StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")],
                                                  protocol="HTTP/1.1", is_http_request=True))
    response = build(url, "response", payload=io.BytesIO(body), length=len(body),
                     warc_headers_dict=dict(headers),
                     http_headers=StatusAndHeaders("200 OK", [("Content-Length", str(len(body)))],
                                                   protocol="HTTP/1.1"))
    writer.write_exchange(url, request, response, [])


def make_run(home: Path, run_id: str, pages: int = 3) -> Path:
    writer = writer_for(home, run_id)
    for i in range(pages):
        exchange(writer, f"http://shop.example/p/{i}", f"<h1>page {i}</h1><p>price $1{i}.00</p>".encode())
    writer.close()
    return writer.run_dir
