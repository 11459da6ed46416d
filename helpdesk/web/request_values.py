"""Ids, dates and JSON from URLs, query strings and forms, each read by one rule: what does not fit is
answered with 404 (a path) or 400 (a query or a form), never with a database error."""
from datetime import date

from flask import request
from werkzeug.routing import BaseConverter, ValidationError
from wtforms import DateField
from wtforms.validators import StopValidation

from helpdesk.db import parse_id
from helpdesk.i18n import lazy_gettext as _l

# Dates people filter by. Outside these, the time zone arithmetic behind a filter overflows.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(9998, 12, 31)


class IdConverter(BaseConverter):
    """``<id:name>`` in a route: ASCII digits from 1 to MAX_ID; anything else does not match (404)."""

    regex = r"[0-9]{1,40}"
    part_isolating = True

    def to_python(self, value):
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value):
        return str(int(value))


def register_converters(app):
    """Before any blueprint is registered: their routes are compiled with the converters known then."""
    app.url_map.converters["id"] = IdConverter


def date_in_range(value) -> bool:
    return EARLIEST_DATE <= value <= LATEST_DATE


class BoundedDateField(DateField):
    """A date field (YYYY-MM-DD) that refuses dates no one files or filters tickets by (the year 1 or 9999)."""

    def pre_validate(self, form):
        super().pre_validate(form)
        if self.data is not None and not date_in_range(self.data):
            self.data = None
            raise StopValidation(_l("Enter a date between %(earliest)s and %(latest)s.",
                                earliest=EARLIEST_DATE.isoformat(), latest=LATEST_DATE.isoformat()))


def json_object(max_depth=20):
    """The request's JSON body if it is an object (``{...}``) no deeper than ``max_depth``; None for anything
    else: not JSON, an array, a number, or nesting deep enough to exhaust the parser."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        return None
    if not isinstance(data, dict) or _depth(data, max_depth) > max_depth:
        return None
    return data


def _depth(value, limit, level=1):
    if level > limit:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(child, limit, level + 1) for child in children), default=level)
