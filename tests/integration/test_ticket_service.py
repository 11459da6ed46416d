"""The ticket store's rules: bad input is refused with a clear error and changes nothing, who may see
and do what, how the status moves, numbering, guest requesters, participants, sanitised bodies and
stored attachments."""
import hashlib
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from helpdesk import storage
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.actors import GUEST_FORM, MAIL_GATEWAY, SYSTEM
from helpdesk.audit.models import AuditEvent
from helpdesk.db import Counter
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.notify.models import OutboxEmail
from helpdesk.tickets import access, departments, service
from helpdesk.tickets.models import (
    AGENT_REPLY,
    ANSWERED,
    CC,
    CLOSED,
    IN_PROGRESS,
    INTERNAL_NOTE,
    OPEN,
    REQUESTER,
    SYSTEM_EVENT,
    WAITING,
    Attachment,
    Department,
    Message,
    Participant,
    Ticket,
    department_agents,
)

ATTACHMENT_LIMIT = 1024


@pytest.fixture
def app(app_factory):
    """Mail is written to files (delivery is not what these tests are about); attachments are capped
    at 1 KiB so an oversized one is cheap to make."""
    app = app_factory(SMTP_HOST="", MAX_ATTACHMENT_BYTES=ATTACHMENT_LIMIT)
    with app.app_context():
        yield app
        db.session.remove()


def _user(role, email, organisation=None):
    # No password: nobody logs in here, and hashing one costs a tenth of a second.
    return accounts.create_user(SYSTEM, email=email, full_name=email.split("@")[0].title(), role=role,
                                organisation=organisation)


@pytest.fixture
def desk(app):
    """Two departments with an agent each, an admin, two customers, Carla's open ticket (with her boss
    on CC) and Carla's closed ticket, both in Technical."""
    technical = departments.create_department(SYSTEM, name="Technical", inbound_address="support@example.test",
                                              signature="The support team")
    billing = departments.create_department(SYSTEM, name="Billing")
    agent = _user("agent", "alex@example.test")
    departments.add_agent_to_department(SYSTEM, technical, agent)
    outsider = _user("agent", "olga@example.test")
    departments.add_agent_to_department(SYSTEM, billing, outsider)
    carla = _user("customer", "carla@example.test")
    w = SimpleNamespace(
        technical=technical, billing=billing, agent=agent, outsider=outsider, carla=carla,
        admin=_user("admin", "ada@example.test"), bob=_user("customer", "bob@example.test"),
        ticket=service.open_ticket(carla, subject="Printer on fire", body_text="It smokes.", department=technical,
                                   cc=["boss@example.test"], acknowledge=False),
        closed=service.open_ticket(carla, subject="Old question", body_text="Solved.", department=technical,
                                   acknowledge=False),
    )
    service.close(agent, w.closed)
    return w


def _counts():
    counted = {m.__tablename__: m for m in (Ticket, Message, Participant, Attachment, OutboxEmail, AuditEvent,
                                            User, Department)}
    counts = {name: db.session.scalar(sa.select(sa.func.count()).select_from(model))
              for name, model in counted.items()}
    counts["department_agents"] = db.session.scalar(sa.select(sa.func.count()).select_from(department_agents))
    # A refused ticket must not burn a ticket number either.
    counts["last_ticket_number"] = db.session.scalar(sa.select(Counter.value).where(Counter.name == "ticket_number"))
    return counts


def _state(ticket):
    return (ticket.subject, ticket.status, ticket.priority, ticket.department_id, ticket.assignee_id,
            ticket.closed_at, ticket.first_response_at, sorted((p.email, p.role) for p in ticket.participants))


def _refused(w, call, error):
    """Run ``call(w)``, expect ``error``, and check that nothing changed: not in the database, not even
    waiting in the session to be flushed by whoever commits next (the mail gateway commits a shunt)."""
    before = (_counts(), _state(w.ticket), _state(w.closed))
    with pytest.raises(error) as caught:
        call(w)
    assert (_counts(), _state(w.ticket), _state(w.closed)) == before
    db.session.rollback()
    assert (_counts(), _state(w.ticket), _state(w.closed)) == before
    return caught.value


def _too_big(name="scan.pdf"):
    return service.NewAttachment(name, "application/pdf", b"x" * (ATTACHMENT_LIMIT + 1))


def _open(w, actor=None, **fields):
    values = {"subject": "Help", "body_text": "Please help."}
    values.update(fields)
    return service.open_ticket(actor or w.carla, **values)


def _case(name, call, error=ValidationFailed, fields=None):
    return name, call, error, fields


BAD_INPUT = [
    # open_ticket
    _case("open_ticket-empty-subject", lambda w: _open(w, subject=""), fields={"subject"}),
    _case("open_ticket-whitespace-subject", lambda w: _open(w, subject=" \t\n "), fields={"subject"}),
    _case("open_ticket-256-char-subject", lambda w: _open(w, subject="x" * 256), fields={"subject"}),
    _case("open_ticket-empty-body", lambda w: _open(w, body_text="   "), fields={"body"}),
    _case("open_ticket-html-body-that-is-only-a-script",
          lambda w: _open(w, body_text="", body_html="<script>alert(1)</script>"), fields={"body"}),
    _case("open_ticket-html-body-with-no-text", lambda w: _open(w, body_text="", body_html="<p><br></p>\n<div> </div>"),
          fields={"body"}),
    _case("open_ticket-body-over-the-limit", lambda w: _open(w, body_text="x" * 1_000_001), fields={"body"}),
    _case("open_ticket-unknown-priority", lambda w: _open(w, priority="extreme"), fields={"priority"}),
    _case("open_ticket-unknown-department", lambda w: _open(w, department=999_999), fields={"department"}),
    _case("open_ticket-department-not-an-id", lambda w: _open(w, department="sales"), fields={"department"}),
    _case("open_ticket-invalid-cc", lambda w: _open(w, cc=["boss@example.test", "not an address"]), fields={"cc"}),
    _case("open_ticket-unknown-source", lambda w: _open(w, source="fax"), fields={"source"}),
    _case("open_ticket-oversized-attachment", lambda w: _open(w, attachments=[_too_big()]), fields={"attachments"}),
    _case("open_ticket-attachment-not-a-file", lambda w: _open(w, attachments=[b"raw"]), fields={"attachments"}),
    _case("open_ticket-guest-without-address", lambda w: _open(w, GUEST_FORM), fields={"requester_email"}),
    _case("open_ticket-mail-from-invalid-address",
          lambda w: _open(w, MAIL_GATEWAY, requester_email="carla(at)example"), fields={"requester_email"}),
    _case("open_ticket-agent-without-requester", lambda w: _open(w, w.agent), fields={"requester_email"}),
    _case("open_ticket-every-field-bad-at-once",
          lambda w: _open(w, GUEST_FORM, subject="", body_text="", priority="extreme", department=999_999,
                          cc=["nope"], source="fax", attachments=[_too_big()], requester_email="nobody"),
          fields={"subject", "body", "priority", "department", "cc", "source", "attachments", "requester_email"}),
    # add_customer_message
    _case("add_customer_message-empty-body",
          lambda w: service.add_customer_message(w.carla, w.ticket, body_text=""), fields={"body"}),
    _case("add_customer_message-oversized-attachment",
          lambda w: service.add_customer_message(w.carla, w.ticket, body_text="Scan", attachments=[_too_big()]),
          fields={"attachments"}),
    _case("add_customer_message-every-field-bad-at-once",
          lambda w: service.add_customer_message(w.carla, w.closed, body_text="", source="fax",
                                                 attachments=[_too_big()]),
          fields={"body", "source", "attachments"}),
    _case("add_customer_message-invalid-cc",
          lambda w: service.add_customer_message(MAIL_GATEWAY, w.ticket, body_text="Adding IT", cc=["it@"]),
          fields={"cc"}),
    # add_agent_reply
    _case("add_agent_reply-empty-body", lambda w: service.add_agent_reply(w.agent, w.ticket, body_text=""),
          fields={"body"}),
    _case("add_agent_reply-unknown-status",
          lambda w: service.add_agent_reply(w.agent, w.ticket, body_text="Done", status="solved"), fields={"status"}),
    _case("add_agent_reply-oversized-attachment",
          lambda w: service.add_agent_reply(w.agent, w.ticket, body_text="Manual", attachments=[_too_big()]),
          fields={"attachments"}),
    _case("add_agent_reply-every-field-bad-at-once",
          lambda w: service.add_agent_reply(w.agent, w.ticket, body_html="<p> </p>", status=None, source="fax"),
          fields={"body", "status", "source"}),
    # add_internal_note
    _case("add_internal_note-empty-body", lambda w: service.add_internal_note(w.agent, w.ticket, body_text=" "),
          fields={"body"}),
    _case("add_internal_note-oversized-attachment",
          lambda w: service.add_internal_note(w.agent, w.ticket, body_text="Log", attachments=[_too_big()]),
          fields={"attachments"}),
    # add_participants / add_participant
    _case("add_participants-one-invalid-among-valid",
          lambda w: service.add_participants(w.carla, w.ticket, ["it@example.test", "it(at)example"]),
          fields={"cc"}),
    _case("add_participants-none-given", lambda w: service.add_participants(w.carla, w.ticket, []), fields={"cc"}),
    _case("add_participants-blank-text", lambda w: service.add_participants(w.carla, w.ticket, " , ; "),
          fields={"cc"}),
    _case("add_participant-invalid", lambda w: service.add_participant(w.agent, w.ticket, "boss@"), fields={"cc"}),
    # remove_participant
    _case("remove_participant-requester",
          lambda w: service.remove_participant(w.agent, w.ticket, "carla@example.test"), fields={"cc"}),
    _case("remove_participant-not-on-ticket",
          lambda w: service.remove_participant(w.carla, w.ticket, "stranger@example.test"), fields={"cc"}),
    # update_ticket
    _case("update_ticket-empty-subject", lambda w: service.update_ticket(w.carla, w.ticket, subject=""),
          fields={"subject"}),
    _case("update_ticket-256-char-subject", lambda w: service.update_ticket(w.agent, w.ticket, subject="y" * 256),
          fields={"subject"}),
    _case("update_ticket-unknown-priority", lambda w: service.update_ticket(w.agent, w.ticket, priority="meh"),
          fields={"priority"}),
    _case("update_ticket-unknown-department",
          lambda w: service.update_ticket(w.agent, w.ticket, department=999_999), fields={"department"}),
    _case("update_ticket-unknown-status", lambda w: service.update_ticket(w.agent, w.ticket, status="solved"),
          fields={"status"}),
    _case("update_ticket-customer-as-assignee",
          lambda w: service.update_ticket(w.agent, w.ticket, assignee=w.carla), fields={"assignee"}),
    _case("update_ticket-unknown-assignee-id",
          lambda w: service.update_ticket(w.agent, w.ticket, assignee=999_999), fields={"assignee"}),
    _case("update_ticket-nothing-to-change", lambda w: service.update_ticket(w.agent, w.ticket), fields={"ticket"}),
    _case("update_ticket-every-field-bad-at-once",
          lambda w: service.update_ticket(w.agent, w.ticket, subject="", priority="meh", department="sales",
                                          status="solved", assignee=w.bob),
          fields={"subject", "priority", "department", "status", "assignee"}),
    # the update_ticket wrappers
    _case("change_subject-empty", lambda w: service.change_subject(w.carla, w.ticket, "  "), fields={"subject"}),
    _case("change_priority-unknown", lambda w: service.change_priority(w.carla, w.ticket, "asap"),
          fields={"priority"}),
    _case("change_department-unknown", lambda w: service.change_department(w.agent, w.ticket, "0"),
          fields={"department"}),
    _case("change_status-unknown", lambda w: service.change_status(w.agent, w.ticket, "deleted"),
          fields={"status"}),
    _case("assign-a-customer", lambda w: service.assign(w.agent, w.ticket, w.carla), fields={"assignee"}),
    # close / reopen
    _case("close-a-closed-ticket", lambda w: service.close(w.agent, w.closed), Conflict),
    _case("reopen-an-open-ticket", lambda w: service.reopen(w.carla, w.ticket), Conflict),
    # record_events
    _case("record_events-none", lambda w: service.record_events(MAIL_GATEWAY, w.ticket, []), fields={"events"}),
    _case("record_events-without-type",
          lambda w: service.record_events(w.agent, w.ticket, [{"type": "bounce"}, {"email": "x@example.test"}]),
          fields={"events"}),
    _case("record_events-by-customer", lambda w: service.record_events(w.carla, w.ticket, [{"type": "bounce"}]),
          NotAllowed),
    _case("record_events-by-agent-of-other-department",
          lambda w: service.record_events(w.outsider, w.ticket, [{"type": "bounce"}]), NotFound),
    # departments
    _case("create_department-empty-name", lambda w: departments.create_department(SYSTEM, name="  "), fields={"name"}),
    _case("create_department-duplicate-name", lambda w: departments.create_department(w.admin, name=" Technical "),
          fields={"name"}),
    _case("create_department-invalid-addresses",
          lambda w: departments.create_department(SYSTEM, name="Sales", inbound_address="sales",
                                                  reply_from_address="sales@"),
          fields={"inbound_address", "reply_from_address"}),
    _case("create_department-by-agent", lambda w: departments.create_department(w.agent, name="Sales"), NotAllowed),
    _case("create_department-by-customer", lambda w: departments.create_department(w.carla, name="Sales"), NotAllowed),
    _case("add_agent_to_department-a-customer",
          lambda w: departments.add_agent_to_department(SYSTEM, w.technical, w.carla), fields={"agent"}),
    _case("add_agent_to_department-by-agent",
          lambda w: departments.add_agent_to_department(w.agent, w.billing, w.agent), NotAllowed),
]


def _group(name):
    function = name.split("-", 1)[0]
    aliases = {"add_participant": "add_participants", "assign": "update_ticket_wrappers", "close": "close_and_reopen",
               "reopen": "close_and_reopen", "add_agent_to_department": "departments",
               "create_department": "departments"}
    return "update_ticket_wrappers" if function.startswith("change_") else aliases.get(function, function)


BAD_INPUT_BY_FUNCTION = {}
for _name, *_rest in BAD_INPUT:
    BAD_INPUT_BY_FUNCTION.setdefault(_group(_name), []).append((_name, *_rest))


@contextmanager
def _labelled(label):
    """Name the failing case: these tests try several cases on one set of fixtures, to stay fast."""
    try:
        yield
    except (Exception, pytest.fail.Exception) as exc:
        raise AssertionError(f"{label}: {exc}") from exc


@pytest.mark.parametrize("function", list(BAD_INPUT_BY_FUNCTION))
def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(desk, function):
    for name, call, error, fields in BAD_INPUT_BY_FUNCTION[function]:
        with _labelled(name):
            raised = _refused(desk, call, error)
            if fields is not None:
                assert set(raised.errors) == fields
                assert all(str(message) for message in raised.errors.values())


# --------------------------------------------------------------------------- who may see and do what

def _sees(actor, ticket):
    """Whether ``actor`` can open ``ticket``; the ticket lists must agree with the ticket page."""
    try:
        access.get_ticket(actor, ticket.number)
        found = True
    except NotFound:
        found = False
    listed = ticket.id in db.session.scalars(access.visible_tickets(actor).with_only_columns(Ticket.id)).all()
    assert listed == found
    return found


EVERY_ACTION = {
    "open": lambda actor, t: access.get_ticket(actor, t.number),
    "reply": lambda actor, t: service.add_customer_message(actor, t, body_text="Me too"),
    "agent reply": lambda actor, t: service.add_agent_reply(actor, t, body_text="Answer"),
    "internal note": lambda actor, t: service.add_internal_note(actor, t, body_text="Note"),
    "add cc": lambda actor, t: service.add_participants(actor, t, ["spy@example.test"]),
    "remove cc": lambda actor, t: service.remove_participant(actor, t, "boss@example.test"),
    "edit": lambda actor, t: service.update_ticket(actor, t, subject="Mine now", priority="urgent"),
    "change status": lambda actor, t: service.change_status(actor, t, WAITING),
    "assign": lambda actor, t: service.assign(actor, t, actor),
    "close": lambda actor, t: service.close(actor, t),
    "reopen": lambda actor, t: service.reopen(actor, t),
}


@pytest.mark.parametrize("stranger", ["bob", "outsider"], ids=["other-customer", "agent-of-other-department"])
def test_stranger_gets_not_found_for_every_action_on_a_ticket(desk, stranger):
    actor = getattr(desk, stranger)
    assert not _sees(actor, desk.ticket)
    for name, action in EVERY_ACTION.items():
        target = desk.closed if name == "reopen" else desk.ticket
        with _labelled(name):
            _refused(desk, lambda w, action=action, target=target: action(actor, target), NotFound)


def test_customer_may_not_do_agent_work_on_own_ticket(desk):
    for name in ("agent reply", "internal note", "change status", "assign"):
        with _labelled(name):
            _refused(desk, lambda w, name=name: EVERY_ACTION[name](w.carla, w.ticket), NotAllowed)
    with pytest.raises(NotAllowed):
        service.update_ticket(desk.carla, desk.ticket, subject="Also this", assignee=desk.agent)
    db.session.rollback()
    assert desk.ticket.subject == "Printer on fire"


def test_customer_on_cc_can_see_and_reply(desk):
    # The boss registers after being put on CC: the address is what counts.
    boss = _user("customer", "boss@example.test")
    assert _sees(boss, desk.ticket)
    message = service.add_customer_message(boss, desk.ticket, body_text="Any news?")
    assert message.author_id == boss.id and message.author_email == "boss@example.test"
    assert desk.ticket.messages[-1].body_text == "Any news?"
    assert not _sees(boss, desk.closed)


def test_customer_removed_from_cc_loses_access(desk):
    boss = _user("customer", "boss@example.test")
    service.remove_participant(desk.carla, desk.ticket, "boss@example.test")
    assert not _sees(boss, desk.ticket)
    with pytest.raises(NotFound):
        service.add_customer_message(boss, desk.ticket, body_text="Hello?")


@pytest.mark.parametrize("share", [True, False], ids=["sharing-on", "sharing-off"])
def test_organisation_members_see_each_others_tickets_only_when_sharing(app, share):
    acme = accounts.create_organisation(SYSTEM, name="Acme", share_tickets=share)
    ann = _user("customer", "ann@acme.example", organisation=acme)
    ben = _user("customer", "ben@acme.example", organisation=acme)
    outsider = _user("customer", "zoe@other.example")
    ticket = service.open_ticket(ann, subject="VPN down", body_text="Since 8:00")
    assert ticket.organisation_id == acme.id
    assert _sees(ben, ticket) is share
    assert not _sees(outsider, ticket)
    if share:
        service.add_customer_message(ben, ticket, body_text="Same here.")
    else:
        with pytest.raises(NotFound):
            service.add_customer_message(ben, ticket, body_text="Same here.")


def test_admin_sees_every_ticket(desk):
    departments.add_agent_to_department(SYSTEM, desk.billing, desk.admin)
    assert _sees(desk.admin, desk.ticket)
    service.add_internal_note(desk.admin, desk.ticket, body_text="Escalated.")


def test_agent_in_no_department_sees_every_ticket(desk):
    loner = _user("agent", "lone@example.test")
    assert _sees(loner, desk.ticket) and _sees(loner, desk.closed)


def test_ticket_without_department_is_visible_to_every_agent(desk):
    ticket = service.open_ticket(desk.bob, subject="Where do I write?", body_text="Not sure.")
    assert _sees(desk.outsider, ticket) and _sees(desk.agent, ticket)
    assert not _sees(desk.carla, ticket)


def test_agent_sees_ticket_assigned_to_them_outside_their_departments(desk):
    service.assign(desk.admin, desk.ticket, desk.outsider)
    assert _sees(desk.outsider, desk.ticket)


# --------------------------------------------------------------------------- status rules

@pytest.mark.parametrize("status", [ANSWERED, WAITING, CLOSED])
def test_customer_message_sets_ticket_back_to_open(desk, status):
    service.change_status(desk.agent, desk.ticket, status)
    assert (desk.ticket.closed_at is not None) is (status == CLOSED)
    service.add_customer_message(desk.carla, desk.ticket, body_text="Still broken.")
    assert desk.ticket.status == OPEN
    assert desk.ticket.closed_at is None


def test_customer_message_leaves_ticket_in_progress(desk):
    service.change_status(desk.agent, desk.ticket, IN_PROGRESS)
    service.add_customer_message(desk.carla, desk.ticket, body_text="Extra detail.")
    assert desk.ticket.status == IN_PROGRESS


def test_agent_reply_marks_ticket_answered_and_keeps_the_first_response_time(desk):
    assert desk.ticket.first_response_at is None
    first = service.add_agent_reply(desk.agent, desk.ticket, body_text="Unplug it.")
    assert desk.ticket.status == ANSWERED
    assert desk.ticket.first_response_at == first.created_at
    service.add_customer_message(desk.carla, desk.ticket, body_text="Done, still smoking.")
    second = service.add_agent_reply(desk.agent, desk.ticket, body_text="Call the fire brigade.")
    assert second.created_at >= first.created_at
    assert desk.ticket.status == ANSWERED
    assert desk.ticket.first_response_at == first.created_at


def test_agent_reply_on_closed_ticket_leaves_it_closed_unless_told(desk):
    closed_at = desk.closed.closed_at
    service.add_agent_reply(desk.agent, desk.closed, body_text="For the record: fixed in 2.1.")
    assert desk.closed.status == CLOSED and desk.closed.closed_at == closed_at
    service.add_agent_reply(desk.agent, desk.closed, body_text="Reopening to check.", status=OPEN)
    assert desk.closed.status == OPEN and desk.closed.closed_at is None


def test_agent_reply_with_status_sets_that_status(desk):
    service.add_agent_reply(desk.agent, desk.ticket, body_text="Which model?", status=WAITING)
    assert desk.ticket.status == WAITING


def test_close_records_when_and_reopen_clears_it(desk):
    service.close(desk.carla, desk.ticket)
    assert desk.ticket.status == CLOSED and desk.ticket.closed_at is not None
    service.reopen(desk.carla, desk.ticket)
    assert desk.ticket.status == OPEN and desk.ticket.closed_at is None


def test_internal_note_changes_no_status_and_is_hidden_from_customers(desk):
    service.change_status(desk.agent, desk.ticket, WAITING)
    activity = desk.ticket.last_activity_at
    note = service.add_internal_note(desk.agent, desk.ticket, body_text="Customer is a VIP.")
    assert note.kind == INTERNAL_NOTE
    assert desk.ticket.status == WAITING and desk.ticket.last_activity_at == activity
    assert note not in desk.ticket.public_messages
    outbox = db.session.scalars(sa.select(OutboxEmail.body_text)).all()
    assert not any("VIP" in body for body in outbox)


def _events(ticket):
    return [m.event for m in ticket.messages if m.kind == SYSTEM_EVENT]


def test_changes_appear_in_the_thread_as_system_events(desk):
    service.update_ticket(desk.agent, desk.ticket, priority="high", department=desk.billing, assignee=desk.agent,
                          status=IN_PROGRESS)
    service.add_participants(desk.agent, desk.ticket, "it@example.test, boss@example.test")
    service.remove_participant(desk.agent, desk.ticket, "it@example.test")
    service.close(desk.agent, desk.ticket)
    assert _events(desk.ticket) == [
        {"type": "priority", "from": "normal", "to": "high"},
        {"type": "department", "from": "Technical", "to": "Billing"},
        {"type": "assignee", "to": "Alex"},
        {"type": "status", "from": OPEN, "to": IN_PROGRESS},
        {"type": "cc-added", "email": "it@example.test"},
        {"type": "cc-removed", "email": "it@example.test"},
        {"type": "status", "from": IN_PROGRESS, "to": CLOSED},
    ]
    assert all(m.source == "system" for m in desk.ticket.messages if m.kind == SYSTEM_EVENT)


def test_unchanged_values_record_no_event(desk):
    before = len(desk.ticket.messages)
    service.update_ticket(desk.agent, desk.ticket, priority="normal", department=desk.technical, status=OPEN)
    assert len(desk.ticket.messages) == before


def test_changes_are_audited_with_who_made_them(desk):
    service.update_ticket(desk.agent, desk.ticket, priority="urgent")
    service.add_customer_message(MAIL_GATEWAY, desk.closed, body_text="It broke again.",
                                 author_email="carla@example.test")
    rows = db.session.execute(
        sa.select(AuditEvent.actor_label, AuditEvent.action, AuditEvent.changes)
        .where(AuditEvent.entity == "ticket").order_by(AuditEvent.id)
    ).all()
    assert rows[0] == (desk.carla.label, "opened", {"number": desk.ticket.number, "source": "web"})
    assert (desk.agent.label, "changed", {"priority": ["normal", "urgent"]}) in rows
    assert ("system:mailgateway", "status-changed", {"status": [CLOSED, OPEN]}) in rows
    assert desk.agent.label == "user:%d:alex@example.test" % desk.agent.id


# --------------------------------------------------------------------------- opening tickets

def test_ticket_numbers_start_at_1000_and_increase(desk):
    assert (desk.ticket.number, desk.closed.number) == (1000, 1001)
    assert _open(desk).number == 1002


def test_ticket_numbers_start_at_the_configured_number(app_factory):
    app = app_factory(SMTP_HOST="", TICKET_NUMBER_START=42_000)
    with app.app_context():
        numbers = [service.open_ticket(GUEST_FORM, subject=f"Ticket {n}", body_text="Hi",
                                       requester_email="guest@example.test").number for n in range(3)]
        assert numbers == [42_000, 42_001, 42_002]
        db.session.remove()


def test_guest_gets_a_passwordless_customer_record_that_the_next_ticket_reuses(desk):
    users = _counts()["users"]
    first = service.open_ticket(GUEST_FORM, subject="Order 77", body_text="Where is it?",
                                requester_email=" Gina.Guest@Example.TEST ", requester_name="Gina Guest")
    guest = first.requester
    assert (guest.email, guest.full_name, guest.role) == ("gina.guest@example.test", "Gina Guest", "customer")
    assert guest.password_hash is None and not guest.is_active
    second = service.open_ticket(MAIL_GATEWAY, subject="Order 77 again", body_text="Hello?", source="email",
                                 requester_email="gina.guest@example.test")
    assert second.requester_id == guest.id
    assert _counts()["users"] == users + 1
    assert [(p.email, p.role) for p in second.participants] == [("gina.guest@example.test", REQUESTER)]


def test_long_requester_name_from_guest_form_is_shortened_not_a_crash(desk):
    ticket = service.open_ticket(GUEST_FORM, subject="Hi", body_text="Hello", requester_email="long@example.test",
                                 requester_name="N" * 300)
    assert len(ticket.requester.full_name) == 200
    assert ticket.messages[0].author_name == "N" * 200


def test_cc_list_is_deduplicated_and_never_repeats_the_requester(desk):
    ticket = service.open_ticket(desk.carla, subject="Invoices", body_text="Please send copies.",
                                 cc=["Boss@Example.test", " boss@example.test", "CARLA@example.test",
                                     "it@example.test"])
    assert [(p.email, p.role) for p in ticket.participants] == [
        ("carla@example.test", REQUESTER), ("boss@example.test", CC), ("it@example.test", CC)]
    assert service.add_participants(desk.carla, ticket, ["carla@example.test", "IT@example.test"]) == []
    assert len(ticket.participants) == 3


def test_html_body_is_sanitised_and_a_text_version_kept(desk):
    ticket = service.open_ticket(desk.carla, subject="Screenshot", body_html=(
        '<p onclick="steal()">The <b>screen</b> is blank.</p><script>alert("x")</script>'
        '<img src="https://tracker.example/p.gif"><a href="javascript:alert(1)">click</a>'))
    message = ticket.messages[0]
    assert "script" not in message.body_html and "alert" not in message.body_html
    assert "onclick" not in message.body_html and "tracker.example" not in message.body_html
    assert "javascript" not in message.body_html
    assert "<b>screen</b> is blank." in message.body_html
    assert message.body_text.splitlines()[0] == "The screen is blank."


def test_plain_text_body_keeps_angle_brackets_in_its_html_version(desk):
    ticket = service.open_ticket(desk.carla, subject="Contact", body_text=(
        "Write to Carla <carla@example.test>.\nIf x < 3 use <b> tags.\n\n<script>alert(1)</script>"))
    message = ticket.messages[0]
    assert "&lt;carla@example.test&gt;" in message.body_html
    assert "x &lt; 3 use &lt;b&gt; tags." in message.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.body_html
    assert "<script>" not in message.body_html


def test_attachments_are_stored_with_checksum_and_size_and_read_back(desk):
    data = b"%PDF-1.4 manual"
    reply = service.add_agent_reply(desk.agent, desk.ticket, body_text="Manual attached.", attachments=[
        service.NewAttachment("../../etc/Manual.PDF", "Application/PDF", data)])
    [attachment] = reply.attachments
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.size == len(data)
    assert (attachment.filename, attachment.content_type) == ("Manual.PDF", "application/pdf")
    assert attachment.ticket_id == desk.ticket.id
    assert storage.get(attachment.sha256) == data


def test_attachment_at_the_limit_is_accepted(desk):
    data = b"y" * ATTACHMENT_LIMIT
    message = service.add_customer_message(desk.carla, desk.ticket, body_text="Log", attachments=[
        service.NewAttachment("log.txt", "text/plain", data)])
    assert storage.get(message.attachments[0].sha256) == data


def test_agent_reply_carries_department_signature(desk):
    reply = service.add_agent_reply(desk.agent, desk.ticket, body_text="Fixed.")
    assert reply.kind == AGENT_REPLY
    assert reply.body_text.endswith("-- \nThe support team")
    assert "The support team" in reply.body_html


def test_long_department_name_is_shortened_not_a_crash(app):
    department = departments.create_department(SYSTEM, name="D" * 150)
    assert department.name == "D" * 100
    # Shortened before the duplicate check, so the same long name again is a field error, not a crash.
    with pytest.raises(ValidationFailed) as caught:
        departments.create_department(SYSTEM, name="D" * 120)
    assert set(caught.value.errors) == {"name"}


def test_agent_changes_a_customers_email_and_later_replies_go_there(app, agent):
    from helpdesk.tickets.customers import change_customer_email

    customer = accounts.create_user(SYSTEM, email="old@example.test", full_name="Olga Old", role="customer",
                                    password="correct horse battery")
    ticket = service.open_ticket(customer, subject="Address", body_text="Please use my new address.")
    change_customer_email(agent, customer, "New@Example.test")
    assert customer.email == "new@example.test"
    reply = service.add_agent_reply(agent, ticket, body_text="Done.")
    recipients = db.session.scalars(sa.select(OutboxEmail.recipient).where(OutboxEmail.ticket_id == ticket.id,
                                                                           OutboxEmail.created_at >= reply.created_at))
    assert list(recipients) == ["new@example.test"]
    assert accounts.authenticate("new@example.test", "correct horse battery") is not None


def test_customers_cannot_change_their_own_email_and_taken_addresses_are_refused(app, agent):
    from helpdesk.tickets.customers import change_customer_email

    customer = accounts.create_user(SYSTEM, email="me@example.test", full_name="Me", role="customer",
                                    password="correct horse battery")
    accounts.create_user(SYSTEM, email="taken@example.test", full_name="T", role="customer",
                         password="correct horse battery")
    with pytest.raises(NotAllowed):
        change_customer_email(customer, customer, "other@example.test")
    with pytest.raises(ValidationFailed) as caught:
        change_customer_email(agent, customer, "taken@example.test")
    assert set(caught.value.errors) == {"email"}
    with pytest.raises(ValidationFailed):
        change_customer_email(agent, customer, "not an address")
    db.session.rollback()
    assert db.session.get(type(customer), customer.id).email == "me@example.test"


def test_only_the_departments_agents_and_admins_may_be_assigned_by_any_door(desk):
    # The rule the console's choices show is the service's: an API or chat door gets the same answer.
    with pytest.raises(ValidationFailed) as refused:
        service.update_ticket(desk.agent, desk.ticket, assignee=desk.outsider)
    assert "department" in str(refused.value.errors["assignee"])
    assert desk.ticket.assignee is None
    service.update_ticket(desk.agent, desk.ticket, assignee=desk.admin)
    assert desk.ticket.assignee == desk.admin
    service.update_ticket(desk.admin, desk.ticket, assignee=desk.agent)
    assert desk.ticket.assignee == desk.agent


def test_moving_a_ticket_and_assigning_it_checks_the_new_department(desk):
    # Alex (Technical) moves the ticket to Billing and gives it to Billing's agent: allowed.
    service.update_ticket(desk.agent, desk.ticket, department=desk.billing, assignee=desk.outsider)
    assert (desk.ticket.department, desk.ticket.assignee) == (desk.billing, desk.outsider)
    # Olga (Billing) may not move it back and give it to a Billing colleague who is not in Technical.
    colleague = _user("agent", "bea@example.test")
    departments.add_agent_to_department(SYSTEM, desk.billing, colleague)
    with pytest.raises(ValidationFailed):
        service.update_ticket(desk.outsider, desk.ticket, department=desk.technical, assignee=colleague)
    # Its current assignee keeps it when the ticket moves on without them.
    service.update_ticket(desk.outsider, desk.ticket, department=desk.technical)
    assert desk.ticket.assignee == desk.outsider


def test_a_reply_written_before_newer_messages_is_refused_by_the_service_for_any_door(desk):
    seen = max(m.id for m in desk.ticket.messages)
    service.add_customer_message(desk.carla, desk.ticket, body_text="Now it is on fire again.")
    before = len(desk.ticket.messages)
    with pytest.raises(service.ReplyCollision) as refused:
        service.add_agent_reply(desk.agent, desk.ticket, body_text="Switch it off.", seen_up_to=seen)
    assert [m.body_text for m in refused.value.newer] == ["Now it is on fire again."]
    assert len(desk.ticket.messages) == before
    newest = max(m.id for m in desk.ticket.messages)
    reply = service.add_agent_reply(desk.agent, desk.ticket, body_text="Switch it off.", seen_up_to=newest)
    assert reply.body_text.startswith("Switch it off.") and reply in desk.ticket.messages
