"""Users and organisations: creating accounts, taking over customer records made by mail or the guest
form, logging in by email or username, ending sessions, and profile changes."""
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.accounts import sessions
from helpdesk.accounts.models import Organisation, User
from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.audit.models import AuditEvent
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import access, service

PASSWORD = "correct horse battery"


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@contextmanager
def _labelled(label):
    try:
        yield
    except (Exception, pytest.fail.Exception) as exc:
        raise AssertionError(f"{label}: {exc}") from exc


@pytest.fixture
def carla(app):
    return accounts.create_user(SYSTEM, email="carla@example.test", full_name="Carla Customer", role="customer",
                                password=PASSWORD, username="carla")


def _new_user(**fields):
    values = {"email": "dana@example.test", "full_name": "Dana", "role": "agent", "password": PASSWORD}
    values.update(fields)
    return accounts.create_user(SYSTEM, **values)


CREATE_USER_BAD_INPUT = [
    ("invalid email", {"email": "dana@"}, {"email"}),
    ("no email", {"email": ""}, {"email"}),
    ("short password", {"password": "short"}, {"password"}),
    ("easy password", {"password": "aaaaaaaaaaaaaaa"}, {"password"}),
    ("too long password", {"password": "ab1!" * 300}, {"password"}),
    ("email of an existing user", {"email": " Carla@Example.TEST "}, {"email"}),
    ("username taken", {"username": "carla"}, {"username"}),
    ("unknown role", {"role": "superuser"}, {"role"}),
    ("no name", {"full_name": "   "}, {"full_name"}),
    ("unsupported language", {"locale": "xx"}, {"locale"}),
    ("every field bad at once",
     {"email": "carla@example.test", "username": "carla", "password": "123", "role": "root", "full_name": "",
      "locale": "klingon"},
     {"email", "username", "password", "role", "full_name", "locale"}),
]


def test_create_user_refuses_bad_input_and_creates_nobody(carla):
    users, audit_rows = _count(User), _count(AuditEvent)
    for label, fields, errors in CREATE_USER_BAD_INPUT:
        with _labelled(label):
            with pytest.raises(ValidationFailed) as caught:
                _new_user(**fields)
            assert set(caught.value.errors) == errors
            db.session.rollback()
            assert (_count(User), _count(AuditEvent)) == (users, audit_rows)
    assert accounts.authenticate("carla@example.test", PASSWORD) == carla  # the existing user is untouched


def test_only_admins_and_the_system_create_users(carla):
    agent = _new_user(email="alex@example.test", password=None)
    for actor in (carla, agent):
        with pytest.raises(NotAllowed):
            accounts.create_user(actor, email="eve@example.test", full_name="Eve", role="admin", password=PASSWORD)
    admin = _new_user(email="ada@example.test", role="admin", password=None)
    created = accounts.create_user(admin, email="Eve@Example.test", full_name=" Eve ", role="agent")
    assert (created.email, created.full_name, created.role) == ("eve@example.test", "Eve", "agent")
    assert db.session.scalar(sa.select(AuditEvent.actor_label).where(AuditEvent.entity_id == created.id,
                                                                     AuditEvent.entity == "user")) == admin.label


def test_registering_takes_over_the_customer_record_a_guest_ticket_made(app):
    ticket = service.open_ticket(GUEST_FORM, subject="Order 77", body_text="Where is it?",
                                 requester_email="gina@example.test", acknowledge=False)
    guest_id = ticket.requester_id
    assert accounts.authenticate("gina@example.test", "") is None
    user = accounts.create_user(SYSTEM, email="GINA@example.test", full_name="Gina Guest", role="customer",
                                password=PASSWORD)
    assert user.id == guest_id and _count(User) == 1
    assert user.is_active and user.activated_at is not None
    assert accounts.authenticate("gina@example.test", PASSWORD) == user
    assert access.get_ticket(user, ticket.number) == ticket


def test_log_in_by_email_or_username(carla):
    assert carla.last_login_at is None
    assert accounts.authenticate("  CARLA@example.test ", PASSWORD) == carla
    assert carla.last_login_at is not None
    assert accounts.authenticate("carla", PASSWORD) == carla


def test_log_in_fails_for_wrong_or_unknown_credentials(carla):
    accounts.find_or_create_customer("walk-in@example.test")
    db.session.commit()
    for login, password in [
        ("carla@example.test", "wrong horse battery"),
        ("carla", "wrong horse battery"),
        ("carla@example.test", ""),
        ("nobody@example.test", PASSWORD),
        ("nobody", PASSWORD),
        ("", PASSWORD),
        (None, None),
        ("walk-in@example.test", ""),  # a customer record made by mail has no password
    ]:
        with _labelled(f"{login!r} / {password!r}"):
            assert accounts.authenticate(login, password) is None
    assert carla.last_login_at is None


def test_deactivated_user_can_neither_log_in_nor_keep_a_session(carla):
    session_id = sessions.start_session(carla).get_id()
    assert sessions.load_session_user(session_id) == carla
    carla.active = False
    db.session.commit()
    assert accounts.authenticate("carla@example.test", PASSWORD) is None
    assert sessions.load_session_user(session_id) is None


def test_session_ends_when_the_session_version_changes(carla):
    old_session = sessions.start_session(carla).get_id()
    assert sessions.load_session_user(old_session) == carla
    carla.session_version += 1  # what deactivating a staff account does
    db.session.commit()
    assert sessions.load_session_user(old_session) is None
    assert sessions.load_session_user(sessions.start_session(carla).get_id()) == carla


def test_malformed_or_unknown_session_id_loads_nobody(carla):
    token = sessions.start_session(carla).session_token
    for session_id in ["", "abc", f"{carla.id}", f"{carla.id}:x", f"{carla.id}:1:1", None, "999:1", f"{carla.id}:0",
                       f"{carla.id}:1", f"{carla.id}:1:", f"999:1:{token}", f"{carla.id}:2:{token}",
                       f"{carla.id}:1:{token}x", f"{carla.id}:1:{token}:1", f"{carla.id}:1:ä{token}"]:
        with _labelled(repr(session_id)):
            assert sessions.load_session_user(session_id) is None
    assert sessions.load_session_user(f"{carla.id}:1:{token}") == carla


def test_a_user_without_a_started_session_names_no_session(carla):
    db.session.expire_all()
    fresh = db.session.get(User, carla.id)
    fresh.session_token = None
    assert sessions.load_session_user(fresh.get_id()) is None


def test_profile_change_refuses_bad_language_and_time_zone_and_changes_nothing(carla):
    audit_rows = _count(AuditEvent)
    with pytest.raises(ValidationFailed) as caught:
        accounts.update_profile(carla, carla, full_name="Carla C", locale="xx", timezone="Mars/Olympus_Mons")
    assert set(caught.value.errors) == {"locale", "timezone"}
    db.session.rollback()
    assert (carla.full_name, carla.locale, carla.timezone) == ("Carla Customer", None, None)
    assert _count(AuditEvent) == audit_rows
    with pytest.raises(ValidationFailed) as caught:
        accounts.update_profile(carla, carla, full_name="  ")
    assert set(caught.value.errors) == {"full_name"}


def test_profile_change_updates_details_but_never_the_email(carla):
    accounts.update_profile(carla, carla, full_name=" Carla C. ", phone=" +49 30 1234 ", locale="de",
                            timezone="Europe/Berlin")
    db.session.expire_all()
    assert (carla.full_name, carla.phone, carla.locale, carla.timezone) == (
        "Carla C.", "+49 30 1234", "de", "Europe/Berlin")
    assert carla.email == "carla@example.test"
    with pytest.raises(TypeError):
        accounts.update_profile(carla, carla, email="mallory@example.test")
    db.session.expire_all()
    assert carla.email == "carla@example.test"
    assert accounts.authenticate("carla@example.test", PASSWORD) == carla


def test_only_the_user_or_an_admin_may_change_a_profile(carla):
    other = _new_user(email="bob@example.test", role="customer", password=None)
    with pytest.raises(NotAllowed):
        accounts.update_profile(other, carla, full_name="Hacked")
    admin = _new_user(email="ada@example.test", role="admin", password=None)
    accounts.update_profile(admin, carla, locale="tr")
    db.session.expire_all()
    assert (carla.full_name, carla.locale) == ("Carla Customer", "tr")


def test_organisation_needs_a_name_and_a_free_customer_number(carla):
    accounts.create_organisation(SYSTEM, name="Acme", customer_number="C-1")
    with pytest.raises(ValidationFailed) as caught:
        accounts.create_organisation(SYSTEM, name=" ", customer_number="C-1")
    assert set(caught.value.errors) == {"name", "customer_number"}
    with pytest.raises(NotAllowed):
        accounts.create_organisation(carla, name="Carla Ltd")
    db.session.rollback()
    assert _count(Organisation) == 1


def test_long_names_are_shortened_not_a_crash(app):
    user = _new_user(full_name="N" * 300)
    org = accounts.create_organisation(SYSTEM, name="O" * 300)
    db.session.expire_all()
    assert (user.full_name, org.name) == ("N" * 200, "O" * 200)
