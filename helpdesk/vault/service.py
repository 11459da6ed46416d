"""The credential vault's operations: list an account's access data, add, change and remove entries, and reveal
a secret. The rules: only customers who are members of the account reach it (staff never see secrets; anyone else
gets NotFound); the list and every reveal need the vault_view permission, changes vault_edit as well; each reveal
is written to the audit trail (who, which entry, which field, which account) and committed before the value is
returned. Secrets never go into audit details, log lines or error messages. Each public function that changes
something is one transaction."""
import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from helpdesk import audit
from helpdesk.accounts import memberships
from helpdesk.accounts.models import PERM_VAULT_EDIT, PERM_VAULT_VIEW
from helpdesk.audit import sentences
from helpdesk.audit.models import AuditEvent
from helpdesk.db import commit_service_call, parse_id, utcnow
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name
from helpdesk.vault import keys
from helpdesk.vault.crypto import CannotOpen, UnknownKey
from helpdesk.vault.errors import CannotReveal
from helpdesk.vault.models import SEALED_FIELDS, SECRET_FIELDS, VaultEntry

log = logging.getLogger(__name__)

AUDIT_ENTITY = "vault"  # audit rows name the account's vault (entity_id: the account), the entry in the details
LIMITS = {"service": 200, "url": 500, "username": 200, "password": 1000, "notes": 5000}
ACTIVITY_SIZE = 20


@dataclass(frozen=True)
class EntryRow:
    """One line of the vault as the list shows it: no secret, only whether there is one to reveal."""

    id: int
    service: str
    url: str
    link: str | None  # the address when it is a web page (http or https), to link it
    username: str | None  # None: none stored, or it cannot be read (``unreadable``)
    unreadable: bool
    has_password: bool
    has_notes: bool
    updated_at: datetime
    updated_by: str


def _require(actor, account_id, permission):
    """The account's id when ``actor`` (a customer who is a member) may use its vault this way."""
    if actor is None or not getattr(actor, "is_customer", False):
        raise NotFound()  # staff, the system and visitors have no vault to see
    account_id = parse_id(account_id)
    found = memberships.require_permission(actor, account_id, PERM_VAULT_VIEW)
    if not found.allows(permission):
        raise NotAllowed()
    return account_id


def check_access(actor, account_id, permission=PERM_VAULT_VIEW) -> None:
    """NotFound unless ``actor`` is a customer member of the account; NotAllowed without ``permission``."""
    _require(actor, account_id, permission)


def _entry(account_id, entry_id, lock=False) -> VaultEntry:
    entry_id = parse_id(entry_id)
    query = sa.select(VaultEntry).where(VaultEntry.id == entry_id, VaultEntry.account_id == account_id)
    entry = db.session.scalar(query.with_for_update() if lock else query) if entry_id else None
    if entry is None:
        raise NotFound()
    return entry


def _open(ring, entry, field) -> str | None:
    token = entry.sealed(field)
    if token is None:
        return None
    try:
        return ring.open(token, keys.place(entry.id, entry.account_id, field))
    except (UnknownKey, CannotOpen) as exc:
        # The operator needs the entry, the field and the key id; never the value.
        log.error("vault entry %s: the %s does not open with key %r (%s)", entry.id, field,
                  getattr(exc, "key_id", None), type(exc).__name__)
        raise CannotReveal() from None


def _seal(ring, entry, field, value) -> None:
    entry.set_sealed(field, ring.seal(value, keys.place(entry.id, entry.account_id, field)) if value else None)


def _row(ring, entry) -> EntryRow:
    try:
        username, unreadable = _open(ring, entry, "username"), False
    except CannotReveal:
        username, unreadable = None, True
    url = entry.url or ""
    return EntryRow(id=entry.id, service=entry.service, url=url,
                    link=url if url.lower().startswith(("https://", "http://")) else None,
                    username=username, unreadable=unreadable, has_password=entry.password_sealed is not None,
                    has_notes=entry.notes_sealed is not None, updated_at=entry.updated_at,
                    updated_by=entry.updated_by.display_name if entry.updated_by else "")


def list_entries(actor, account_id) -> list[EntryRow]:
    """The account's access data by service: service, address and user name, never a password or notes."""
    account_id = _require(actor, account_id, PERM_VAULT_VIEW)
    ring = keys.keyring()
    entries = db.session.scalars(sa.select(VaultEntry).where(VaultEntry.account_id == account_id)
                                 .order_by(sa.func.lower(VaultEntry.service), VaultEntry.id)).all()
    return [_row(ring, entry) for entry in entries]


def get_entry(actor, account_id, entry_id) -> EntryRow:
    """One entry of the account as the list shows it (for its edit form); NotFound for another account's."""
    account_id = _require(actor, account_id, PERM_VAULT_EDIT)
    return _row(keys.keyring(), _entry(account_id, entry_id))


def _details(entry, **details):
    """What a vault audit row says besides its account (the trail and the account's activity find it by it): the
    entry by id and service name, and ``details`` (field names, never values)."""
    return {"entry": entry.id, "service": entry.service, **details}


def _checked(errors, *, service, url, username, password, notes) -> dict:
    """The values as stored: one-line service, address and user name; the password as typed; notes with plain
    line ends. Errors name the field and the limit, never the value."""
    values = {"service": clean_name(service or "", limit=LIMITS["service"] + 1),
              "url": clean_name(url or "", limit=LIMITS["url"] + 1),
              "username": clean_name(username or "", limit=LIMITS["username"] + 1),
              "password": password or "",
              "notes": (notes or "").replace("\r\n", "\n").replace("\r", "\n").strip()}
    if not values["service"]:
        errors["service"] = _l("Name the service (e.g. the hosting provider or the mailbox).")
    if " " in values["url"]:
        errors["url"] = _l("An address has no spaces.")
    for name, limit in LIMITS.items():
        if len(values[name]) > limit and name not in errors:
            errors[name] = _l("Use at most %(num)d characters.", num=limit)
    return values


def add_entry(actor, account_id, *, service, url="", username="", password="", notes="") -> VaultEntry:
    """Add a line of access data to the account's vault (vault_edit); the user name, password and notes are
    sealed with the current key."""
    account_id = _require(actor, account_id, PERM_VAULT_EDIT)
    errors = {}
    values = _checked(errors, service=service, url=url, username=username, password=password, notes=notes)
    if errors:
        raise ValidationFailed(errors)
    ring = keys.keyring()
    entry = VaultEntry(account_id=account_id, service=values["service"], url=values["url"], created_at=utcnow(),
                       updated_at=utcnow(), updated_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()  # its id is part of every sealed value's place
    for field in SEALED_FIELDS:
        _seal(ring, entry, field, values[field])
    audit.record(actor, "vault", account_id, "entry-added", _details(entry), account_id=account_id)
    commit_service_call(db.session)
    return entry


def change_entry(actor, account_id, entry_id, *, service, url="", username="", password="", notes="",
                 clear_password=False, clear_notes=False) -> VaultEntry:
    """Change an entry (vault_edit). An empty password or notes keeps the stored one (the form never shows
    it); ``clear_password``/``clear_notes`` remove it. The audit row names the fields changed, not their values."""
    account_id = _require(actor, account_id, PERM_VAULT_EDIT)
    entry = _entry(account_id, entry_id, lock=True)
    errors = {}
    values = _checked(errors, service=service, url=url, username=username, password=password, notes=notes)
    if errors:
        raise ValidationFailed(errors)
    ring = keys.keyring()
    changed = [name for name in ("service", "url") if getattr(entry, name) != values[name]]
    entry.service, entry.url = values["service"], values["url"]
    if _username_changed(ring, entry, values["username"]):
        _seal(ring, entry, "username", values["username"])
        changed.append("username")
    for field, clear in (("password", clear_password), ("notes", clear_notes)):
        if values[field] or (clear and entry.sealed(field) is not None):
            _seal(ring, entry, field, values[field])
            changed.append(field)
    if changed:
        entry.updated_at, entry.updated_by_id = utcnow(), actor.id
        audit.record(actor, "vault", account_id, "entry-changed", _details(entry, fields=changed),
                     account_id=account_id)
    commit_service_call(db.session)
    return entry


def _username_changed(ring, entry, typed) -> bool:
    try:
        return _open(ring, entry, "username") != (typed or None)
    except CannotReveal:
        # Unreadable (its key is gone): the form showed it empty, so only a name typed replaces it.
        return bool(typed)


def remove_entry(actor, account_id, entry_id) -> None:
    """Remove an entry and its sealed values (vault_edit)."""
    account_id = _require(actor, account_id, PERM_VAULT_EDIT)
    entry = _entry(account_id, entry_id, lock=True)
    audit.record(actor, "vault", account_id, "entry-removed", _details(entry), account_id=account_id)
    db.session.delete(entry)
    commit_service_call(db.session)


def reveal(actor, account_id, entry_id, field) -> str:
    """The password or the notes of an entry (vault_view), after the reveal is committed to the audit trail
    (who, which entry, which field, which account). NotFound for a field that is no secret or holds nothing."""
    account_id = _require(actor, account_id, PERM_VAULT_VIEW)
    if field not in SECRET_FIELDS:
        raise NotFound()
    entry = _entry(account_id, entry_id)
    value = _open(keys.keyring(), entry, field)
    if value is None:
        raise NotFound()
    audit.record(actor, "vault", account_id, "secret-revealed", _details(entry, field=field), account_id=account_id)
    commit_service_call(db.session)
    return value


def activity(actor, account_id, limit=ACTIVITY_SIZE) -> list:
    """The vault's latest audit rows (who added, changed, removed or revealed what), newest first, as
    sentences (vault_view)."""
    account_id = _require(actor, account_id, PERM_VAULT_VIEW)
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == AUDIT_ENTITY,
                                                          AuditEvent.entity_id == account_id)
                              .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)).all()
    return sentences.tell(rows)
