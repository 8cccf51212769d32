"""Promo code administration (service side): scopes, uniqueness, guards, audit."""

from __future__ import annotations

from sqlalchemy import delete, exists, insert, or_, select

from nibog.booking.models import Booking, PromoCode, promo_code_events, promo_code_games
from nibog.catalog.admin_service import Actor, audit, get_or_404
from nibog.catalog.models import Event, GameTemplate
from nibog.core.audit import snapshot
from nibog.core.errors import Conflict, ValidationFailed
from nibog.core.pagination import paginate
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db

OUT_FIELDS = (
    "id", "code", "description", "kind", "value", "max_discount", "min_total", "max_uses",
    "used_count", "per_user_limit", "is_active",
)

_SCOPES = (
    ("event_ids", promo_code_events, promo_code_events.c.event_id, Event),
    ("game_template_ids", promo_code_games, promo_code_games.c.game_template_id, GameTemplate),
)


def promo_dicts(promos: list[PromoCode]) -> list[dict]:
    """Answers for these codes, with their scopes read in one query per scope table."""
    ids = [promo.id for promo in promos]
    scopes: dict[int, dict[str, list[int]]] = {i: {key: [] for key, *_ in _SCOPES} for i in ids}
    for key, table, column, _ in _SCOPES if ids else ():
        rows = db.session.execute(
            select(table.c.promo_code_id, column)
            .where(table.c.promo_code_id.in_(ids))
            .order_by(column)
        )
        for promo_id, scope_id in rows:
            scopes[promo_id][key].append(scope_id)
    out = []
    for promo in promos:
        item = {k: v for k, v in snapshot(promo).items() if k in OUT_FIELDS}
        item["valid_from"] = isoformat_ist(promo.valid_from)
        item["valid_until"] = isoformat_ist(promo.valid_until)
        item.update(scopes[promo.id])
        out.append(item)
    return out


def promo_dict(promo: PromoCode) -> dict:
    return promo_dicts([promo])[0]


def list_promos(page: int, per_page: int, q: str | None = None, is_active: bool | None = None):
    stmt = select(PromoCode).order_by(PromoCode.created_at.desc(), PromoCode.id.desc())
    if q:
        stmt = stmt.where(or_(PromoCode.code.ilike(f"%{q}%"), PromoCode.description.ilike(f"%{q}%")))
    if is_active is not None:
        stmt = stmt.where(PromoCode.is_active.is_(is_active))
    return paginate(stmt, page, per_page, promo_dicts)


def _set_scopes(promo: PromoCode, data: dict) -> None:
    for key, table, column, model in _SCOPES:
        if key not in data:
            continue
        ids = sorted(set(data.pop(key)))
        found = set(db.session.scalars(select(model.id).where(model.id.in_(ids)))) if ids else set()
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationFailed({key: [f"Unknown ids: {missing}"]})
        db.session.execute(delete(table).where(table.c.promo_code_id == promo.id))
        if ids:
            db.session.execute(
                insert(table), [{"promo_code_id": promo.id, column.key: i} for i in ids]
            )


def _check_code(code: str, exclude_id: int | None = None) -> None:
    stmt = select(PromoCode.id).where(PromoCode.code == code)
    if exclude_id:
        stmt = stmt.where(PromoCode.id != exclude_id)
    if db.session.scalar(stmt):
        raise Conflict("promo_code_taken", f"Promo code {code} already exists")


def create_promo(data: dict, who: Actor) -> PromoCode:
    data["code"] = data["code"].strip().upper()
    _check_code(data["code"])
    scopes = {k: data.pop(k) for k in ("event_ids", "game_template_ids")}
    promo = PromoCode(**data)
    db.session.add(promo)
    db.session.flush()
    _set_scopes(promo, scopes)
    audit("promo_code.create", promo, who, None, after=promo_dict(promo))
    return promo


def update_promo(promo_id: int, data: dict, who: Actor) -> PromoCode:
    promo = get_or_404(PromoCode, promo_id, "Promo code", lock=True)
    before = promo_dict(promo)
    if "code" in data:
        data["code"] = data["code"].strip().upper()
        _check_code(data["code"], promo.id)
    scopes = {k: data.pop(k) for k in ("event_ids", "game_template_ids") if k in data}
    for key, value in data.items():
        setattr(promo, key, value)
    if promo.kind == "percent" and promo.value > 100:
        raise ValidationFailed({"value": ["a percentage is at most 100"]})
    if promo.max_uses is not None and promo.max_uses < promo.used_count:
        raise Conflict(
            "max_uses_below_used", f"{promo.code} is already used {promo.used_count} times"
        )
    if promo.valid_from and promo.valid_until and promo.valid_from >= promo.valid_until:
        raise ValidationFailed({"valid_until": ["must be after valid_from"]})
    db.session.flush()
    _set_scopes(promo, scopes)
    audit("promo_code.update", promo, who, before, after=promo_dict(promo))
    return promo


def delete_promo(promo_id: int, who: Actor) -> None:
    promo = get_or_404(PromoCode, promo_id, "Promo code", lock=True)
    if promo.used_count or db.session.scalar(
        select(exists().where(Booking.promo_code_id == promo_id))
    ):
        raise Conflict("promo_code_in_use", f"{promo.code} has been used; deactivate it instead")
    before = promo_dict(promo)
    db.session.execute(delete(PromoCode).where(PromoCode.id == promo_id))
    db.session.expunge(promo)
    audit("promo_code.delete", None, who, before, entity_type="promo_codes", entity_id=promo_id)
