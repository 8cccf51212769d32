"""Command line: flask create-admin, flask seed-demo (and feature commands as they land)."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from nibog.accounts.models import User
from nibog.accounts.service import revoke_all_tokens
from nibog.auth.passwords import hash_password
from nibog.booking import cli as booking_cli
from nibog.extensions import db
from nibog.integrations import cli as integrations_cli
from nibog.notifications import cli as notifications_cli
from nibog.ops import cli as ops_cli
from nibog.payments import cli as payments_cli
from nibog.seed import seed_demo_data


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    @click.option("--name", default="NIBOG Admin")
    def create_admin(email: str, password: str, name: str) -> None:
        """Create an admin, or promote and reset the password of an existing user."""
        if len(password) < 8:
            raise click.BadParameter("at least 8 characters", param_hint="--password")
        email = email.strip().lower()
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, full_name=name)
            db.session.add(user)
        else:
            # Setting a password here is how a compromised admin is recovered: whoever held
            # the old one must lose the sessions it opened.

            revoke_all_tokens(user)
        user.role = "admin"
        user.password_hash = hash_password(password)
        user.email_verified = True
        user.is_active_account = True
        click.echo(f"admin {email} ready (id {user.id})")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo catalogue; running it again changes nothing."""
        summary = seed_demo_data()
        click.echo("demo data: " + ", ".join(f"{k}={v}" for k, v in summary.items()))

    for register in _feature_cli():
        register(app)


def _feature_cli():
    """The feature packages' command modules, imported explicitly (a typo fails start-up)."""
    return [m.register_cli
            for m in (booking_cli, payments_cli, notifications_cli, integrations_cli, ops_cli)]
