"""``flask backup``, ``flask restore``, ``flask backups``, ``flask purge-old-data``."""

from __future__ import annotations

import click
from flask import Flask, current_app

from nibog.config import normalise_database_url
from nibog.core.housekeeping import purge_expired
from nibog.core.outbox import purge_relayed_outbox
from nibog.ops.backup import BackupError, create_backup, list_backups, restore_backup
from nibog.ops.retention import purge_abandoned_guests, purge_old_notifications


def register_cli(app: Flask) -> None:
    @app.cli.command("backup")
    def backup_command() -> None:
        """pg_dump the database (custom format) into the storage backend under BACKUP_PREFIX."""
        try:
            backup = create_backup()
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"backup {backup.key} ({backup.size} bytes, sha256 {backup.sha256})")

    @app.cli.command("backups")
    def list_command() -> None:
        """The stored backups, oldest first."""
        for b in list_backups():
            click.echo(f"{b.created_at}  {b.key}  {b.size} bytes")

    @app.cli.command("restore")
    @click.argument("source", default="latest")
    @click.option("--database-url", default=None,
                  help="Target database (must be empty); default: DATABASE_URL.")
    def restore_command(source: str, database_url: str | None) -> None:
        """Restore SOURCE (a stored key, `latest`, or a dump file) into an EMPTY database."""
        target = normalise_database_url(database_url or current_app.config["SQLALCHEMY_DATABASE_URI"])
        try:
            restore_backup(source, target)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"restored {source}")

    @app.cli.command("purge-old-data")
    def purge_command() -> None:
        """Run every retention job now (they also run daily from the worker)."""
        click.echo(f"expired: {purge_expired()}")
        click.echo(f"relayed outbox rows: {purge_relayed_outbox()}")
        click.echo(f"notification logs: {purge_old_notifications()}")
        click.echo(f"abandoned guests: {purge_abandoned_guests()}")
