"""Booking commands: ``flask expire-holds``."""

from __future__ import annotations

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.command("expire-holds")
    def expire_holds_command() -> None:
        """Expire unpaid holds past their deadline now and free their seats."""
        from nibog.booking.tasks import expire_holds

        click.echo(f"expired {expire_holds()} hold(s)")
