"""What the dashboard's forms share: rupee amounts, IST date-times, and a service's refusal
shown at the field it is about (or above the form), with the entered values kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from flask import flash, redirect
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, DecimalField, Form
from wtforms.validators import NumberRange, Optional

from nibog.core import boundary
from nibog.core.errors import AppError
from nibog.core.timeutil import IST

T = TypeVar("T")


class RupeesField(DecimalField):
    """An amount typed in rupees ("799" or "799.50"), kept as paise in ``.paise``."""

    def __init__(self, label=None, validators=None, **kwargs):
        validators = list(validators or [Optional()]) + [NumberRange(min=0, max=10_000_000)]
        kwargs.setdefault("places", 2)
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "step": "0.01"})
        super().__init__(label, validators, **kwargs)

    @property
    def paise(self) -> int | None:
        if self.data is None:
            return None
        try:
            return int((Decimal(self.data) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        except InvalidOperation:
            return None

    def set_paise(self, value: int | None) -> None:
        self.data = None if value is None else Decimal(value) / 100


def rupees(paise: int | None) -> Decimal | None:
    return None if paise is None else Decimal(paise) / 100


class ISTDateTimeField(DateTimeLocalField):
    """A date and time typed in India time; ``.utc`` is the aware moment to store."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
        super().__init__(label, validators or [Optional()], **kwargs)

    @property
    def utc(self) -> datetime | None:
        return None if self.data is None else self.data.replace(tzinfo=IST)

    def set_utc(self, value: datetime | None) -> None:
        self.data = None if value is None else value.astimezone(IST).replace(tzinfo=None)


class Page(FlaskForm):
    """Base of the dashboard's forms: errors that belong to no single field, too."""

    class Meta:
        locales = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form_errors_extra: list[str] = []

    @property
    def all_form_errors(self) -> list[str]:
        return list(self.form_errors) + self.form_errors_extra

    def refuse(self, exc: AppError, fields: dict[str, str] | None = None) -> None:
        show_refusal(self, exc, fields)


def show_refusal(form: Form, exc: AppError, fields: dict[str, str] | None = None) -> None:
    """Put a service's refusal next to the fields it names (``fields`` maps the service's names
    to the form's when they differ); the rest goes above the form."""
    fields = fields or {}
    extra: list[str] = getattr(form, "form_errors_extra", [])
    placed = False
    for name, messages in (exc.details or {}).items():
        if not isinstance(messages, list):
            continue
        target = getattr(form, fields.get(name, name), None)
        texts = [str(m) for m in messages]
        if target is not None and hasattr(target, "errors") and not isinstance(target.errors, dict):
            target.errors = list(target.errors) + texts
            placed = True
        else:
            extra.extend(texts)
            placed = True
    if not placed or exc.status != 422:
        extra.insert(0, exc.message)
    form.form_errors_extra = extra


def attempt(action: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T | None, AppError | None]:
    """Run a service call; on a refusal undo what it flushed (the page is re-rendered from the
    database as it was) and hand the refusal back for the form to show."""
    try:
        return action(*args, **kwargs), None
    except AppError as exc:
        boundary.rollback()
        return None, exc


def deleted(action: Callable, *args: Any, done: str, refused_to: str, message: str):
    """A delete button's answer: ``action(*args)`` done, back to ``done`` saying ``message``;
    refused (still in use), back to ``refused_to`` with the reason; a missing row stays a 404."""
    refused = attempt(action, *args)[1]
    if refused is not None:
        if refused.status == 404:
            raise refused
        flash(refused.message, "error")
        return redirect(refused_to)
    flash(message, "success")
    return redirect(done)


YES_NO = (("1", _l("Yes")), ("0", _l("No")))


def yes_no(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")
