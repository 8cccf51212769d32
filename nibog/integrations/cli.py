"""flask create-partner: register a partner that books through /webhooks/external/*."""

from __future__ import annotations

import secrets

import click
from flask import Flask
from sqlalchemy import select

from nibog.extensions import db
from nibog.integrations.models import Partner


def register_cli(app: Flask) -> None:
    @app.cli.command("create-partner")
    @click.option("--name", required=True)
    @click.option("--slug", required=True, help="sent by the partner in X-Nibog-Partner")
    @click.option("--rotate", is_flag=True, help="issue a new secret for an existing partner")
    def create_partner(name: str, slug: str, rotate: bool) -> None:
        """Create a partner (or rotate its secret) and print the webhook signing secret once."""
        slug = slug.strip().lower()
        partner = db.session.scalar(select(Partner).where(Partner.slug == slug))
        if partner is not None and not rotate:
            raise click.ClickException(f"partner {slug} exists; use --rotate for a new secret")
        secret = secrets.token_hex(32)
        if partner is None:
            partner = Partner(name=name, slug=slug, webhook_secret=secret)
            db.session.add(partner)
        else:
            partner.name, partner.webhook_secret, partner.is_active = name, secret, True
        click.echo(f"partner {slug} (id {partner.id}) webhook secret: {secret}")
