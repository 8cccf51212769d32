"""Storage: a local folder, or S3-compatible through boto3 - tested against moto's S3 server
running on 127.0.0.1 (real HTTP, real SigV4, real multipart and presigned URLs), and against a
throttling fake server for the retries."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests

from nibog.core import boundary
from nibog.core.timeutil import today_ist
from nibog.documents.storage import LocalStorage, S3Storage, StorageError, get_storage
from tests.documents.helpers import make_booking
from tests.factories import UserFactory
from tests.helpers import auth_headers

BUCKET = "nibog-files"


def test_local_storage_round_trip_and_refuses_escaping_keys(tmp_path):
    store = LocalStorage(tmp_path)
    store.put("reports/1.csv", b"a,b\n")
    assert store.exists("reports/1.csv") and store.get("reports/1.csv") == b"a,b\n"
    assert store.url("reports/1.csv", filename="1.csv", content_type="text/csv") is None
    store.delete("reports/1.csv")
    assert not store.exists("reports/1.csv")
    with pytest.raises(StorageError):
        store.get("reports/1.csv")
    for bad in ("../etc/passwd", "/abs", "a//b", ""):
        with pytest.raises(StorageError):
            store.put(bad, b"x")


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(app, monkeypatch, s3_endpoint):
    for key, value in {
        "STORAGE_BACKEND": "s3",
        "STORAGE_S3_ENDPOINT": s3_endpoint,
        "STORAGE_S3_BUCKET": BUCKET,
        "STORAGE_S3_REGION": "ap-south-1",
        "STORAGE_S3_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "STORAGE_S3_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "STORAGE_S3_MULTIPART_MB": 5,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    admin = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="ap-south-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x",
    )
    try:
        admin.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
        )
    except admin.exceptions.BucketAlreadyOwnedByYou:
        pass
    yield admin


def test_s3_round_trip(s3):
    store = get_storage()
    assert isinstance(store, S3Storage)
    assert get_storage() is store  # one client per process and settings
    store.put("certificates/1/a.pdf", b"%PDF-1.4 one", "application/pdf")
    assert store.get("certificates/1/a.pdf") == b"%PDF-1.4 one"
    assert store.exists("certificates/1/a.pdf") and not store.exists("missing.pdf")
    head = s3.head_object(Bucket=BUCKET, Key="certificates/1/a.pdf")
    assert head["ContentType"] == "application/pdf"
    with pytest.raises(StorageError, match="no such file"):
        store.get("missing.pdf")
    store.delete("certificates/1/a.pdf")
    assert not store.exists("certificates/1/a.pdf")
    with pytest.raises(StorageError):
        store.put("../escape", b"x")


def test_large_exports_go_up_in_parts(s3):
    data = bytes(range(256)) * (12 * 1024 * 1024 // 256)  # 12 MiB, parts of 5 MiB
    get_storage().put("reports/big.csv", data, "text/csv")
    etag = s3.head_object(Bucket=BUCKET, Key="reports/big.csv")["ETag"].strip('"')
    assert etag.endswith("-3")  # S3's multipart ETag: md5-of-parts "-" number of parts
    assert get_storage().get("reports/big.csv") == data
    get_storage().put("reports/small.csv", b"a,b\n", "text/csv")
    assert "-" not in s3.head_object(Bucket=BUCKET, Key="reports/small.csv")["ETag"]


def test_presigned_url_names_the_file_and_expires(s3, app, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_URL_EXPIRES_SECONDS", 120)
    store = get_storage()
    store.put("certificates/2/b.pdf", b"%PDF-1.4 two", "application/pdf")
    url = store.url("certificates/2/b.pdf", filename="certificate-NB1-आरव.pdf",
                    content_type="application/pdf")
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == ["120"]
    assert query["X-Amz-Credential"][0].startswith("AKIAIOSFODNN7EXAMPLE/")
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == b"%PDF-1.4 two"
    assert fetched.headers["Content-Type"] == "application/pdf"
    assert fetched.headers["Content-Disposition"] == (
        "inline; filename=\"certificate-NB1----.pdf\"; "
        "filename*=UTF-8''certificate-NB1-%E0%A4%86%E0%A4%B0%E0%A4%B5.pdf"
    )
    # A tampered address is refused by the store itself.
    forged = url.replace("certificates/2/b.pdf", "certificates/2/c.pdf")
    assert requests.get(forged, timeout=10).status_code == 403


TEMP_KEY = "ASIAIOSFODNN7TEMPKEY"
TEMP_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCmFwLXNvdXRoLTEiRjBEAiAtemporary+token=="


def _sent_headers(store) -> list[dict]:
    """The headers of every request the store's client puts on the wire (botocore's own hook,
    after signing - nothing is replaced)."""
    sent: list[dict] = []
    store.client.meta.events.register(
        "before-send.s3", lambda request, **_: sent.append(dict(request.headers)))
    return sent


def _round_trip_with_temporary_credentials(store) -> None:
    sent = _sent_headers(store)
    store.put("certificates/9/t.pdf", b"%PDF-1.4 temp", "application/pdf")
    assert store.get("certificates/9/t.pdf") == b"%PDF-1.4 temp"
    assert sent and all(h["X-Amz-Security-Token"] == TEMP_TOKEN.encode() for h in sent)
    assert all(f"Credential={TEMP_KEY}/".encode() in h["Authorization"] for h in sent)
    url = store.url("certificates/9/t.pdf", filename="t.pdf", content_type="application/pdf")
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Security-Token"] == [TEMP_TOKEN]
    assert query["X-Amz-Credential"][0].startswith(f"{TEMP_KEY}/")
    assert requests.get(url, timeout=10).content == b"%PDF-1.4 temp"


def test_a_session_token_setting_goes_with_every_request(s3, app, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_S3_ACCESS_KEY_ID", TEMP_KEY)
    monkeypatch.setitem(app.config, "STORAGE_S3_SESSION_TOKEN", TEMP_TOKEN)
    _round_trip_with_temporary_credentials(get_storage())


def test_empty_key_settings_use_the_credential_chain_with_its_token(s3, app, monkeypatch,
                                                                    tmp_path):
    # What an IAM role hands a container: temporary keys in the environment, none in settings.
    monkeypatch.setitem(app.config, "STORAGE_S3_ACCESS_KEY_ID", "")
    monkeypatch.setitem(app.config, "STORAGE_S3_SECRET_ACCESS_KEY", "")
    monkeypatch.setitem(app.config, "STORAGE_S3_SESSION_TOKEN", "")
    monkeypatch.setitem(app.extensions, "nibog_s3_storage", {})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEMP_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "temporary/secret/EXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", TEMP_TOKEN)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    _round_trip_with_temporary_credentials(get_storage())


def test_ticket_and_certificate_downloads_redirect_to_the_store(s3, client):
    booking, info = make_booking(status="completed", event_date=today_ist() - timedelta(days=1))
    info["event"].status = "completed"
    boundary.commit()
    headers = auth_headers(info["user"])

    ticket = client.get(f"/api/bookings/{booking.id}/ticket", headers=headers)
    assert ticket.status_code == 302
    assert ticket.headers["Cache-Control"] == "private, no-store"
    pdf = requests.get(ticket.headers["Location"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert booking.booking_number in pdf.headers["Content-Disposition"]

    cert = client.get(f"/api/bookings/{booking.id}/certificate", headers=headers)
    assert cert.status_code == 302
    pdf = requests.get(cert.headers["Location"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="certificates/")["Contents"]]
    assert any(k.startswith(f"certificates/{info['event'].id}/{booking.id}-") for k in keys)
    # Asked again: the stored file is reused (no new object), the answer is again a redirect.
    again = client.get(f"/api/bookings/{booking.id}/certificate", headers=headers)
    assert again.status_code == 302
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET,
                                                  Prefix="certificates/")["Contents"]] == keys
    # Someone else's booking: no address is handed out.
    stranger = client.get(f"/api/bookings/{booking.id}/certificate",
                          headers=auth_headers(UserFactory()))
    assert stranger.status_code == 404


@pytest.mark.commits  # the report job reads on a connection of its own
def test_report_download_redirects_as_an_attachment(s3, client):
    make_booking()
    headers = auth_headers(UserFactory(role="admin"))
    resp = client.post("/api/admin/reports", json={"kind": "bookings", "format": "csv",
                                                   "filters": {}}, headers=headers)
    report_id = resp.get_json()["id"]
    resp = client.get(f"/api/admin/reports/{report_id}/download", headers=headers)
    assert resp.status_code == 302
    csv_file = requests.get(resp.headers["Location"], timeout=10)
    assert csv_file.status_code == 200
    assert csv_file.headers["Content-Disposition"].startswith("attachment;")
    assert b"booking_number" in csv_file.content.lower().replace(b" ", b"_")


class _Throttling(BaseHTTPRequestHandler):
    hits = 0

    def _slow_down(self):
        type(self).hits += 1
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                b"<Message>Please reduce your request rate.</Message></Error>")
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's names
        self._slow_down()

    def log_message(self, *args):
        pass


def test_throttling_is_retried_then_reported(app, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = S3Storage(bucket=BUCKET, endpoint=f"http://127.0.0.1:{server.server_port}",
                          access_key="AK", secret_key="SK", max_attempts=3)
        with pytest.raises(StorageError, match="SlowDown"):
            store.get("reports/1.csv")
        assert _Throttling.hits == 3  # the first try and two retries, with backoff
    finally:
        server.shutdown()
