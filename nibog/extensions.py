"""Extension objects, created unbound; ``create_app`` binds them."""

from __future__ import annotations

import redis as redis_lib
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from nibog.core.client_ip import client_ip
from nibog.core.jwt_manager import JWTManager

# Stable constraint names so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
jwt = JWTManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=client_ip, default_limits=[])


def init_redis(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if not url:
        app.extensions["nibog_redis"] = None
        return
    pool = redis_lib.BlockingConnectionPool.from_url(
        url, max_connections=app.config["REDIS_MAX_CONNECTIONS"],
        timeout=app.config["REDIS_POOL_TIMEOUT"], socket_timeout=5, socket_connect_timeout=2,
    )
    app.extensions["nibog_redis"] = redis_lib.Redis(connection_pool=pool)


def get_redis() -> redis_lib.Redis | None:
    """The shared Redis client, or None in the embedded default (no REDIS_URL)."""
    return current_app.extensions.get("nibog_redis")
