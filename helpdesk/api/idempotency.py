"""Idempotency-Key on POSTs (draft-ietf-httpapi-idempotency-key-header): a client that is not sure its request
arrived sends it again with the same key, and gets the first answer instead of a second ticket or payment.

- The first request with a key is recorded (per token) before it runs; a successful answer (2xx) is kept a day
  and replayed for every repeat, with ``Idempotent-Replayed: true``.
- The same key with a different request (method, path or body) is refused (422); a repeat while the first is still
  being answered gets 409 and may retry.
- An answer that is not a success is not kept: the client may correct the request and send it with the same key."""
import hashlib
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import current_app, request

from helpdesk.api import problems
from helpdesk.api.core import token
from helpdesk.api.models import IdempotentRequest
from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

HEADER = "Idempotency-Key"
KEPT = timedelta(hours=24)
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


def _body_parts():
    """The request's body as parts to hash: its bytes, or for multipart/form-data its fields and files (a client
    sending the same form again picks a new boundary, so the bytes differ)."""
    if request.mimetype != "multipart/form-data":
        return [request.get_data(cache=True)]
    parts = []
    for name, value in sorted(request.form.items(multi=True)):
        parts += [b"field", name.encode(), value.encode()]
    for name, upload in request.files.items(multi=True):  # in the order sent: it is the attachments' order
        parts += [b"file", name.encode(), (upload.filename or "").encode(), (upload.mimetype or "").encode(),
                  upload.stream.read()]
        upload.stream.seek(0)
    return parts


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.full_path.encode(), *_body_parts()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _claim(token_row, key):
    """Record the key for this request, or return the earlier record with the same key."""
    now = utcnow()
    db.session.execute(sa.delete(IdempotentRequest).where(IdempotentRequest.token_id == token_row.id,
                                                          IdempotentRequest.created_at < now - KEPT))
    record = IdempotentRequest(token_id=token_row.id, key=key, method=request.method, path=request.path,
                               fingerprint=_fingerprint(), created_at=now)
    try:
        db.session.add(record)
        db.session.commit()
        return record, None
    except sa.exc.IntegrityError:
        db.session.rollback()
    earlier = db.session.scalar(sa.select(IdempotentRequest).where(IdempotentRequest.token_id == token_row.id,
                                                                   IdempotentRequest.key == key))
    return None, earlier


def _replay(earlier):
    if earlier.fingerprint != _fingerprint():
        return problems.problem(422, _l("This Idempotency-Key was used for a different request. Use a new key for "
                                        "a new request."), kind="idempotency-key-reused")
    if earlier.status is None:
        return problems.problem(409, _l("The first request with this Idempotency-Key is still being answered. "
                                        "Try again in a moment."), kind="idempotency-key-in-use")
    response = current_app.response_class(earlier.body, status=earlier.status)
    for name, value in (earlier.headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view):
    """Honour Idempotency-Key on this POST view (put it just under the route decorator)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        live = token()
        if key is None or live is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255:
            return problems.validation_problem({HEADER: _l("Between 1 and 255 characters.")}, "headers")
        record, earlier = _claim(live, key)
        if record is None:
            return _replay(earlier)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except Exception:  # a domain error or an abort: answered by the blueprint's handlers, not kept
            db.session.rollback()
            _forget(record.id)
            raise
        if 200 <= response.status_code < 300:
            db.session.execute(sa.update(IdempotentRequest).where(IdempotentRequest.id == record.id).values(
                status=response.status_code, body=response.get_data(),
                headers={name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}))
            db.session.commit()
        else:
            _forget(record.id)
        return response

    doc = wrapper._apidoc = dict(getattr(wrapper, "_apidoc", {}))
    manual = dict(doc.get("manual_doc", {}))
    manual["parameters"] = [*manual.get("parameters", []), {
        "in": "header", "name": HEADER, "required": False, "schema": {"type": "string", "maxLength": 255},
        "description": "A key of your choosing: a repeat of this request with the same key returns the first "
                       "answer instead of doing it again (kept 24 hours)."}]
    doc["manual_doc"] = manual
    return wrapper


def _forget(record_id):
    db.session.execute(sa.delete(IdempotentRequest).where(IdempotentRequest.id == record_id))
    db.session.commit()
