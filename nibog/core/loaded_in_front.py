"""A request body a front WSGI layer already loaded with the view's own schema.

``booking.fastpath.gate`` loads every ``POST /api/bookings`` body with the view's schema
instance before it decides whether Redis already answers it; a request it passes on to the view
(a burst's holds) would have its body parsed and loaded a second time by webargs. The gate
leaves the result in the WSGI environ, and the view's blueprint parser (``FrontLoadedParser``)
returns it when the view's argument map *is* that schema instance and the location is the JSON
body: the same bytes, the same schema, the same ``unknown`` rule (webargs passes none for JSON,
so the schema's own applies), hence the same arguments. The body is compared too, so loaded
arguments never stand for another body. Anything else is parsed as always.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

# Only server code can put a key without the HTTP_ prefix into the WSGI environ.
_KEY = "nibog.body_loaded"


def remember_loaded(environ: dict, schema, body: bytes, args: dict[str, Any]) -> None:
    environ[_KEY] = (schema, body, args)


class FrontLoadedParser(FlaskParser):
    def parse(self, argmap, req=None, *, location=None, **kwargs):
        loaded = request.environ.pop(_KEY, None)
        if (loaded is not None and loaded[0] is argmap and (location or self.location) == "json"
                and loaded[1] == request.get_data(cache=True)):
            return loaded[2]
        return super().parse(argmap, req, location=location, **kwargs)


class FrontLoadedBlueprint(Blueprint):
    """A blueprint whose views take arguments a front layer loaded for them."""

    ARGUMENTS_PARSER = FrontLoadedParser()
