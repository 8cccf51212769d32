"""NIBOG platform: the JSON API, the parent site and the admin dashboard on one core."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from nibog.config import Config, config_from_env


def create_app(config: type[Config] | dict | None = None) -> Flask:
    # lazy: importing any nibog module runs this package first; the app loads in create_app()
    from nibog import blueprints, subscriptions
    from nibog import extensions as ext
    from nibog.core import boundary, jobs, outbox  # noqa: F401 - outbox: the after-commit hand-over
    from nibog.core.api import Api, require_json_bodies
    from nibog.core.auth import register_jwt_callbacks
    from nibog.core.errors import register_error_handlers
    from nibog.core.i18n import init_i18n
    from nibog.core.logging import configure_logging
    from nibog.core.prepared import install as prepare_statements
    from nibog.core.security_headers import install_security_headers
    from nibog.core.sessions import PageSessionInterface

    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    base = config_from_env()
    overrides: dict = {}
    if isinstance(config, dict):
        overrides = config
    elif config is not None:
        base = config
    app.config.from_object(base)
    app.config.update(overrides)
    base.validate(app.config)

    _configure_database(app)
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    app.config["RATELIMIT_ENABLED"] = app.config.get("RATELIMIT_ENABLED", True)

    proxies = int(app.config.get("TRUSTED_PROXY_COUNT", 0))
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    configure_logging(app)
    app.session_interface = PageSessionInterface()
    ext.db.init_app(app)
    with app.app_context():
        prepare_statements(ext.db.engine, app.config["DB_PREPARED_STATEMENTS"])
    ext.migrate.init_app(app, ext.db, directory=str(_root() / "migrations"), render_as_batch=True)
    ext.login_manager.init_app(app)
    ext.jwt.init_app(app)
    ext.csrf.init_app(app)
    ext.limiter.init_app(app)
    ext.init_redis(app)
    init_i18n(app)
    # lazy: importing any nibog module runs this package first; the app loads in create_app()
    from nibog.web.setup import init_web

    # Registered first, so it runs last (Flask runs after-request hooks in reverse): the
    # site's own page headers (nibog/web/setup.py) are set by then and kept.
    install_security_headers(app)
    init_web(app)
    # One Api per app: apispec keeps per-document state, and tests build several apps.
    api = Api(app)
    app.extensions["nibog_api"] = api
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )

    # lazy: importing any nibog module runs this package first; the app loads in create_app()
    import nibog.models  # noqa: F401  - the whole schema, for Alembic and relationships

    register_error_handlers(app)
    require_json_bodies(app)
    register_jwt_callbacks(app)
    _register_login_loader()
    subscriptions.connect()
    jobs.use_app_factory(create_app)
    for blueprint in blueprints.API_BLUEPRINTS:
        # Tokens and signatures authenticate these, never the cookie: no CSRF token.
        ext.csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    for blueprint in blueprints.PAGE_BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config.get("METRICS_ENABLED", True):
        app.register_blueprint(blueprints.METRICS_BLUEPRINT)
    _document_security(app, api)
    # One transaction per request and per command (nibog.core.boundary); jobs get theirs from
    # the job runner.
    boundary.install_request_boundary(app)
    _install_full_slot_gate(app)
    # Last: the outermost WSGI layer, so it times the gate's answers too.
    # lazy: importing any nibog module runs this package first; the app loads in create_app()
    from nibog.core.observability import init_observability

    init_observability(app)

    # lazy: importing any nibog module runs this package first; the app loads in create_app()
    from nibog.cli import register_cli

    register_cli(app)
    boundary.install_command_boundary(app.cli)
    return app


def _root():
    # lazy: importing any nibog module runs this package first; the app loads in create_app()
    from nibog.config import ROOT

    return ROOT


def _configure_database(app: Flask) -> None:
    # lazy: importing any nibog module runs this package first; the app loads in create_app()
    from nibog.core import locking

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        (_root() / "instance").mkdir(exist_ok=True)
    else:
        options.setdefault("pool_size", app.config["DB_POOL_SIZE"])
        options.setdefault("max_overflow", app.config["DB_MAX_OVERFLOW"])
        options.setdefault("pool_pre_ping", app.config["DB_POOL_PRE_PING"])
        options.setdefault("pool_recycle", 1800)
        connect_args = dict(options.get("connect_args") or {})
        for key, value in locking.connect_options(app.config["DB_LOCK_TIMEOUT_MS"]).items():
            connect_args.setdefault(key, value)
        options["connect_args"] = connect_args
    if app.config.get("ENV_NAME") == "production":
        # A failed statement's values (addresses, phone numbers) stay out of the error logs.
        options.setdefault("hide_parameters", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _document_security(app: Flask, api) -> None:
    """Mark in the OpenAPI document every operation behind ``auth_required`` (the decorator
    tags its view): generated clients then send the bearer token. An optional one accepts
    anonymous calls too."""
    from flask_smorest.spec.plugins import FlaskPlugin

    paths = api.spec._paths  # apispec keeps no public accessor for registered paths
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        operations = paths.get(FlaskPlugin.flaskpath2openapi(rule.rule))
        if view is None or not operations:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            handler = getattr(getattr(view, "view_class", None), method.lower(), view)
            auth = getattr(handler, "__nibog_auth__", None)
            operation = operations.get(method.lower())
            if auth is None or operation is None:
                continue
            _roles, optional = auth
            operation.setdefault("security", [{"bearerAuth": []}] + ([{}] if optional else []))


def _register_login_loader() -> None:
    # lazy: importing any nibog module runs this package first; the app loads in create_app()
    from nibog.accounts.models import User
    from nibog.auth import page_sessions
    from nibog.extensions import db, login_manager

    page_sessions.install()

    @login_manager.user_loader
    def load_user(session_id: str):
        # "<id>:<token version>" (User.get_id): an older version is a signed-out browser.
        user_id, _, version = session_id.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.is_active or user.token_version != int(version):
            return None
        if page_sessions.is_revoked():  # signed out, on this instance or another
            return None
        return user


def _install_full_slot_gate(app: Flask) -> None:
    # Outermost, so a burst's "slot full" answers skip the framework (nibog.booking.fastpath.gate).
    # lazy: importing any nibog module runs this package first; the app loads in create_app()
    from nibog.booking.fastpath.gate import install_full_slot_gate

    install_full_slot_gate(app)
