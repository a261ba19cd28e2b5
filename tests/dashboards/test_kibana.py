"""The Kibana saved objects (dashboards/kibana/*.ndjson) and `trawl dashboards install`.

Structure: every line a saved object, ids unique, every reference (and every panel's
panelRefName, every searchSource indexRefName) resolving inside the same file; every field
an object names exists in the Elasticsearch mapping the index code creates
(index.es_mappings.PROPERTIES, read at test time, not a copy).

Install: against a loopback HTTP receiver the request shape is checked (POST
.../api/saved_objects/_import?overwrite=true, kbn-xsrf, multipart `file` part holding the
file, Authorization from the environment and never printed).  That receiver is not Kibana:
whether Kibana accepts the objects is checked only against a real one, when
TRAWL_TEST_KIBANA_URL is set."""
from __future__ import annotations

import email.parser
import email.policy
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dashboards.kibana import DATA_VIEW_KINDS, load_objects, object_files, referenced_fields
from index.es_mappings import PROPERTIES


def mapped_fields(properties: dict[str, Any], parent: str = "") -> set[str]:
    """Every field path a mapping defines, multi-fields ("vendor.lc") and object children included."""
    found: set[str] = set()
    for name, spec in properties.items():
        path = f"{parent}{name}"
        found.add(path)
        found |= {f"{path}.{sub}" for sub in spec.get("fields", {})}
        if "properties" in spec:
            found |= mapped_fields(spec["properties"], path + ".")
    return found


def unknown_fields(objects: list[dict[str, Any]]) -> list[str]:
    """'object id: field' for every field an object names that its data view's index does not map."""
    views = {o["id"]: o for o in objects if o["type"] == "index-pattern"}
    problems = []
    for obj in objects:
        view_ids = [obj["id"]] if obj["type"] == "index-pattern" else \
            [r["id"] for r in obj.get("references", []) if r["type"] == "index-pattern"]
        for view_id in view_ids:
            assert view_id in views and view_id in DATA_VIEW_KINDS, (obj["id"], view_id)
            known = mapped_fields(PROPERTIES[DATA_VIEW_KINDS[view_id]])
            problems += [f"{obj['id']}: {field}" for field in sorted(referenced_fields(obj)) if field not in known]
    return problems


def all_objects() -> list[dict[str, Any]]:
    return [obj for path in object_files() for obj in load_objects(path)]


def test_every_object_is_well_formed_and_references_resolve_in_its_file() -> None:
    assert object_files(), "no dashboards/kibana/*.ndjson"
    for path in object_files():
        objects = load_objects(path)
        ids = {(o["type"], o["id"]) for o in objects}
        assert len(ids) == len(objects), f"{path.name}: duplicate ids"
        assert {"index-pattern", "visualization", "dashboard"} <= {t for t, _ in ids}
        for obj in objects:
            attributes = obj["attributes"]
            assert attributes["title"] and obj.get("coreMigrationVersion") == "7.17.0", obj["id"]
            names = {r["name"] for r in obj.get("references", [])}
            for ref in obj.get("references", []):
                assert (ref["type"], ref["id"]) in ids, f"{path.name}: {obj['id']} -> missing {ref}"
            source = json.loads(attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON", "{}"))
            if "indexRefName" in source:
                assert source["indexRefName"] in names, obj["id"]
            if obj["type"] == "visualization":
                state = json.loads(attributes["visState"])
                assert state["aggs"] and state["type"] in ("line", "histogram", "pie") and "indexRefName" in source
            if obj["type"] == "dashboard":
                panels = json.loads(attributes["panelsJSON"])
                assert len(panels) == len(names) >= 3 and {p["panelRefName"] for p in panels} == names
                assert len({p["panelIndex"] for p in panels}) == len(panels)


def test_every_field_named_exists_in_the_index_mappings() -> None:
    objects = all_objects()
    assert unknown_fields(objects) == []
    named = set().union(*(referenced_fields(o) for o in objects))
    assert {"usd_per_unit", "crawled_at", "substance", "site", "quantity_unit", "last_seen", "origin"} <= named


def test_the_field_check_catches_a_field_the_mapping_lacks() -> None:
    objects = all_objects()
    broken = json.loads(json.dumps(objects))
    vis = next(o for o in broken if o["id"] == "trawl-price-per-gram-trend")
    state = json.loads(vis["attributes"]["visState"])
    state["aggs"][0]["params"]["field"] = "usd_per_gram"  # a plausible name the mapping does not have
    vis["attributes"]["visState"] = json.dumps(state)
    assert unknown_fields(broken) == ["trawl-price-per-gram-trend: usd_per_gram"]


class Receiver:
    """A loopback HTTP server that records one import request and answers like Kibana would."""

    def __init__(self, answer: dict[str, Any], status: int = 200) -> None:
        self.requests: list[dict[str, Any]] = []
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    kibana = Receiver({"success": True, "successCount": 6, "errors": []})
    yield kibana
    kibana.stop()


def file_part(request: dict[str, Any]) -> tuple[str | None, bytes]:
    """(filename, content) of the `file` part of a multipart body, parsed by the stdlib's MIME parser."""
    head = f"Content-Type: {request['headers']['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request["body"])
    assert message.is_multipart()
    parts = list(message.iter_parts())
    assert [p.get_param("name", header="content-disposition") for p in parts] == ["file"]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return parts[0].get_filename(), payload


def test_install_sends_the_import_request_kibana_documents(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    from trawl.cli import cli

    secret = "c2VjcmV0LWlkOnNlY3JldC1rZXk="
    monkeypatch.setenv("TRAWL_KIBANA_API_KEY", secret)
    monkeypatch.delenv("TRAWL_INDEX_PREFIX", raising=False)
    result = CliRunner().invoke(cli, ["dashboards", "install", "--kibana-url", receiver.url + "/", "--space", "osint"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "6 object(s) imported into space osint" in result.output and secret not in result.output
    [request] = receiver.requests
    assert request["path"] == "/s/osint/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["kbn-xsrf"] == "true" and request["headers"]["authorization"] == f"ApiKey {secret}"
    filename, content = file_part(request)
    assert filename == "trawl-market-overview.ndjson"
    assert content == (object_files()[0]).read_bytes()


def test_install_points_data_views_at_another_prefix_and_uses_basic_auth(receiver: Receiver,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from trawl.cli import cli

    monkeypatch.delenv("TRAWL_KIBANA_API_KEY", raising=False)
    monkeypatch.setenv("TRAWL_KIBANA_USER", "elastic")
    monkeypatch.setenv("TRAWL_KIBANA_PASSWORD", "pa55-word")
    monkeypatch.setenv("TRAWL_INDEX_PREFIX", "osint")
    result = CliRunner().invoke(cli, ["dashboards", "install", "--kibana-url", receiver.url])
    assert result.exit_code == 0, (result.output, result.exception)
    [request] = receiver.requests
    assert request["path"] == "/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["authorization"] == "Basic ZWxhc3RpYzpwYTU1LXdvcmQ="  # elastic:pa55-word
    sent = [json.loads(line) for line in file_part(request)[1].decode().splitlines()]
    assert sorted(o["attributes"]["title"] for o in sent if o["type"] == "index-pattern") == \
        ["osint-listings", "osint-snapshots"]
    assert [o["id"] for o in sent] == [o["id"] for o in all_objects()]  # ids (and references) unchanged


def test_install_reports_kibana_refusals_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.errors import TrawlError
    from dashboards.kibana import KibanaAuth, install

    refusing = Receiver({"success": False, "successCount": 0, "errors": [
        {"type": "visualization", "id": "trawl-market-activity", "error": {"type": "missing_references"}}]})
    try:
        with pytest.raises(TrawlError, match="visualization/trawl-market-activity: missing_references"):
            install(refusing.url, auth=KibanaAuth(api_key="k"))
    finally:
        refusing.stop()
    with pytest.raises(TrawlError, match="--kibana-url"):
        install("ftp://example/")
    with pytest.raises(TrawlError, match="--space"):
        install("http://127.0.0.1:9/", space="Bad Space")
    assert "zz-key-zz" not in repr(KibanaAuth(api_key="zz-key-zz")) + repr(KibanaAuth(user="u", password="zz-key-zz"))


def test_install_into_a_real_kibana() -> None:
    url = os.environ.get("TRAWL_TEST_KIBANA_URL")
    if not url:
        pytest.skip("set TRAWL_TEST_KIBANA_URL (e.g. http://localhost:5601) to import into a real Kibana; "
                    "the loopback tests above check the request shape only")
    import urllib.request

    from dashboards.kibana import KibanaAuth, install

    auth = KibanaAuth(api_key=os.environ.get("TRAWL_KIBANA_API_KEY", ""),
                      user=os.environ.get("TRAWL_KIBANA_USER", ""), password=os.environ.get("TRAWL_KIBANA_PASSWORD", ""))
    results = install(url, auth=auth)
    assert results[0]["success_count"] == len(all_objects())
    request = urllib.request.Request(url.rstrip("/") + "/api/saved_objects/dashboard/trawl-market-overview",
                                     headers={"kbn-xsrf": "true", **({"Authorization": h} if (h := auth.header()) else {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["attributes"]["title"] == "trawl: market overview"


def test_objects_ship_with_the_package() -> None:
    assert all(Path(p).parent.name == "kibana" for p in object_files())
