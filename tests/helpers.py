"""Small helpers shared by tests."""

from __future__ import annotations

from flask_jwt_extended import create_access_token


def auth_headers(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token(identity=user)}"}


def error_code(response) -> str:
    return response.get_json()["error"]["code"]
