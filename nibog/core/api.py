"""flask-smorest Api whose errors use the contract's JSON shape."""

from flask_smorest import Api as SmorestApi
from marshmallow import Schema, fields

from nibog.core.errors import AppError, http_exception_to_response, wants_json


class ErrorBody(Schema):
    code = fields.String(metadata={"description": "machine-readable, e.g. slot_full"})
    message = fields.String(metadata={"description": "for people"})
    details = fields.Dict(metadata={"description": "field -> messages, or the error's data"})


class ErrorEnvelope(Schema):
    """Every error answer: ``{"error": {"code", "message", "details"}}`` (the contract)."""

    error = fields.Nested(ErrorBody)


class Api(SmorestApi):
    # The documented error responses take the contract's shape, not flask-smorest's own.
    ERROR_SCHEMA = ErrorEnvelope

    def handle_http_exception(self, error):
        if wants_json():
            return http_exception_to_response(error)
        from flask import render_template

        return render_template(
            "errors/error.html", status=error.code, message=error.description
        ), error.code


def require_json_bodies(app) -> None:
    """An API body that is not JSON is 400 (the contract), not a 422 listing every field as
    missing - a form post to a JSON endpoint says what is wrong in one line."""
    from flask import request


    @app.before_request
    def _json_bodies_only():
        if (
            request.method in ("POST", "PUT", "PATCH")
            and request.path.startswith("/api/")
            and request.content_length
            and not request.is_json
        ):
            raise AppError(
                "bad_request", "The body must be JSON (Content-Type: application/json)", 400
            )
