"""flask relay-outbox, flask send-reminders, flask generate-certificates EVENT_ID."""

from __future__ import annotations

import click
from flask import Flask

from nibog.core.outbox import relay_outbox
from nibog.documents.tasks import generate_event_certificates
from nibog.notifications.tasks import send_event_reminders


def register_cli(app: Flask) -> None:
    @app.cli.command("relay-outbox")
    @click.option("--grace", default=0, show_default=True, help="skip rows younger than this (s)")
    def relay_outbox_cmd(grace: int) -> None:
        """Hand over queued jobs that never reached the queue (e.g. Redis was down)."""
        click.echo(f"relayed {relay_outbox(grace_seconds=grace)} jobs")

    @app.cli.command("send-reminders")
    def send_reminders_cmd() -> None:
        """Queue tomorrow's event reminders (each booking is reminded once)."""
        click.echo(f"reminded {send_event_reminders()} bookings")

    @app.cli.command("generate-certificates")
    @click.argument("event_id", type=int)
    def generate_certificates_cmd(event_id: int) -> None:
        """Generate (and email) the certificates of an event now."""
        click.echo(f"generated {generate_event_certificates(event_id)} certificates")
