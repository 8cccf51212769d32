"""flask payments reconcile: run the stuck-payment sweep once (what the periodic job does)."""

from __future__ import annotations

import click
from flask import Flask

from nibog.payments.tasks import reconcile_stuck_payments


def register_cli(app: Flask) -> None:
    @app.cli.group("payments")
    def payments() -> None:
        """Payment operations."""

    @payments.command("reconcile")
    def reconcile() -> None:
        """Settle payments left `created` past STUCK_PAYMENT_MINUTES against the gateway."""
        results = reconcile_stuck_payments()
        click.echo("reconciled: " + (", ".join(f"{k}={v}" for k, v in results.items()) or "none"))
