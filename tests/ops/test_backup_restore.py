"""flask backup / flask restore: a populated database comes back identical in a new one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from nibog.booking.service import cancel_booking, create_booking
from nibog.core import boundary
from nibog.extensions import db
from nibog.ops.backup import list_backups
from tests.booking.world import add_variant, make_promo, make_world
from tests.payments.support import make_booking, open_payment, post_webhook, webhook_for

# Money is integer paise in BigInteger columns (design.md): every one of them is compared.
MONEY_TYPES = (sa.BigInteger,)


def _populate(client, app):
    from tests.factories import UserFactory

    w = make_world(capacity=3)
    make_promo("TEN", max_uses=5)
    variant = add_variant(w.event, stock=4)
    held = create_booking(user_id=w.parent.id, event_id=w.event.id, items=[
        {"child_id": w.children[0].id, "slot_id": w.slots[0].id}], promo_code="TEN",
        addons=[{"addon_id": variant.addon_id, "variant_id": variant.id, "quantity": 2}],
        source="app")
    boundary.commit()
    cancel_booking(held.id, actor_id=w.parent.id)
    boundary.commit()
    parent = UserFactory()
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    from nibog.payments.gateways.sandbox import SandboxGateway

    paid = SandboxGateway(app.config).simulate_payment(order["provider_order_id"])
    body, headers = webhook_for(app, "payment.captured", paid["payment"])
    assert post_webhook(client, body, headers).status_code == 200


def _fingerprint(engine) -> dict:
    """Per table: row count, an md5 over every row, and the sum of each money column."""
    out = {}
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            name = table.name
            count = conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            digest = conn.execute(sa.text(
                f'SELECT md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) '
                f'FROM "{name}" t'
            )).scalar_one()
            money = {
                col.name: conn.execute(sa.text(f'SELECT coalesce(sum("{col.name}"), 0) FROM "{name}"'))
                .scalar_one()
                for col in table.columns if isinstance(col.type, MONEY_TYPES)
            }
            out[name] = (count, digest, money)
    return out


@pytest.fixture
def fresh_database(app):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    target = url.set(database=f"{url.database}_restore")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    yield target
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def backups_in(app, tmp_path):
    previous = app.config["STORAGE_LOCAL_PATH"], app.config["STORAGE_BACKEND"]
    app.config["STORAGE_LOCAL_PATH"], app.config["STORAGE_BACKEND"] = str(tmp_path), "local"
    yield tmp_path
    app.config["STORAGE_LOCAL_PATH"], app.config["STORAGE_BACKEND"] = previous


@pytest.mark.commits  # pg_dump reads committed rows only
def test_backup_then_restore_into_a_new_database_gives_the_same_rows_and_money(
    app, client, runner, fresh_database, backups_in
):
    _populate(client, app)
    source = _fingerprint(db.engine)
    assert source["bookings"][0] == 2 and source["payments"][0] == 1
    assert sum(sum(m.values()) for _, _, m in source.values()) > 0  # money to compare

    result = runner.invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    [backup] = list_backups()
    assert (backups_in / backup.key).stat().st_size == backup.size

    target_url = fresh_database.render_as_string(hide_password=False)
    result = runner.invoke(args=["restore", "latest", "--database-url", target_url])
    assert result.exit_code == 0, result.output
    restored = sa.create_engine(fresh_database)
    try:
        assert _fingerprint(restored) == source
        with restored.connect() as conn:  # the migration history came along too
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        restored.dispose()


def test_restore_refuses_a_database_that_is_not_empty(app, runner, backups_in):
    assert runner.invoke(args=["backup"]).exit_code == 0
    result = runner.invoke(args=["restore", "latest", "--database-url",
                                 app.config["SQLALCHEMY_DATABASE_URI"]])
    assert result.exit_code != 0
    assert "not empty" in result.output


def test_restore_refuses_a_dump_that_does_not_match_its_digest(
    app, runner, fresh_database, backups_in
):
    assert runner.invoke(args=["backup"]).exit_code == 0
    [backup] = list_backups()
    path = backups_in / backup.key
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    result = runner.invoke(args=["restore", backup.key, "--database-url",
                                 fresh_database.render_as_string(hide_password=False)])
    assert result.exit_code != 0 and "SHA-256" in result.output


def test_only_the_newest_backups_are_kept(app, runner, backups_in, monkeypatch):
    import itertools

    from nibog.ops import backup as backup_module

    app.config["BACKUP_KEEP"] = 2
    stamps = itertools.count()

    class Clock:
        @staticmethod
        def strftime(_fmt):
            return f"2026010{next(stamps)}T000000Z"

    monkeypatch.setattr(backup_module, "utcnow", lambda: Clock)
    try:
        for _ in range(3):
            assert runner.invoke(args=["backup"]).exit_code == 0
    finally:
        app.config["BACKUP_KEEP"] = 14
    keys = [b.key for b in list_backups()]
    assert keys == ["backups/nibog-20260101T000000Z.dump", "backups/nibog-20260102T000000Z.dump"]
    assert sorted(p.name for p in (backups_in / "backups").glob("*.dump")) == [
        "nibog-20260101T000000Z.dump", "nibog-20260102T000000Z.dump"]
