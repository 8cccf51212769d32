"""Where generated files live (tickets, certificates, reports): a four-method interface.

``STORAGE_BACKEND=local`` (default) keeps files under ``STORAGE_LOCAL_PATH``.
``STORAGE_BACKEND=s3`` talks to any S3-compatible service (AWS S3, MinIO, Cloudflare R2, ...)
with path-style URLs and AWS Signature Version 4, implemented here over ``requests`` so no SDK is
needed: only PUT, GET, HEAD and DELETE of single objects are used. Settings:
``STORAGE_S3_ENDPOINT`` (e.g. ``https://s3.ap-south-1.amazonaws.com``), ``STORAGE_S3_BUCKET``,
``STORAGE_S3_REGION``, ``STORAGE_S3_ACCESS_KEY_ID``, ``STORAGE_S3_SECRET_ACCESS_KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from flask import current_app


class StorageError(RuntimeError):
    pass


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a PDF.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"no such file {key!r}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_headers(
    *,
    method: str,
    host: str,
    path: str,
    region: str,
    access_key: str,
    secret_key: str,
    payload_hash: str,
    headers: dict[str, str] | None = None,
    now: datetime | None = None,
    service: str = "s3",
) -> dict[str, str]:
    """Headers (incl. Authorization) for an AWS SigV4-signed request without a query string."""
    now = now or datetime.now(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    all_headers = {k.lower(): v.strip() for k, v in (headers or {}).items()}
    all_headers.update({"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date})
    signed = sorted(all_headers)
    canonical_headers = "".join(f"{name}:{all_headers[name]}\n" for name in signed)
    signed_headers = ";".join(signed)
    canonical_request = "\n".join(
        [method, quote(path, safe="/~"), "", canonical_headers, signed_headers, payload_hash]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    out = {k: v for k, v in all_headers.items() if k != "host"}
    out["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return out


class S3Storage:
    def __init__(self, *, endpoint: str, bucket: str, region: str, access_key: str, secret_key: str):
        if not (endpoint and bucket and access_key and secret_key):
            raise StorageError("S3 storage needs STORAGE_S3_ENDPOINT, _BUCKET and credentials")
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self.region = region or "us-east-1"
        self.access_key = access_key
        self.secret_key = secret_key
        self.host = self.endpoint.split("://", 1)[-1]

    def _request(self, method: str, key: str, data: bytes = b"", headers: dict | None = None):
        import requests

        path = f"/{self.bucket}/{_check_key(key)}"
        signed = sigv4_headers(
            method=method,
            host=self.host,
            path=path,
            region=self.region,
            access_key=self.access_key,
            secret_key=self.secret_key,
            payload_hash=hashlib.sha256(data).hexdigest(),
            headers=headers,
        )
        url = self.endpoint + quote(path, safe="/~")
        return requests.request(method, url, data=data or None, headers=signed, timeout=30)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        resp = self._request("PUT", key, data, {"content-type": content_type})
        if resp.status_code >= 300:
            raise StorageError(f"S3 PUT {key} failed: {resp.status_code}")
        return key

    def get(self, key: str) -> bytes:
        resp = self._request("GET", key)
        if resp.status_code == 404:
            raise StorageError(f"no such file {key!r}")
        if resp.status_code >= 300:
            raise StorageError(f"S3 GET {key} failed: {resp.status_code}")
        return resp.content

    def exists(self, key: str) -> bool:
        resp = self._request("HEAD", key)
        if resp.status_code == 404:
            return False
        if resp.status_code >= 300:
            raise StorageError(f"S3 HEAD {key} failed: {resp.status_code}")
        return True

    def delete(self, key: str) -> None:
        resp = self._request("DELETE", key)
        if resp.status_code >= 300 and resp.status_code != 404:
            raise StorageError(f"S3 DELETE {key} failed: {resp.status_code}")


def get_storage() -> Storage:
    cfg = current_app.config
    backend = cfg.get("STORAGE_BACKEND", "local")
    if backend == "s3":
        return S3Storage(
            endpoint=cfg.get("STORAGE_S3_ENDPOINT", ""),
            bucket=cfg.get("STORAGE_S3_BUCKET", ""),
            region=cfg.get("STORAGE_S3_REGION", "us-east-1"),
            access_key=cfg.get("STORAGE_S3_ACCESS_KEY_ID", ""),
            secret_key=cfg.get("STORAGE_S3_SECRET_ACCESS_KEY", ""),
        )
    if backend != "local":
        raise StorageError(f"unknown STORAGE_BACKEND {backend!r}")
    return LocalStorage(cfg["STORAGE_LOCAL_PATH"])
