import json

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from nibog import create_app


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_503_when_redis_is_down(app, client, monkeypatch):
    import redis

    monkeypatch.setitem(
        app.extensions, "nibog_redis", redis.Redis.from_url("redis://127.0.0.1:1/0")
    )
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["redis"].startswith("error")


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32


def _echo_app(app):
    """An app with one validated endpoint, to exercise the shared error machinery."""
    echo_app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
        }
    )

    class EchoSchema(Schema):
        name = fields.String(required=True, validate=validate.Length(min=2))
        age = fields.Integer(required=True)

    blp = Blueprint("echo", __name__, url_prefix="/api/echo")

    @blp.post("")
    @blp.arguments(EchoSchema)
    def echo(data):
        return data

    @blp.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    echo_app.extensions["nibog_api"].register_blueprint(blp)
    return echo_app


def test_error_shapes(app):
    c = _echo_app(app).test_client()

    bad_json = c.post("/api/echo", data="{not json", content_type="application/json")
    assert bad_json.status_code == 400
    assert bad_json.get_json()["error"]["code"] == "bad_request"

    not_object = c.post("/api/echo", json=[1, 2])
    assert not_object.status_code == 400
    assert not_object.get_json()["error"]["code"] == "bad_request"

    invalid = c.post("/api/echo", json={"name": "x"})
    assert invalid.status_code == 422
    body = invalid.get_json()["error"]
    assert body["code"] == "validation_error"
    assert set(body["details"]) == {"name", "age"}
    assert isinstance(body["details"]["age"], list)

    assert c.post("/api/echo", json={"name": "Asha", "age": 3}).status_code == 200

    missing = c.get("/api/no-such-thing")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"

    wrong_method = c.delete("/api/echo")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"]["code"] == "method_not_allowed"

    huge = c.post("/api/echo", data=json.dumps({"name": "a" * (2 * 1024 * 1024), "age": 1}),
                  content_type="application/json")
    assert huge.status_code == 413
    assert huge.get_json()["error"]["code"] == "payload_too_large"

    webhook_missing = c.post("/webhooks/nothing")
    assert webhook_missing.status_code == 404
    assert webhook_missing.get_json()["error"]["code"] == "not_found"


def test_500_hides_internals(app):
    echo_app = _echo_app(app)
    echo_app.config["PROPAGATE_EXCEPTIONS"] = False
    resp = echo_app.test_client().get("/api/echo/boom")
    assert resp.status_code == 500
    assert resp.get_json()["error"] == {
        "code": "internal_error",
        "message": "Something went wrong on our side",
        "details": {},
    }
    assert "secret" not in resp.get_data(as_text=True)


def test_html_pages_get_html_errors(client):
    resp = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"


def test_openapi_document_is_served(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert spec.get_json()["openapi"].startswith("3.")
    assert spec.get_json()["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_openapi_document_describes_errors_and_tokens_as_they_are(client):
    """Clients generated from the document model errors as the contract's envelope and send
    the bearer token wherever the API asks for one."""
    spec = client.get("/api/openapi.json").get_json()
    default = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/json"]
    envelope = spec["components"]["schemas"][default["schema"]["$ref"].rsplit("/", 1)[1]]
    assert list(envelope["properties"]) == ["error"]
    body = spec["components"]["schemas"]["ErrorBody"]["properties"]
    assert set(body) == {"code", "message", "details"}
    paths = spec["paths"]
    assert paths["/api/bookings"]["post"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/admin/bookings"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in paths["/api/events"]["get"]
    assert "security" not in paths["/api/bookings/guest"]["post"]
    # Optional sign-in (a guest may pay too): a token, or none.
    assert paths["/api/payments/create"]["post"]["security"] == [{"bearerAuth": []}, {}]
    assert "Idempotency-Key" in [p["name"] for p in paths["/api/payments/create"]["post"]["parameters"]]
