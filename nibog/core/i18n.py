"""Languages, and money and times shown the Indian way, for every face.

The language of a request: the ``lang`` cookie (the switcher sets it), then the browser's
``Accept-Language``, then English. Adding a language is adding its catalogue under
``translations/`` and its code to ``LANGUAGES``: no code changes. Times are stored in UTC and
shown in Asia/Kolkata (``Sun, 29 Dec 2026, 9:00 am``).
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, get_locale

from nibog.core.money import format_inr
from nibog.core.timeutil import IST

LANG_COOKIE = "lang"
babel = Babel()

_WHEN = "EEE, d MMM y, h:mm a"
_DAY = "EEE, d MMM y"
_TIME = "h:mm a"


def languages() -> list[str]:
    return list(current_app.config.get("LANGUAGES") or ["en"])


@cache
def language_name(code: str) -> str:
    """A language named in itself, from Babel's CLDR data (``hi`` → हिन्दी, ``ta`` → தமிழ்): a
    parent who cannot read the page still finds theirs, and a new language needs no name
    written anywhere."""
    try:
        name = Locale.parse(code).display_name
    except (UnknownLocaleError, ValueError):
        return code
    # CLDR writes some in lower case ("español"); a button label starts with a capital.
    return name[:1].upper() + name[1:] if name else code


def language_choices() -> list[tuple[str, str]]:
    """(code, native name) of every language in ``LANGUAGES``, in its order."""
    return [(code, language_name(code)) for code in languages()]


def select_locale() -> str:
    supported = languages()
    if has_request_context():
        chosen = request.cookies.get(LANG_COOKIE)
        if chosen in supported:
            return chosen
        best = request.accept_languages.best_match(supported)
        if best:
            return best
    return supported[0]


def current_language() -> str:
    locale = get_locale() if has_request_context() else None
    return locale.language if locale is not None else languages()[0]


def _locale(language: str | None) -> str:
    language = language or current_language()
    return f"{language}_IN"


def _ampm(text: str, language: str) -> str:
    # CLDR's en_IN writes "AM"; Indian English usage (and the style guide) is "am".
    return text.replace(" AM", " am").replace(" PM", " pm") if language == "en" else text


def money(amount_paise: int | None, language: str | None = None) -> str:
    if amount_paise is None:
        return ""
    return format_inr(amount_paise, language or current_language())


def when(value: datetime | None, language: str | None = None) -> str:
    """A moment (UTC in the database) as Indians read it, in IST."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # the API's ISO text, as serialised answers carry it
        value = datetime.fromisoformat(value)
    language = language or current_language()
    return _ampm(format_datetime(value, _WHEN, tzinfo=IST, locale=_locale(language)), language)


def day(value: date | datetime | str | None, language: str | None = None) -> str:
    """A date; also the API's ISO text (``2026-12-29``), as cached catalog answers carry it."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = (datetime if "T" in value else date).fromisoformat(value)
    language = language or current_language()
    if isinstance(value, datetime):
        value = value.astimezone(IST).date()
    return format_date(value, _DAY, locale=_locale(language))


def clock(value, language: str | None = None) -> str:
    """A slot's local time of day (``9:00 am``)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # the API's "HH:MM"
        value = time.fromisoformat(value)
    language = language or current_language()
    return _ampm(format_time(value, _TIME, locale=_locale(language)), language)


def init_i18n(app: Flask) -> None:
    app.config.setdefault("LANGUAGES", ["en", "hi"])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Kolkata")
    # Flask-Babel merges the catalogues of every directory listed.
    root = f"{app.root_path}/../translations"
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", f"{root}/site;{root}/admin")
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(money=money, when=when, day=day, clock=clock)
    app.jinja_env.globals.update(current_language=current_language, languages=languages,
                                 language_choices=language_choices)
