"""JSON logs with the request id on every line, and the X-Request-ID header."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def request_id_for(incoming: str) -> str:
    """The caller's X-Request-ID when it is safe to log and echo, else a fresh one."""
    return incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex


# The id of the request that queued the job running now (``nibog.core.jobs.run_job``).
job_request_id: ContextVar[str | None] = ContextVar("nibog_job_request_id", default=None)


def current_request_id() -> str | None:
    """This request's id, or inside a job the id of the request that queued it."""
    if has_request_context():
        return g.get("request_id")
    return job_request_id.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id() or "-"
        return True


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    if app.config.get("LOG_JSON", True):
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"levelname": "level", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))

    @app.before_request
    def assign_request_id():
        g.request_id = request_id_for(request.headers.get("X-Request-ID", ""))

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response
