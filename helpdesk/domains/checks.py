"""The availability check: a name typed in the portal, checked under every TLD the catalogue offers. The
``AvailabilityChecker`` interface is what an adapter implements (helpdesk.providers.rdap and .whois); they are
asked in DOMAINS_CHECKERS' order until one knows (RDAP first, WHOIS when RDAP has no server or fails). Answers are
cached in the database (``DomainCheck``: shared by every web process, no Redis needed): available and taken for
DOMAINS_CHECK_CACHE_SECONDS, unknown for DOMAINS_CHECK_UNKNOWN_SECONDS. The name is normalised and checked
before any network call, and no network call runs inside a transaction."""
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from flask import current_app

from helpdesk.billing.domain_prices import offered_tlds
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.domains.models import AVAILABLE, TAKEN, UNKNOWN, DomainCheck
from helpdesk.domains.names import DomainName, split_label, with_tld
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

log = logging.getLogger(__name__)


class NoServer(Exception):
    """The checker knows no server for this TLD: the next checker is asked."""


class CheckFailed(Exception):
    """The server could not be reached, timed out or answered something unreadable. The message is for logs."""


@runtime_checkable
class AvailabilityChecker(Protocol):
    """One way of asking whether a name is registered. ``name`` is its key in DOMAINS_CHECKERS."""

    name: str

    def is_registered(self, domain: str, tld: str) -> bool:
        """Whether ``domain`` (ASCII, under ``tld``) is registered. NoServer or CheckFailed when it cannot say."""


_CHECKERS: dict[str, AvailabilityChecker] = {}


def register_checker(checker: AvailabilityChecker) -> None:
    _CHECKERS[checker.name] = checker


def enabled_checkers() -> list[AvailabilityChecker]:
    return [_CHECKERS[name] for name in current_app.config["DOMAINS_CHECKERS"] if name in _CHECKERS]


@dataclass(frozen=True)
class Answer:
    """One name's availability: AVAILABLE, TAKEN or UNKNOWN, and which checker said so ("" for none, "cache")."""

    name: DomainName
    tld: str
    status: str
    source: str


def ask(domain: str, tld: str) -> tuple[str, str]:
    """(status, checker name) for ``domain`` from the first checker that knows; UNKNOWN when none does."""
    for checker in enabled_checkers():
        try:
            return (TAKEN if checker.is_registered(domain, tld) else AVAILABLE), checker.name
        except NoServer:
            continue
        except CheckFailed as exc:
            log.info("domain check: %s failed for %s: %s", checker.name, domain, exc)
    return UNKNOWN, ""


def _cached(names) -> dict:
    now = utcnow()
    rows = db.session.scalars(sa.select(DomainCheck).where(DomainCheck.name.in_(names),
                                                           DomainCheck.expires_at > now)).all()
    return {row.name: row.status for row in rows}


def _store(answers) -> None:
    """Keep the fresh answers (one short write transaction; a row raced in by another process is replaced)."""
    config = current_app.config
    now = utcnow()
    begin_write(db.session)
    names = [answer.name.ascii for answer in answers]
    db.session.execute(sa.delete(DomainCheck).where(DomainCheck.name.in_(names)))
    for answer in answers:
        seconds = config["DOMAINS_CHECK_UNKNOWN_SECONDS" if answer.status == UNKNOWN else
                         "DOMAINS_CHECK_CACHE_SECONDS"]
        db.session.add(DomainCheck(name=answer.name.ascii, status=answer.status, source=answer.source,
                                   checked_at=now, expires_at=now + timedelta(seconds=seconds)))
    try:
        commit_service_call(db.session)
    except sa.exc.IntegrityError:  # the same names stored at the same moment by another request: theirs stand
        db.session.rollback()


def check_availability(typed: str) -> list[Answer]:
    """Whether the name typed (a label, or a name under an offered TLD) is free under each TLD the catalogue
    offers, the typed TLD first. ValidationFailed (field "name") for a name that is not valid or not offered,
    before any network call. Anyone may ask (the portal limits how often)."""
    tlds = offered_tlds()
    if not tlds:
        raise ValidationFailed({"name": _l("No domain endings are offered at the moment.")})
    label, typed_tld = split_label(typed, tlds)
    order = ([typed_tld] if typed_tld else []) + [tld for tld in tlds if tld != typed_tld]
    names = [(with_tld(label, tld), tld) for tld in order]
    cached = _cached([name.ascii for name, _tld in names])
    db.session.rollback()  # no transaction stays open while the registries are asked
    answers, fresh = [], []
    for name, tld in names:
        if name.ascii in cached:
            answers.append(Answer(name, tld, cached[name.ascii], "cache"))
            continue
        status, source = ask(name.ascii, tld)
        answer = Answer(name, tld, status, source)
        answers.append(answer)
        fresh.append(answer)
    if fresh:
        _store(fresh)
    return answers
