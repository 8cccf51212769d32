"""Where generated files live (tickets, certificates, reports): a small interface.

``STORAGE_BACKEND=local`` (default) keeps files under ``STORAGE_LOCAL_PATH`` and the web workers
send them. ``STORAGE_BACKEND=s3`` keeps them in any S3-compatible store (AWS S3, MinIO, R2, ...)
through boto3: its credential chain (static keys, or the temporary ones of an IAM role / web
identity / instance profile when no key is set), retries with backoff on throttling and 5xx
(``standard`` retry mode), multipart uploads above ``STORAGE_S3_MULTIPART_MB``; and a download is
a short-lived presigned URL the client is redirected to, so no worker streams the file.
Settings: ``STORAGE_S3_ENDPOINT`` (empty for AWS itself), ``STORAGE_S3_BUCKET``,
``STORAGE_S3_REGION``, ``STORAGE_S3_ACCESS_KEY_ID``, ``STORAGE_S3_SECRET_ACCESS_KEY``,
``STORAGE_S3_SESSION_TOKEN``, ``STORAGE_S3_ADDRESSING_STYLE``, ``STORAGE_S3_MAX_ATTEMPTS``,
``STORAGE_URL_EXPIRES_SECONDS``.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from flask import current_app


def content_disposition(filename: str, *, inline: bool = True) -> str:
    # Header values are Latin-1: a child's name in Devanagari goes in the RFC 6266 UTF-8 form,
    # with a plain-ASCII fallback for old clients (a raw one makes the server answer 500).
    plain = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in filename
    )
    disposition = f'{"inline" if inline else "attachment"}; filename="{plain}"'
    if plain != filename:
        disposition += f"; filename*=UTF-8''{quote(filename)}"
    return disposition



class StorageError(RuntimeError):
    pass


class Storage(Protocol):
    serves_urls: bool

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def put_file(self, key: str, fileobj, content_type: str = ...) -> str: ...

    def url(self, key: str, *, filename: str, content_type: str, inline: bool = True) -> str | None:
        """Where a client may fetch the file itself (short-lived), or None to send it."""


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    serves_urls = False
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

    def put_file(self, key: str, fileobj, content_type: str = "application/octet-stream") -> str:
        return self.put(key, fileobj.read(), content_type)

    def url(self, key: str, *, filename: str, content_type: str, inline: bool = True) -> None:
        return None  # no URL of its own: the web worker sends the file


class S3Storage:
    """S3-compatible storage through boto3 (one client per process: boto3 clients are
    thread-safe, and building one costs tens of milliseconds)."""

    serves_urls = True

    def __init__(
        self,
        *,
        bucket: str,
        region: str = "us-east-1",
        endpoint: str = "",
        access_key: str = "",
        secret_key: str = "",
        session_token: str = "",
        addressing_style: str = "",
        max_attempts: int = 5,
        multipart_bytes: int = 16 * 1024 * 1024,
        url_expires: int = 300,
    ):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        if not bucket:
            raise StorageError("S3 storage needs STORAGE_S3_BUCKET")
        if bool(access_key) != bool(secret_key):
            raise StorageError("S3 storage needs both STORAGE_S3_ACCESS_KEY_ID and _SECRET_")
        self.bucket = bucket
        self.url_expires = url_expires
        # A custom endpoint (MinIO, a local server) rarely has per-bucket host names.
        style = addressing_style or ("path" if endpoint else "virtual")
        self.client = boto3.session.Session().client(
            "s3",
            region_name=region or "us-east-1",
            endpoint_url=endpoint or None,
            # None: boto3's chain (env, web identity, instance profile) - temporary credentials.
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            aws_session_token=session_token or None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": style},
                retries={"mode": "standard", "total_max_attempts": max_attempts},
                connect_timeout=5,
                read_timeout=30,
            ),
        )
        self.transfer = TransferConfig(
            multipart_threshold=multipart_bytes, multipart_chunksize=multipart_bytes
        )

    def _error(self, exc, key: str, action: str) -> StorageError:
        return StorageError(f"S3 {action} {key} failed: {exc}")

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        return self.put_file(key, io.BytesIO(data), content_type)

    def put_file(self, key: str, fileobj, content_type: str = "application/octet-stream") -> str:
        """Upload from a file object; multipart (parts in parallel) above the threshold."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_fileobj(
                fileobj, self.bucket, _check_key(key),
                ExtraArgs={"ContentType": content_type}, Config=self.transfer,
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, key, "upload") from exc
        return key

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=_check_key(key))
            return obj["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StorageError(f"no such file {key!r}") from None
            raise self._error(exc, key, "GET") from exc
        except BotoCoreError as exc:
            raise self._error(exc, key, "GET") from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=_check_key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._error(exc, key, "HEAD") from exc
        except BotoCoreError as exc:
            raise self._error(exc, key, "HEAD") from exc

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=_check_key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, key, "DELETE") from exc

    def url(self, key: str, *, filename: str, content_type: str, inline: bool = True) -> str:
        """A presigned GET valid for ``url_expires`` seconds, naming the file for the browser.

        Signing is local (no request): the URL carries the disposition and type S3 answers with.
        """
        disposition = content_disposition(filename, inline=inline)
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": _check_key(key),
                "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type,
                "ResponseCacheControl": "private, no-store",
            },
            ExpiresIn=self.url_expires,
        )


_clients_lock = threading.Lock()


def get_storage() -> Storage:
    cfg = current_app.config
    backend = cfg.get("STORAGE_BACKEND", "local")
    if backend == "s3":
        settings = (
            cfg.get("STORAGE_S3_BUCKET", ""),
            cfg.get("STORAGE_S3_REGION", "us-east-1"),
            cfg.get("STORAGE_S3_ENDPOINT", ""),
            cfg.get("STORAGE_S3_ACCESS_KEY_ID", ""),
            cfg.get("STORAGE_S3_SECRET_ACCESS_KEY", ""),
            cfg.get("STORAGE_S3_SESSION_TOKEN", ""),
            cfg.get("STORAGE_S3_ADDRESSING_STYLE", ""),
            int(cfg.get("STORAGE_S3_MAX_ATTEMPTS", 5)),
            int(float(cfg.get("STORAGE_S3_MULTIPART_MB", 16)) * 1024 * 1024),
            int(cfg.get("STORAGE_URL_EXPIRES_SECONDS", 300)),
        )
        cache = current_app.extensions.setdefault("nibog_s3_storage", {})
        with _clients_lock:
            store = cache.get(settings)
            if store is None:
                store = cache[settings] = S3Storage(
                    bucket=settings[0], region=settings[1], endpoint=settings[2],
                    access_key=settings[3], secret_key=settings[4], session_token=settings[5],
                    addressing_style=settings[6], max_attempts=settings[7],
                    multipart_bytes=settings[8], url_expires=settings[9],
                )
        return store
    if backend != "local":
        raise StorageError(f"unknown STORAGE_BACKEND {backend!r}")
    return LocalStorage(cfg["STORAGE_LOCAL_PATH"])
