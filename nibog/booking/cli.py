"""Booking commands: ``flask expire-holds``."""

from __future__ import annotations

import click
from flask import Flask

from nibog.booking.tasks import expire_holds


def register_cli(app: Flask) -> None:
    @app.cli.command("expire-holds")
    def expire_holds_command() -> None:
        """Expire unpaid holds past their deadline now and free their seats."""
        click.echo(f"expired {expire_holds()} hold(s)")
