"""Admin jobs (the job runner commits)."""

from __future__ import annotations

from nibog.admin import all_time


def refresh_dashboard_figures() -> None:
    """Periodic: recompute the overview's all-time figures (sums over every booking) so no page
    view has to (``nibog.admin.all_time``)."""
    all_time.refresh()
