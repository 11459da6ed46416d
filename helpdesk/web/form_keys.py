"""One-time keys for forms whose answer shows a secret once (a new API token, a webhook's signing secret): the page
gives the form a key kept in the session, and the post is carried out only the first time that key comes back, so
reloading the answer (which sends the form again) neither makes a second token nor shows a secret again. The last
few keys of each kind are kept, so a form open in another tab still works."""
import secrets

from flask import session

KEPT = 5


def give(form, kind: str) -> None:
    """Put a new key of ``kind`` (the session's list to keep it in) into ``form.form_key``."""
    key = secrets.token_urlsafe(12)
    session[kind] = [*session.get(kind, [])[-(KEPT - 1):], key]
    form.form_key.data, form.form_key.raw_data = key, []


def spend(form, kind: str) -> bool:
    """True the first time a form with this key is sent, False for a form sent again."""
    keys = list(session.get(kind, []))
    if not form.form_key.data or form.form_key.data not in keys:
        return False
    keys.remove(form.form_key.data)
    session[kind] = keys
    return True
