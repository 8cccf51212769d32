"""Migrations, drift and the constraints that protect the data on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from nibog.config import ROOT
from tests.factories import (
    AddOnVariantFactory,
    ChildFactory,
    EventFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
)


def _flask(args, env_extra, tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"FLASK_APP": "wsgi", "NIBOG_ENV": "development", **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )


def test_migrations_apply_on_sqlite_and_match_models(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    up = _flask(["db", "upgrade"], env, tmp_path)
    assert up.returncode == 0, up.stderr
    check = _flask(["db", "check"], env, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    seed = _flask(["seed-demo"], env, tmp_path)
    assert seed.returncode == 0, seed.stderr
    assert "events=5" in seed.stdout


def test_postgres_schema_has_no_drift(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from nibog.extensions import db

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_slot_cannot_be_oversold_by_the_database(db):
    slot = GameSlotFactory(capacity=2)
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE game_slots SET booked_count = 3 WHERE id = :id"), {"id": slot.id})
        db.session.flush()
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE game_slots SET booked_count = -1 WHERE id = :id"), {"id": slot.id})
    db.session.rollback()


def test_addon_stock_cannot_go_negative(db):
    variant = AddOnVariantFactory(stock=1)
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE addon_variants SET sold_count = 2 WHERE id = :id"), {"id": variant.id})
    db.session.rollback()


def test_email_unique_and_lowercase(db):
    UserFactory(email="asha@example.com")
    with pytest.raises(IntegrityError):
        UserFactory(email="asha@example.com")
    db.session.rollback()
    with pytest.raises(IntegrityError):
        UserFactory(email="Asha@Example.com")  # stored mixed-case would dodge uniqueness
    db.session.rollback()


def test_phone_unique(db):
    UserFactory(phone="+919800000001")
    with pytest.raises(IntegrityError):
        UserFactory(phone="+919800000001")
    db.session.rollback()


def test_one_live_item_per_child_per_slot(db):
    from nibog.booking.models import Booking, BookingItem

    child = ChildFactory()
    slot = GameSlotFactory()
    event_id = slot.event_game.event_id

    def book(number: str, live: bool = True):
        b = Booking(booking_number=number, user_id=child.user_id, event_id=event_id,
                    status="confirmed", subtotal=100, discount=0, total=100)
        db.session.add(b)
        db.session.flush()
        db.session.add(BookingItem(booking_id=b.id, child_id=child.id, slot_id=slot.id, price=100,
                                   is_live=live))
        db.session.flush()

    book("NIB-26-AAAAAA")
    book("NIB-26-BBBBBB", live=False)  # a cancelled item does not block
    db.session.commit()
    with pytest.raises(IntegrityError):
        book("NIB-26-CCCCCC")
    db.session.rollback()


def test_booking_number_unique_and_amounts_consistent(db):
    from nibog.booking.models import Booking

    user = UserFactory()
    event = EventFactory()
    db.session.add(Booking(booking_number="NIB-26-XXXXXX", user_id=user.id, event_id=event.id,
                           status="confirmed", subtotal=100, discount=0, total=100))
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.add(Booking(booking_number="NIB-26-XXXXXX", user_id=user.id, event_id=event.id,
                               status="confirmed", subtotal=100, discount=0, total=100))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.add(Booking(booking_number="NIB-26-YYYYYY", user_id=user.id, event_id=event.id,
                               status="confirmed", subtotal=100, discount=10, total=100))
        db.session.flush()
    db.session.rollback()


def test_game_template_age_range_ordered(db):
    with pytest.raises(IntegrityError):
        GameTemplateFactory(min_age_months=30, max_age_months=12)
    db.session.rollback()


def test_city_with_venues_cannot_be_deleted(db):
    event = EventFactory()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("DELETE FROM cities WHERE id = :id"), {"id": event.city_id})
    db.session.rollback()


@pytest.mark.commits  # now() is the transaction's start: one transaction, one now()
def test_updated_at_moves_on_change(db):
    slot = GameSlotFactory()
    before = slot.updated_at
    db.session.execute(sa.text("SELECT pg_sleep(0.01)"))
    slot.start_time = time(12, 0)
    slot.end_time = time(13, 0)
    db.session.commit()
    db.session.refresh(slot)
    assert slot.updated_at > before


def test_seed_demo_is_idempotent(runner, db):
    from nibog.catalog.models import Event, GameSlot

    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = [db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Event, GameSlot)]
    second = runner.invoke(args=["seed-demo"])
    assert "events=0" in second.output
    assert [db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Event, GameSlot)] == counts
    assert counts[0] == 5


def test_create_admin(runner, db):
    from nibog.accounts.models import User

    result = runner.invoke(args=["create-admin", "--email", "Boss@Nibog.in", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@nibog.in"))
    assert user.role == "admin"
    short = runner.invoke(args=["create-admin", "--email", "x@nibog.in", "--password", "short"])
    assert short.exit_code != 0


def test_create_admin_again_ends_the_old_passwords_sessions(runner, client, db):
    """Re-running create-admin is how a compromised admin password is replaced: whoever
    signed in with the old one is signed out."""
    runner.invoke(args=["create-admin", "--email", "boss@nibog.in", "--password", "old-pass-1"])
    old = client.post("/api/auth/login",
                      json={"email": "boss@nibog.in", "password": "old-pass-1"}).get_json()
    again = runner.invoke(args=["create-admin", "--email", "boss@nibog.in",
                                "--password", "new-pass-2"])
    assert again.exit_code == 0, again.output
    auth = {"Authorization": f"Bearer {old['access_token']}"}
    assert client.get("/api/users/me", headers=auth).status_code == 401
    refresh = {"Authorization": f"Bearer {old['refresh_token']}"}
    assert client.post("/api/auth/refresh", headers=refresh).status_code == 401


def test_production_refuses_to_start_without_secrets(monkeypatch):
    from nibog import create_app
    from nibog.config import ProductionConfig

    for name in ("SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def _production_secrets(monkeypatch):
    for name, value in (("SECRET_KEY", "s" * 40), ("JWT_SECRET_KEY", "j" * 40),
                        ("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/nibog_unused"),
                        ("REDIS_URL", "redis://127.0.0.1:6379/13")):
        monkeypatch.setenv(name, value)


def test_production_refuses_to_start_with_the_sandbox_gateway(monkeypatch):
    """The sandbox accepts payments signed with a public secret: refused at start-up with a
    clear message, not by a 503 on every payment once the site is live."""
    from nibog import create_app
    from nibog.config import ProductionConfig

    _production_secrets(monkeypatch)
    monkeypatch.setattr(ProductionConfig, "PAYMENT_PROVIDER", "sandbox")
    monkeypatch.setattr(ProductionConfig, "PAYMENT_SANDBOX_ALLOWED", False)
    with pytest.raises(RuntimeError, match="PAYMENT_SANDBOX_ALLOWED=true"):
        create_app(ProductionConfig)
    # A staging copy says so explicitly, and then starts.
    monkeypatch.setattr(ProductionConfig, "PAYMENT_SANDBOX_ALLOWED", True)
    assert create_app(ProductionConfig).config["PAYMENT_PROVIDER"] == "sandbox"


def test_production_warns_about_console_messages_and_hides_sql_values(monkeypatch, caplog):
    """Console mail/SMS and no proxy count are allowed in production (staging, the benchmark)
    but said at start-up; failed statements' values stay out of the logs."""
    import logging

    from nibog import create_app
    from nibog.config import ProductionConfig

    _production_secrets(monkeypatch)
    monkeypatch.setattr(ProductionConfig, "PAYMENT_SANDBOX_ALLOWED", True)  # a staging copy
    # Exotel's callback URL without the token it must carry: its reports would all be refused.
    monkeypatch.setattr(ProductionConfig, "EXOTEL_STATUS_CALLBACK",
                        "https://nibog.example/webhooks/exotel/sms-status/old-token")
    monkeypatch.setattr(ProductionConfig, "EXOTEL_CALLBACK_TOKEN", "new-token")
    with caplog.at_level(logging.WARNING, logger="nibog.config"):
        app = create_app(ProductionConfig)
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "MAIL_BACKEND is console" in said and "SMS_BACKEND is console" in said
    assert "TRUSTED_PROXY_COUNT is 0" in said
    assert "EXOTEL_STATUS_CALLBACK does not end with EXOTEL_CALLBACK_TOKEN" in said
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True


def test_database_url_is_normalised_to_our_driver():
    from nibog.config import normalise_database_url

    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
