"""The storage interface: local folder, and S3-compatible over signed HTTP (SigV4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses

from nibog.documents.storage import (
    LocalStorage,
    S3Storage,
    StorageError,
    get_storage,
    sigv4_headers,
)


def test_local_storage_round_trip_and_refuses_escaping_keys(tmp_path):
    store = LocalStorage(tmp_path)
    store.put("reports/1.csv", b"a,b\n")
    assert store.exists("reports/1.csv") and store.get("reports/1.csv") == b"a,b\n"
    store.delete("reports/1.csv")
    assert not store.exists("reports/1.csv")
    with pytest.raises(StorageError):
        store.get("reports/1.csv")
    for bad in ("../etc/passwd", "/abs", "a//b", ""):
        with pytest.raises(StorageError):
            store.put(bad, b"x")


def test_sigv4_matches_the_aws_documented_example():
    # "GET Object" example of the AWS S3 SigV4 documentation.
    headers = sigv4_headers(
        method="GET", host="examplebucket.s3.amazonaws.com", path="/test.txt",
        region="us-east-1", access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        payload_hash="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        headers={"Range": "bytes=0-9"}, now=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["Authorization"].endswith(
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


@responses.activate
def test_s3_storage_puts_and_gets_signed_objects(app, monkeypatch):
    for key, value in {"STORAGE_BACKEND": "s3", "STORAGE_S3_ENDPOINT": "https://minio.local:9000",
                       "STORAGE_S3_BUCKET": "nibog", "STORAGE_S3_REGION": "ap-south-1",
                       "STORAGE_S3_ACCESS_KEY_ID": "AK", "STORAGE_S3_SECRET_ACCESS_KEY": "SK"}.items():
        monkeypatch.setitem(app.config, key, value)
    store = get_storage()
    assert isinstance(store, S3Storage)
    url = "https://minio.local:9000/nibog/certificates/1/a.pdf"
    responses.add(responses.PUT, url, status=200)
    responses.add(responses.GET, url, body=b"%PDF-1.4", status=200)
    responses.add(responses.HEAD, "https://minio.local:9000/nibog/missing.pdf", status=404)

    store.put("certificates/1/a.pdf", b"%PDF-1.4", "application/pdf")
    assert store.get("certificates/1/a.pdf") == b"%PDF-1.4"
    assert store.exists("missing.pdf") is False
    put = responses.calls[0].request
    assert put.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AK/")
    assert "/ap-south-1/s3/aws4_request" in put.headers["Authorization"]
    assert put.headers["content-type"] == "application/pdf"
